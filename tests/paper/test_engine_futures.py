"""The paper engine on USD-M perpetuals: leverage margin, shorts, reduce-only and realised P&L."""

from __future__ import annotations

import pytest

from boltztrader.paper.engine import Engine
from boltztrader.paper.model import EventKind, Rejected, RejectReason, Side, State, TimeInForce

from .test_engine_fixtures import D, at, limit, make, market

BUY, SELL = Side.BUY, Side.SELL
SYM = "BTCUSDT.P"


def perp(usdt: str = "1000", leverage: int = 10) -> Engine:
    eng = make(USDT=D(usdt))
    eng.set_leverage("a", SYM, leverage)
    eng.set_price(SYM, D(20000), at(0))
    return eng


def test_market_buy_locks_notional_over_leverage_as_position_margin() -> None:
    """A 10x buy of 2000 notional moves 200 margin to locked and pays the 1.00 taker fee from free."""
    eng = perp()
    eng.submit("a", market(SYM, BUY, "0.1"), at(1))
    usdt = eng.account("a").balances["USDT"]
    assert (usdt.free, usdt.locked) == (D(799), D(200))
    pos = eng.account("a").positions[SYM]
    assert (pos.quantity, pos.average_price, pos.margin, pos.leverage) == (D("0.1"), D(20000), D(200), 10)


def test_without_leverage_the_full_notional_is_needed() -> None:
    """At the default leverage 1 a 2000 notional order on 1000 of margin is INSUFFICIENT_FUNDS."""
    eng = make(USDT=D(1000))
    eng.set_price(SYM, D(20000), at(0))
    with pytest.raises(Rejected) as info:
        eng.submit("a", market(SYM, BUY, "0.1"), at(1))
    assert info.value.reason is RejectReason.INSUFFICIENT_FUNDS


def test_closing_a_long_settles_realised_pnl_and_releases_margin() -> None:
    """Selling the long at a profit returns the margin plus P&L minus fees to free."""
    eng = perp()
    eng.submit("a", market(SYM, BUY, "0.1"), at(1))
    eng.set_price(SYM, D(21000), at(2))
    eng.submit("a", market(SYM, SELL, "0.1"), at(3))
    usdt = eng.account("a").balances["USDT"]
    assert (usdt.free, usdt.locked) == (D(1000) + D(100) - D("1.00") - D("1.05"), D(0))
    pos = eng.account("a").positions[SYM]
    assert (pos.quantity, pos.realized_pnl, pos.margin, pos.average_price) == (D(0), D(100), D(0), D(0))


def test_short_profits_when_price_falls() -> None:
    """A short opened by a sell and bought back lower realises a profit."""
    eng = perp()
    eng.submit("a", market(SYM, SELL, "0.1"), at(1))
    assert eng.account("a").positions[SYM].quantity == D("-0.1")
    eng.set_price(SYM, D(19000), at(2))
    eng.submit("a", market(SYM, BUY, "0.1"), at(3))
    pos = eng.account("a").positions[SYM]
    assert (pos.quantity, pos.realized_pnl) == (D(0), D(100))
    assert eng.account("a").balances["USDT"].free == D(1000) + D(100) - D("1.00") - D("0.95")


def test_partial_close_releases_margin_proportionally() -> None:
    """Closing half the position releases half its margin."""
    eng = perp()
    eng.submit("a", market(SYM, BUY, "0.2"), at(1))
    eng.submit("a", market(SYM, SELL, "0.1"), at(2))
    pos = eng.account("a").positions[SYM]
    assert (pos.quantity, pos.margin) == (D("0.1"), D(200))
    assert eng.account("a").balances["USDT"].locked == D(200)


def test_flip_from_long_to_short() -> None:
    """A sell larger than the long closes it and opens a short with fresh margin for the excess."""
    eng = perp()
    eng.submit("a", market(SYM, BUY, "0.1"), at(1))
    eng.submit("a", market(SYM, SELL, "0.3"), at(2))
    pos = eng.account("a").positions[SYM]
    assert (pos.quantity, pos.average_price, pos.margin) == (D("-0.2"), D(20000), D(400))
    assert eng.account("a").balances["USDT"].locked == D(400)


def test_resting_futures_limit_locks_margin_and_fills_as_maker() -> None:
    """A resting 10x limit buy locks notional/10 plus fee, then turns it into position margin on fill."""
    eng = perp()
    order, _ = eng.submit("a", limit(SYM, BUY, "0.1", "19000"), at(1))
    assert order.locked == D("190.95")
    eng.set_price(SYM, D("18999.9"), at(2))
    usdt = eng.account("a").balances["USDT"]
    assert order.fills[0].fee == D("0.38")
    assert order.fills[0].is_maker
    assert (usdt.free, usdt.locked) == (D(1000) - D(190) - D("0.38"), D(190))
    assert eng.account("a").positions[SYM].margin == D(190)


