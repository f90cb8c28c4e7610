"""Checks 1-5: signal shape, confidence, freshness, duplicates and the kill switch, at their boundaries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import cast

import pytest

from boltztrader.domain.enums import OrderType, Side, TradingState
from boltztrader.risk.checks import (
    check_confidence,
    check_duplicate,
    check_kill_switch,
    check_signal_fresh,
    check_signal_shape,
)
from boltztrader.risk.context import OpenOrder, Position, RecentOrder
from boltztrader.risk.reasons import Reason, Rule
from tests.unit.risk.builders import BTC, NOW, RELIANCE, ctx, failed, run, state

D = Decimal
US = timedelta(microseconds=1)


def test_a_valid_order_passes_the_shape_check() -> None:
    """A well-formed limit buy of a known symbol passes check 1."""
    assert run(check_signal_shape).passed


@pytest.mark.parametrize(
    "order",
    [
        ctx(side=cast(Side, "hold")),
        ctx(quantity=None),
        ctx(notional=D("100")),
        ctx(quantity=D("0")),
        ctx(quantity=D("-1")),
        ctx(quantity=D("Infinity")),
        ctx(quantity=D("NaN")),
        ctx(limit_price=None),
        ctx(order_type=OrderType.MARKET),
        ctx(order_type=OrderType.STOP_LIMIT),
        ctx(instrument=None),
        ctx(instrument=RELIANCE),
        ctx(confidence=D("1.01")),
        ctx(signal_created_at=NOW.replace(tzinfo=None)),
        ctx(signal_id=""),
    ],
)
def test_malformed_orders_are_invalid_signals(order: object) -> None:
    """Bad side (the seed's rule), size, prices, unknown symbol or confidence: INVALID_SIGNAL."""
    verdict = run(check_signal_shape, order)  # type: ignore[arg-type]
    assert failed(verdict, Rule.SIGNAL_SHAPE)
    assert verdict.reason is Reason.INVALID_SIGNAL


def test_a_notional_sized_market_order_is_well_formed() -> None:
    """Sizing by notional alone, with no limit price on a market order, is a valid shape."""
    assert run(
        check_signal_shape,
        ctx(order_type=OrderType.MARKET, limit_price=None, quantity=None, notional=D("100")),
    ).passed


def test_confidence_exactly_at_the_minimum_passes() -> None:
    """0.7 passes the seed's confidence rule; 0.6999 is LOW_CONFIDENCE."""
    assert run(check_confidence, ctx(confidence=D("0.7"))).passed
    assert failed(run(check_confidence, ctx(confidence=D("0.6999"))), Rule.CONFIDENCE)


def test_signal_exactly_max_age_old_passes_and_one_microsecond_more_is_stale() -> None:
    """A 30 s old signal passes; 30 s + 1 µs is STALE_SIGNAL."""
    at_limit = ctx(signal_created_at=NOW - timedelta(seconds=30))
    assert run(check_signal_fresh, at_limit).passed
    assert failed(
        run(check_signal_fresh, ctx(signal_created_at=NOW - timedelta(seconds=30) - US)),
        Rule.SIGNAL_FRESHNESS,
    )


def test_signal_from_the_future_beyond_clock_skew_is_stale() -> None:
    """A signal stamped 1 s ahead passes the skew; one stamped further ahead is refused."""
    assert run(check_signal_fresh, ctx(signal_created_at=NOW + timedelta(seconds=1))).passed
    assert failed(
        run(check_signal_fresh, ctx(signal_created_at=NOW + timedelta(seconds=1) + US)), Rule.SIGNAL_FRESHNESS
    )


def test_seen_signal_id_is_a_duplicate() -> None:
    """A signal id already seen for this account is DUPLICATE_SIGNAL."""
    assert failed(run(check_duplicate, account=state(seen_signal_ids=frozenset({"sig-1"}))), Rule.DUPLICATE)
    assert run(check_duplicate, account=state(seen_signal_ids=frozenset({"sig-0"}))).passed


def _recent(age: timedelta, **changes: object) -> RecentOrder:
    values: dict[str, object] = {
        "signal_id": "sig-0",
        "symbol": "BTCUSDT",
        "side": Side.BUY,
        "quantity": D("0.01"),
        "notional": None,
        "created_at": NOW - age,
    }
    values.update(changes)
    return RecentOrder(**values)  # type: ignore[arg-type]


def test_look_alike_inside_the_window_is_denied_and_at_its_edge_passes() -> None:
    """Same symbol, side and size under another id 5 s - 1 µs ago is a duplicate; 5 s ago has left."""
    inside = state(recent_orders=(_recent(timedelta(seconds=5) - US),))
    edge = state(recent_orders=(_recent(timedelta(seconds=5)),))
    assert failed(run(check_duplicate, account=inside), Rule.DUPLICATE)
    assert run(check_duplicate, account=edge).passed


def test_orders_that_differ_in_size_or_side_are_not_look_alikes() -> None:
    """A different quantity or side within the window is not a look-alike."""
    account = state(
        recent_orders=(_recent(timedelta(0), quantity=D("0.02")), _recent(timedelta(0), side=Side.SELL))
    )
    assert run(check_duplicate, account=account).passed


@pytest.mark.parametrize("level", ["global_state", "user_state", "account_state"])
def test_halted_at_any_level_denies_new_orders_but_not_cancels(level: str) -> None:
    """HALTED at global, user or account level is TRADING_HALTED; a cancel still passes."""
    account = state(**{level: TradingState.HALTED})
    assert failed(run(check_kill_switch, account=account), Rule.KILL_SWITCH)
    assert run(check_kill_switch, ctx(is_cancel=True), account).passed


def test_reducing_allows_only_orders_that_shrink_the_position() -> None:
    """REDUCING with 0.05 held: selling 0.05 passes, selling 0.05001 (a flip) and buying are denied."""
    account = state(
        user_state=TradingState.REDUCING, positions={"BTCUSDT": Position(D("0.05"), D("1"), D("1"))}
    )
    assert run(check_kill_switch, ctx(side=Side.SELL, quantity=D("0.05")), account).passed
    assert failed(
        run(check_kill_switch, ctx(side=Side.SELL, quantity=D("0.05001")), account), Rule.KILL_SWITCH
    )
    assert failed(run(check_kill_switch, ctx(side=Side.BUY, quantity=D("0.01")), account), Rule.KILL_SWITCH)


def test_reducing_counts_exits_already_working() -> None:
    """With 0.05 held and a 0.03 sell open, only 0.02 more may be sold under REDUCING."""
    working = OpenOrder("o-1", "BTCUSDT", Side.SELL, D("0.03"), D("0"), NOW)
    account = state(
        account_state=TradingState.REDUCING,
        positions={"BTCUSDT": Position(D("0.05"), D("1"), D("1"))},
        open_orders=(working,),
    )
    assert run(check_kill_switch, ctx(side=Side.SELL, quantity=D("0.02")), account).passed
    assert failed(
        run(check_kill_switch, ctx(side=Side.SELL, quantity=D("0.02001")), account), Rule.KILL_SWITCH
    )


def test_instrument_fixture_is_the_orders_symbol() -> None:
    """The default builder's instrument matches its order, so shape failures above are the changed field's."""
    assert BTC.key == (ctx().broker, ctx().market, ctx().symbol)
