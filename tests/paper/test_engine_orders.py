"""The paper engine: stops and take-profits, IOC/FOK, split fills, replace, day expiry and determinism."""

from __future__ import annotations

from decimal import Decimal

import pytest

from boltztrader.paper.engine import Engine, EngineConfig
from boltztrader.paper.model import (
    Event,
    EventKind,
    Fill,
    Kind,
    NotCancelable,
    Rejected,
    RejectReason,
    Side,
    State,
    TimeInForce,
)

from .test_engine_fixtures import ALL, D, at, limit, make, market, trigger

BUY, SELL = Side.BUY, Side.SELL


# -- stops and take-profits ----------------------------------------------------------------------
@pytest.mark.parametrize(("side", "kind", "trigger_price", "quiet", "firing"), [
    (BUY, Kind.STOP_MARKET, "110", "109.99", "110"),
    (SELL, Kind.STOP_MARKET, "90", "90.01", "89"),
    (BUY, Kind.TAKE_PROFIT_MARKET, "90", "90.01", "90"),
    (SELL, Kind.TAKE_PROFIT_MARKET, "110", "109.99", "111"),
])
def test_trigger_orders_fire_in_the_right_direction(side: Side, kind: Kind, trigger_price: str, quiet: str,
                                                    firing: str) -> None:
    """Stops trigger when the price moves against the position, take-profits when it moves with it."""
    eng = make(USDT=D(1000), BTC=D(1))
    eng.set_price("BTCUSDT", D(100), at(0))
    order, events = eng.submit("a", trigger("BTCUSDT", side, kind, "1", trigger_price), at(1))
    assert [e.kind for e in events] == [EventKind.NEW]
    assert order.state is State.PENDING_TRIGGER
    assert eng.set_price("BTCUSDT", D(quiet), at(2)) == []
    fired = eng.set_price("BTCUSDT", D(firing), at(3))
    assert [e.kind for e in fired] == [EventKind.TRIGGERED, EventKind.FILL]
    assert eng.get("a", order.order_id).state is State.FILLED
    assert order.triggered_at == at(3)
    assert order.fills[0].price == D(firing)
    assert order.fills[0].is_maker is False
    assert all(b.locked == 0 for b in eng.account("a").balances.values())


def test_stop_limit_triggers_then_rests_then_fills_as_maker() -> None:
    """A triggered stop-limit that does not cross rests at its limit and later fills there as maker."""
    eng = make(USDT=D(1000))
    eng.set_price("BTCUSDT", D(100), at(0))
    order, _ = eng.submit("a", trigger("BTCUSDT", BUY, Kind.STOP_LIMIT, "1", "110", "111"), at(1))
    assert order.locked == D("111.111")
    events = eng.set_price("BTCUSDT", D(112), at(2))
    assert [(e.kind, e.state) for e in events] == [(EventKind.TRIGGERED, State.OPEN)]
    (fill,) = eng.set_price("BTCUSDT", D(111), at(3))
    assert fill.fill is not None
    assert (fill.fill.price, fill.fill.is_maker) == (D(111), True)
    assert order.state is State.FILLED


def test_stop_limit_that_crosses_when_triggered_fills_as_taker() -> None:
    """A stop-limit whose limit is crossed when it triggers fills at once as taker at the better price."""
    eng = make(USDT=D(1000))
    eng.set_price("BTCUSDT", D(100), at(0))
    order, _ = eng.submit("a", trigger("BTCUSDT", BUY, Kind.STOP_LIMIT, "1", "110", "115"), at(1))
    events = eng.set_price("BTCUSDT", D(111), at(2))
    assert [e.kind for e in events] == [EventKind.TRIGGERED, EventKind.FILL]
    assert order.fills[0].price == D(111)
    assert not order.fills[0].is_maker


