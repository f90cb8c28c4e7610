"""Checks 12-18: daily loss, rate, open orders, market hours, session health, algo tag, repeated fills."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from boltztrader.domain.enums import OrderType, Side, TimeInForce
from boltztrader.risk.checks import (
    check_algo_id,
    check_daily_loss,
    check_market_hours,
    check_open_orders,
    check_rate_limit,
    check_repeated_execution,
    check_session_health,
    model_should_be_disabled,
)
from boltztrader.risk.context import MarketSession, OpenOrder, Position, SessionHealth
from boltztrader.risk.limits import Limits
from boltztrader.risk.reasons import Rule
from tests.unit.risk.builders import LIMITS, NOW, alpaca_ctx, ctx, failed, kite_ctx, run, state

D = Decimal
US = timedelta(microseconds=1)


def test_daily_loss_exactly_two_percent_passes_and_a_cent_more_fails() -> None:
    """On 100,000 start-of-day equity a 2,000 loss passes; 2,000.01 is DAILY_LOSS."""
    at_limit = state(realised_pnl_today=D("-1500"), unrealised_pnl_today=D("-500"))
    over = state(realised_pnl_today=D("-1500"), unrealised_pnl_today=D("-500.01"))
    assert run(check_daily_loss, account=at_limit).passed
    assert failed(run(check_daily_loss, account=over), Rule.DAILY_LOSS)


def test_past_the_daily_loss_an_exit_still_passes() -> None:
    """Past the loss limit, selling what is held passes; buying more does not."""
    account = state(realised_pnl_today=D("-5000"), positions={"BTCUSDT": Position(D("0.01"), D("1"), D("1"))})
    assert run(check_daily_loss, ctx(side=Side.SELL), account).passed
    assert failed(run(check_daily_loss, ctx(side=Side.BUY), account), Rule.DAILY_LOSS)


def _sends(count: int, spacing: timedelta, end: datetime = NOW) -> tuple[datetime, ...]:
    return tuple(end - spacing * i for i in range(count))


def test_kite_rate_eight_per_second() -> None:
    """Seven Kite sends in the last second leave room for an eighth; eight sends mean RATE_LIMIT."""
    seven = state(recent_order_times=_sends(7, timedelta(milliseconds=100)))
    eight = state(recent_order_times=_sends(8, timedelta(milliseconds=100)))
    assert run(check_rate_limit, kite_ctx(), seven).passed
    assert failed(run(check_rate_limit, kite_ctx(), eight), Rule.RATE_LIMIT)


def test_kite_rate_two_hundred_per_minute() -> None:
    """199 Kite sends in the last minute pass; 200 are RATE_LIMIT; a send exactly 60 s ago has left."""
    spacing = timedelta(milliseconds=250)
    assert run(
        check_rate_limit,
        kite_ctx(),
        state(recent_order_times=_sends(199, spacing, NOW - timedelta(seconds=1))),
    ).passed
    full = state(recent_order_times=_sends(200, spacing, NOW - timedelta(seconds=1)))
    assert failed(run(check_rate_limit, kite_ctx(), full), Rule.RATE_LIMIT)
    left = state(
        recent_order_times=(*_sends(199, spacing, NOW - timedelta(seconds=1)), NOW - timedelta(seconds=60))
    )
    assert run(check_rate_limit, kite_ctx(), left).passed


def test_alpaca_rate_three_per_second_and_cancels_count() -> None:
    """Alpaca allows three sends a second; a cancel is a send too and is throttled like an order."""
    two = state(recent_order_times=_sends(2, timedelta(milliseconds=10)))
    three = state(recent_order_times=_sends(3, timedelta(milliseconds=10)))
    assert run(check_rate_limit, alpaca_ctx(), two).passed
    assert failed(run(check_rate_limit, alpaca_ctx(is_cancel=True), three), Rule.RATE_LIMIT)


def test_binance_rate_is_published_limit_less_twenty_percent() -> None:
    """Binance's 100 orders per 10 s less 20 % headroom: 79 recent sends pass, 80 fail."""
    spacing = timedelta(milliseconds=100)
    assert run(check_rate_limit, account=state(recent_order_times=_sends(79, spacing))).passed
    assert failed(
        run(check_rate_limit, account=state(recent_order_times=_sends(80, spacing))), Rule.RATE_LIMIT
    )


def _open(count: int, symbol: str = "BTCUSDT") -> tuple[OpenOrder, ...]:
    return tuple(OpenOrder(f"o-{i}", symbol, Side.BUY, D("1"), D("0"), NOW) for i in range(count))


def test_open_orders_per_account_and_per_symbol() -> None:
    """19 open leave room for a 20th; 20 is MAX_OPEN_ORDERS; per symbol 4 leave room for a 5th, 5 do not."""
    assert run(check_open_orders, account=state(open_orders=_open(19, "ETHUSDT"))).passed
    assert failed(run(check_open_orders, account=state(open_orders=_open(20, "ETHUSDT"))), Rule.OPEN_ORDERS)
    assert run(check_open_orders, account=state(open_orders=_open(4))).passed
    assert failed(run(check_open_orders, account=state(open_orders=_open(5))), Rule.OPEN_ORDERS)


