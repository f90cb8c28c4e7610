"""Kill-switch levels: the strictest wins, switches only tighten, engaging one cancels the right orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from boltztrader.domain.enums import Side, TradingState
from boltztrader.risk.context import OpenOrder, Position
from boltztrader.risk.trading_state import (
    effective_state,
    engage,
    is_tightening,
    most_restrictive,
    on_daily_loss,
    orders_to_cancel,
)
from tests.unit.risk.builders import LIMITS, NOW, state

D = Decimal
A, R, H = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED
RANK = {A: 0, R: 1, H: 2}
levels = st.sampled_from(TradingState)


@given(levels, levels, levels)
def test_effective_state_is_the_most_restrictive_level(
    g: TradingState, u: TradingState, a: TradingState
) -> None:
    """The effective state is the max of global, user and account under ACTIVE < REDUCING < HALTED."""
    effective = effective_state(state(global_state=g, user_state=u, account_state=a))
    assert RANK[effective] == max(RANK[g], RANK[u], RANK[a])


@given(levels, levels)
def test_engage_never_loosens(current: TradingState, target: TradingState) -> None:
    """An automatic switch ends at least as strict as both where it was and where it was sent."""
    result = engage(current, target)
    assert RANK[result] >= RANK[current]
    assert RANK[result] >= RANK[target]
    assert is_tightening(current, result) == (RANK[result] > RANK[current])


def test_no_levels_means_active() -> None:
    """With nothing engaged, trading is active."""
    assert most_restrictive() is A


def _order(oid: str, symbol: str, side: Side, qty: str, age_s: int) -> OpenOrder:
    return OpenOrder(oid, symbol, side, D(qty), D("0"), NOW - timedelta(seconds=age_s))


ORDERS = (
    _order("buy-more-btc", "BTC", Side.BUY, "1", 5),
    _order("exit-btc-old", "BTC", Side.SELL, "2", 9),
    _order("exit-btc-new", "BTC", Side.SELL, "2", 1),
    _order("open-eth", "ETH", Side.SELL, "1", 3),
    _order("cover-sol", "SOL", Side.BUY, "3", 3),
)
POSITIONS = {"BTC": Position(D("3"), D("1"), D("1")), "SOL": Position(D("-3"), D("1"), D("1"))}


def test_halted_cancels_everything_active_nothing() -> None:
    """HALTED cancels every open order; ACTIVE none."""
    assert orders_to_cancel(H, ORDERS, POSITIONS) == tuple(o.order_id for o in ORDERS)
    assert orders_to_cancel(A, ORDERS, POSITIONS) == ()


def test_reducing_cancels_entries_and_exits_that_would_flip() -> None:
    """REDUCING keeps the older BTC exit and the SOL cover; cancels the buy, the ETH short, the flip."""
    assert orders_to_cancel(R, ORDERS, POSITIONS) == ("buy-more-btc", "exit-btc-new", "open-eth")


def test_crossing_the_daily_loss_sets_reducing_and_cancels_entries() -> None:
    """A 2,000.01 loss on 100,000 start-of-day equity sets REDUCING and cancels the entries."""
    outcome = on_daily_loss(
        A,
        pnl_today=D("-2000.01"),
        start_of_day_equity=D("100000"),
        limits=LIMITS,
        open_orders=ORDERS,
        positions=POSITIONS,
    )
    assert outcome.crossed
    assert outcome.state is R
    assert outcome.cancel == ("buy-more-btc", "exit-btc-new", "open-eth")


def test_loss_at_the_limit_changes_nothing_and_halted_stays_halted() -> None:
    """Exactly 2 % lost leaves the state alone; a crossing while HALTED stays HALTED and cancels all."""
    calm = on_daily_loss(
        A,
        pnl_today=D("-2000"),
        start_of_day_equity=D("100000"),
        limits=LIMITS,
        open_orders=ORDERS,
        positions=POSITIONS,
    )
    assert (calm.state, calm.crossed, calm.cancel) == (A, False, ())
    halted = on_daily_loss(
        H,
        pnl_today=D("-9000"),
        start_of_day_equity=D("100000"),
        limits=LIMITS,
        open_orders=ORDERS,
        positions=POSITIONS,
    )
    assert halted.state is H
    assert len(halted.cancel) == len(ORDERS)