def test_crossed_trigger_at_submit_triggers_at_once() -> None:
    """A stop already crossed when submitted triggers immediately; would_trigger_immediately says so."""
    eng = make(USDT=D(1000))
    eng.set_price("BTCUSDT", D(100), at(0))
    crossed = trigger("BTCUSDT", BUY, Kind.STOP_MARKET, "1", "95")
    waiting = trigger("BTCUSDT", BUY, Kind.STOP_MARKET, "1", "105")
    assert eng.would_trigger_immediately(crossed) is True
    assert eng.would_trigger_immediately(waiting) is False
    assert eng.would_trigger_immediately(limit("BTCUSDT", BUY, "1", "95")) is False
    order, events = eng.submit("a", crossed, at(1))
    assert [e.kind for e in events] == [EventKind.NEW, EventKind.TRIGGERED, EventKind.FILL]
    assert order.state is State.FILLED
    assert order.fills[0].price == D(100)


def test_would_trigger_immediately_without_price_is_false() -> None:
    """Without a market price nothing can have been crossed."""
    eng = make()
    assert eng.would_trigger_immediately(trigger("BTCUSDT", BUY, Kind.STOP_MARKET, "1", "95")) is False


def test_would_match_immediately_for_post_only_checks() -> None:
    """would_match_immediately is True only for a limit that would take on arrival."""
    eng = make()
    eng.set_price("BTCUSDT", D(100), at(0))
    assert eng.would_match_immediately(limit("BTCUSDT", BUY, "1", "100")) is True
    assert eng.would_match_immediately(limit("BTCUSDT", BUY, "1", "99")) is False
    assert eng.would_match_immediately(limit("BTCUSDT", SELL, "1", "101")) is False


def test_triggered_stop_that_cannot_be_paid_expires() -> None:
    """A stop buy whose market price gapped beyond the account's funds expires without a fill."""
    eng = make(USDT=D(111))
    eng.set_price("BTCUSDT", D(100), at(0))
    order, _ = eng.submit("a", trigger("BTCUSDT", BUY, Kind.STOP_MARKET, "1", "110"), at(1))
    events = eng.set_price("BTCUSDT", D(200), at(2))
    assert [e.kind for e in events] == [EventKind.TRIGGERED, EventKind.EXPIRED]
    assert order.state is State.EXPIRED
    assert order.fills == []
    assert order.reject_reason is RejectReason.INSUFFICIENT_FUNDS
    usdt = eng.account("a").balances["USDT"]
    assert (usdt.free, usdt.locked) == (D(111), D(0))


# -- IOC / FOK ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("tif", [TimeInForce.IOC, TimeInForce.FOK])
def test_immediate_orders_that_do_not_cross_expire_without_fill(tif: TimeInForce) -> None:
    """IOC and FOK limits that cannot fill now expire at once, with no fill and nothing left locked."""
    eng = make(USDT=D(1000))
    eng.set_price("BTCUSDT", D(100), at(0))
    order, events = eng.submit("a", limit("BTCUSDT", BUY, "1", "90", tif=tif), at(1))
    assert [(e.kind, e.state) for e in events] == [(EventKind.NEW, State.OPEN),
                                                   (EventKind.EXPIRED, State.EXPIRED)]
    assert order.fills == []
    usdt = eng.account("a").balances["USDT"]
    assert (usdt.free, usdt.locked) == (D(1000), D(0))
    assert eng.set_price("BTCUSDT", D(80), at(2)) == []


@pytest.mark.parametrize("tif", [TimeInForce.IOC, TimeInForce.FOK])
def test_immediate_orders_that_cross_fill(tif: TimeInForce) -> None:
    """IOC and FOK limits that cross fill completely at once."""
    eng = make(USDT=D(1000))
    eng.set_price("BTCUSDT", D(100), at(0))
    order, events = eng.submit("a", limit("BTCUSDT", BUY, "1", "101", tif=tif), at(1))
    assert [e.kind for e in events] == [EventKind.NEW, EventKind.FILL]
    assert order.state is State.FILLED