IST_0915 = datetime(2025, 1, 15, 3, 45, tzinfo=UTC)
IST_1530 = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)


def test_nse_hours_are_half_open_and_amo_outside() -> None:
    """09:15 IST is open; at 15:30 a Kite order goes as an AMO, or is MARKET_CLOSED when AMO is off."""
    assert run(check_market_hours, kite_ctx(), now=IST_0915).adjusted is None
    amo = run(check_market_hours, kite_ctx(), now=IST_1530)
    assert amo.passed
    assert amo.adjusted == {"after_market": True}
    no_amo = run(check_market_hours, kite_ctx(), now=IST_1530, limits=Limits(allow_amo=False))
    assert failed(no_amo, Rule.MARKET_HOURS)
    assert failed(
        run(check_market_hours, kite_ctx(), now=IST_0915 - US, limits=Limits(allow_amo=False)),
        Rule.MARKET_HOURS,
    )


def test_us_extended_hours_need_a_day_limit_order_that_asks_for_them() -> None:
    """At 08:00 New York time only an extended-hours day limit order passes."""
    early = datetime(2025, 1, 15, 13, 0, tzinfo=UTC)
    assert run(check_market_hours, alpaca_ctx(extended_hours=True), now=early).passed
    assert failed(run(check_market_hours, alpaca_ctx(), now=early), Rule.MARKET_HOURS)
    market = alpaca_ctx(extended_hours=True, order_type=OrderType.MARKET, limit_price=None)
    assert failed(run(check_market_hours, market, now=early), Rule.MARKET_HOURS)
    gtc = alpaca_ctx(extended_hours=True, time_in_force=TimeInForce.GTC)
    assert failed(run(check_market_hours, gtc, now=early), Rule.MARKET_HOURS)


def test_caller_calendar_and_instrument_state_override_the_clock() -> None:
    """A holiday the caller marks CLOSED, or a halted instrument, is MARKET_CLOSED during regular hours."""
    assert failed(
        run(check_market_hours, alpaca_ctx(), state(market_session=MarketSession.CLOSED)), Rule.MARKET_HOURS
    )
    assert failed(run(check_market_hours, account=state(instrument_tradable=False)), Rule.MARKET_HOURS)
    assert run(check_market_hours, now=datetime(2025, 1, 18, 3, 0, tzinfo=UTC)).passed  # crypto on a Saturday


@pytest.mark.parametrize(
    "health",
    [SessionHealth(token_expired=True), SessionHealth(stream_down=True), SessionHealth(needs_login=True)],
)
def test_unhealthy_sessions_are_account_unavailable(health: SessionHealth) -> None:
    """An expired token, a down stream or a needed login is ACCOUNT_UNAVAILABLE, for cancels too."""
    assert failed(run(check_session_health, account=state(session=health)), Rule.SESSION_HEALTH)
    assert failed(run(check_session_health, ctx(is_cancel=True), state(session=health)), Rule.SESSION_HEALTH)
    assert run(check_session_health).passed


@pytest.mark.parametrize("tag", [None, "", "a" * 21, "has space", "tag-with-dash"])
def test_kite_orders_without_a_valid_tag_are_refused(tag: str | None) -> None:
    """A Kite order needs a 1-20 character alphanumeric tag; otherwise MISSING_ALGO_ID."""
    assert failed(run(check_algo_id, kite_ctx(algo_tag=tag)), Rule.ALGO_ID)


def test_a_twenty_character_tag_passes_and_other_brokers_need_none() -> None:
    """Exactly 20 alphanumerics pass at Kite; Binance orders need no tag."""
    assert run(check_algo_id, kite_ctx(algo_tag="a" * 20)).passed
    assert run(check_algo_id, ctx(algo_tag=None)).passed


def _fills(count: int, spacing: timedelta) -> dict[tuple[str, str, str], tuple[datetime, ...]]:
    return {("user-1", "BTCUSDT", "model-1"): tuple(NOW - spacing * i for i in range(count))}


def test_repeated_execution_ten_fills_in_sixty_seconds() -> None:
    """Nine fills in 60 s pass; ten are REPEATED_EXECUTION; a fill exactly 60 s ago has left the window."""
    assert run(check_repeated_execution, account=state(fill_times=_fills(9, timedelta(seconds=5)))).passed
    ten = state(fill_times=_fills(10, timedelta(seconds=5)))
    assert failed(run(check_repeated_execution, account=ten), Rule.REPEATED_EXECUTION)
    spread = state(fill_times=_fills(10, timedelta(seconds=60 / 9)))
    assert run(check_repeated_execution, account=spread).passed


def test_disabled_model_is_refused_and_the_disable_helper_agrees() -> None:
    """A model disabled for the user is refused; ten fills in the window say disable it."""
    account = state(disabled_models=frozenset({"model-1"}))
    assert failed(run(check_repeated_execution, account=account), Rule.REPEATED_EXECUTION)
    times = _fills(10, timedelta(seconds=1))[("user-1", "BTCUSDT", "model-1")]
    assert model_should_be_disabled(times, NOW, LIMITS)
    assert not model_should_be_disabled(times[:9], NOW, LIMITS)