def test_closing_order_reserves_nothing() -> None:
    """A resting order that would only close the position locks nothing, even with no free balance."""
    eng = perp(usdt="201")
    eng.submit("a", market(SYM, BUY, "0.1"), at(1))
    assert eng.account("a").balances["USDT"].free == 0
    order, _ = eng.submit("a", limit(SYM, SELL, "0.1", "21000"), at(2))
    assert order.locked == 0
    eng.set_price(SYM, D(21000), at(3))
    assert order.fills[0].fee == D("0.42")
    assert eng.account("a").balances["USDT"].free == D(200) + D(100) - D("0.42")


def test_reduce_only_is_refused_when_it_would_not_reduce() -> None:
    """reduce_only with no position, or on the side that would grow it, is REDUCE_ONLY."""
    eng = perp()
    for side in (BUY, SELL):
        with pytest.raises(Rejected) as flat:
            eng.submit("a", market(SYM, side, "0.1", reduce_only=True), at(1))
        assert flat.value.reason is RejectReason.REDUCE_ONLY
    eng.submit("a", market(SYM, BUY, "0.1"), at(2))
    with pytest.raises(Rejected) as grow:
        eng.submit("a", market(SYM, BUY, "0.1", reduce_only=True), at(3))
    assert grow.value.reason is RejectReason.REDUCE_ONLY


def test_reduce_only_larger_than_the_position_fills_the_position_and_expires_the_rest() -> None:
    """A reduce-only sell of twice the long closes it exactly and expires the remainder."""
    eng = perp()
    eng.submit("a", market(SYM, BUY, "0.1"), at(1))
    order, events = eng.submit("a", market(SYM, SELL, "0.2", reduce_only=True), at(2))
    assert [e.kind for e in events] == [EventKind.NEW, EventKind.FILL, EventKind.EXPIRED]
    assert (order.state, order.filled_quantity) == (State.EXPIRED, D("0.1"))
    assert eng.account("a").positions[SYM].quantity == 0


def test_resting_reduce_only_expires_when_the_position_is_gone() -> None:
    """A resting reduce-only order whose position was closed meanwhile expires instead of opening one."""
    eng = perp()
    eng.submit("a", market(SYM, BUY, "0.1"), at(1))
    order, _ = eng.submit("a", limit(SYM, SELL, "0.1", "21000", reduce_only=True), at(2))
    eng.submit("a", market(SYM, SELL, "0.1"), at(3))
    events = eng.set_price(SYM, D(21000), at(4))
    assert [(e.kind, e.order) for e in events] == [(EventKind.EXPIRED, order)]
    assert eng.account("a").positions[SYM].quantity == 0
    assert eng.account("a").balances["USDT"].locked == 0


def test_loss_beyond_the_balance_never_makes_free_negative() -> None:
    """A loss larger than margin plus free is absorbed at zero rather than driving free negative."""
    eng = perp(usdt="201")
    eng.submit("a", market(SYM, BUY, "0.1"), at(1))
    eng.set_price(SYM, D(10000), at(2))
    order, _ = eng.submit("a", market(SYM, SELL, "0.1"), at(3))
    usdt = eng.account("a").balances["USDT"]
    assert (usdt.free, usdt.locked) == (D(0), D(0))
    assert order.fills[0].fee == 0
    assert eng.account("a").positions[SYM].realized_pnl == D(-1000)


def test_set_leverage_bounds() -> None:
    """Leverage must be within 1..max_leverage and only futures take it."""
    eng = perp()
    assert eng.account("a").leverage[SYM] == 10
    with pytest.raises(ValueError, match="leverage"):
        eng.set_leverage("a", SYM, 126)
    with pytest.raises(ValueError, match="leverage"):
        eng.set_leverage("a", SYM, 0)
    with pytest.raises(ValueError, match="futures"):
        eng.set_leverage("a", "BTCUSDT", 2)


def test_partial_fill_releases_the_over_reservation() -> None:
    """A partial maker fill (maker fee below taker) leaves exactly the remainder's margin and fee locked."""
    eng = perp()
    order, _ = eng.submit("a", limit(SYM, BUY, "0.2", "19000"), at(1))
    assert order.locked == D("381.90")
    eng.set_price(SYM, D(18000), at(2), liquidity=D("0.1"))
    assert order.state is State.PARTIALLY_FILLED
    assert order.locked == D("190.95")
    usdt = eng.account("a").balances["USDT"]
    assert usdt.locked == D("190.95") + D(190)
    assert usdt.free == D(1000) - D("190.95") - D(190) - D("0.38")


def test_fok_reduce_only_larger_than_the_position_expires_without_fill() -> None:
    """A FOK reduce-only order that could only partly fill (clipped to the position) expires with no fill."""
    eng = perp()
    eng.submit("a", market(SYM, BUY, "0.1"), at(1))
    request = limit(SYM, SELL, "0.2", "20000", tif=TimeInForce.FOK, reduce_only=True)
    order, events = eng.submit("a", request, at(2))
    assert [e.kind for e in events] == [EventKind.NEW, EventKind.EXPIRED]
    assert order.fills == []
    assert eng.account("a").positions[SYM].quantity == D("0.1")