# -- split fills ---------------------------------------------------------------------------------------
def test_fill_parts_split_one_fill_into_several() -> None:
    """fill_parts=3 gives three fills with separate trade ids summing exactly, the last one FILLED."""
    eng = make(EngineConfig(spread_bps=D(0), fill_parts=3), USDT=D(1000))
    eng.set_price("BTCUSDT", D(100), at(0))
    order, events = eng.submit("a", market("BTCUSDT", BUY, "1"), at(1))
    fills = [e for e in events if e.kind is EventKind.FILL]
    assert [e.fill.quantity for e in fills if e.fill] == [D("0.33333"), D("0.33333"), D("0.33334")]
    assert [e.fill.trade_id for e in fills if e.fill] == [1, 2, 3]
    assert [e.state for e in fills] == [State.PARTIALLY_FILLED, State.PARTIALLY_FILLED, State.FILLED]
    assert [e.filled_quantity for e in fills] == [D("0.33333"), D("0.66666"), D(1)]
    assert order.filled_quote == D(100)


def test_fill_parts_use_fewer_parts_when_a_part_would_be_zero() -> None:
    """Two shares split three ways become two fills of one share."""
    eng = make(EngineConfig(spread_bps=D(0), fill_parts=3), INR=D(10000))
    eng.set_price("INFY", D(1500), at(0))
    order, _ = eng.submit("a", market("INFY", BUY, "2"), at(1))
    assert [f.quantity for f in order.fills] == [D(1), D(1)]


# -- replace ---------------------------------------------------------------------------------------------
def test_replace_moves_price_and_quantity_and_relocks() -> None:
    """Replace changes a resting order in place, re-reserves for it and emits REPLACED."""
    eng = make(USDT=D(1000))
    eng.set_price("BTCUSDT", D(100), at(0))
    order, _ = eng.submit("a", limit("BTCUSDT", BUY, "1", "90"), at(1))
    same, events = eng.replace("a", order.order_id, at(2), price=D(80))
    assert same is order
    assert [(e.kind, e.state) for e in events] == [(EventKind.REPLACED, State.OPEN)]
    assert order.request.price == D(80)
    assert order.locked == D("80.08")
    assert eng.set_price("BTCUSDT", D(85), at(3)) == []
    eng.replace("a", order.order_id, at(4), quantity=D(2))
    usdt = eng.account("a").balances["USDT"]
    assert (order.quantity, order.locked) == (D(2), D("160.16"))
    assert (usdt.locked, usdt.free) == (D("160.16"), D("839.84"))
    _, events = eng.replace("a", order.order_id, at(5), price=D(100))
    assert [e.kind for e in events] == [EventKind.REPLACED, EventKind.FILL]
    assert order.state is State.FILLED
    assert order.fills[0].price == D(85)


def test_replace_stop_trigger() -> None:
    """Replacing a waiting stop's trigger moves where it fires."""
    eng = make(USDT=D(1000))
    eng.set_price("BTCUSDT", D(100), at(0))
    order, _ = eng.submit("a", trigger("BTCUSDT", BUY, Kind.STOP_MARKET, "1", "110"), at(1))
    eng.replace("a", order.order_id, at(2), trigger_price=D(105))
    assert eng.set_price("BTCUSDT", D(104), at(3)) == []
    assert [e.kind for e in eng.set_price("BTCUSDT", D(106), at(4))] == [EventKind.TRIGGERED, EventKind.FILL]


def test_replace_refusals_leave_the_order_unchanged() -> None:
    """Replace beyond funds, off the tick or not above the filled quantity is refused; a final order too."""
    eng = make(USDT=D(200))
    eng.set_price("BTCUSDT", D(100), at(0))
    order, _ = eng.submit("a", limit("BTCUSDT", BUY, "1", "90"), at(1))
    for kwargs, reason in [({"quantity": D(3)}, RejectReason.INSUFFICIENT_FUNDS),
                           ({"price": D("90.001")}, RejectReason.TICK_SIZE),
                           ({"quantity": D(0)}, RejectReason.INVALID_QUANTITY),
                           ({"trigger_price": D(95)}, RejectReason.INVALID_PRICE)]:
        with pytest.raises(Rejected) as info:
            eng.replace("a", order.order_id, at(2), **kwargs)
        assert info.value.reason is reason
    assert (order.quantity, order.request.price, order.locked) == (D(1), D(90), D("90.09"))
    eng.cancel("a", order.order_id, at(3))
    with pytest.raises(NotCancelable):
        eng.replace("a", order.order_id, at(4), price=D(80))


# -- day expiry ------------------------------------------------------------------------------------------
def test_expire_day_orders_only_expires_day_orders_of_the_given_symbols() -> None:
    """expire_day_orders ends live DAY orders (optionally per symbol) and leaves GTC orders alone."""
    eng = make(USDT=D(10000), INR=D(100000))
    day = eng.submit("a", limit("BTCUSDT", BUY, "1", "90", tif=TimeInForce.DAY), at(1))[0]
    gtc = eng.submit("a", limit("BTCUSDT", BUY, "1", "90"), at(2))[0]
    infy = eng.submit("a", limit("INFY", BUY, "1", "1000", tif=TimeInForce.DAY), at(3))[0]
    assert [e.order for e in eng.expire_day_orders(at(4), symbols=["INFY"])] == [infy]
    events = eng.expire_day_orders(at(5))
    assert [(e.kind, e.order) for e in events] == [(EventKind.EXPIRED, day)]
    assert (day.state, gtc.state, infy.state) == (State.EXPIRED, State.OPEN, State.EXPIRED)
    assert eng.account("a").balances["INR"].locked == 0
    assert eng.account("a").balances["USDT"].locked == D("90.09")


# -- determinism -------------------------------------------------------------------------------------------
def _script() -> tuple[list[Event], list[Fill], dict[str, tuple[Decimal, Decimal]]]:
    eng = Engine(ALL, EngineConfig(spread_bps=D(3), slippage_bps=D(1), fill_parts=2))
    eng.open_account("a", {"USDT": D(100000), "BTC": D(2), "INR": D(500000)})
    eng.open_account("b", {"USDT": D(5000)})
    events: list[Event] = []
    for i, px in enumerate(["100", "101.37", "99.12", "97", "103.55", "98.01"]):
        events += eng.set_price("BTCUSDT", D(px), at(i * 10))
        events += eng.set_price("INFY", D(1500) + i * 5, at(i * 10))
        events += eng.submit("a", limit("BTCUSDT", BUY, "0.7", str(98 + i)), at(i * 10 + 1))[1]
        events += eng.submit("b", market("BTCUSDT", BUY, quote="300"), at(i * 10 + 2))[1]
        events += eng.submit("a", trigger("BTCUSDT", SELL, Kind.STOP_MARKET, "0.1", "98"), at(i * 10 + 3))[1]
        events += eng.submit("a", market("INFY", BUY, str(i + 1)), at(i * 10 + 4))[1]
    fills = eng.fills("a") + eng.fills("b")
    balances = {f"{acc}:{asset}": (b.free, b.locked)
                for acc in "ab" for asset, b in eng.account(acc).balances.items()}
    return events, fills, balances


def test_same_script_twice_gives_identical_results() -> None:
    """The same prices and orders replayed on a fresh engine give identical events, fills and balances."""
    events_1, fills_1, balances_1 = _script()
    events_2, fills_2, balances_2 = _script()

    def flat(events: list[Event]) -> list[tuple[object, ...]]:
        return [(e.seq, e.kind, e.account_id, e.order.order_id, e.state, e.filled_quantity, e.filled_quote,
                 e.fill, e.time) for e in events]

    assert len(fills_1) > 10
    assert flat(events_1) == flat(events_2)
    assert fills_1 == fills_2
    assert balances_1 == balances_2
