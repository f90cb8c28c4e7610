"""The throttle never lets more than N sends into any window, and says exactly when the next slot is."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from boltztrader.domain.enums import Broker
from boltztrader.risk.limits import Limits
from boltztrader.risk.throttle import RateWindow, Throttle, expires_before_slot, rate_windows, with_headroom
from tests.unit.risk.builders import NOW

SECOND, MINUTE = timedelta(seconds=1), timedelta(minutes=1)


def test_per_broker_defaults() -> None:
    """Kite 8/s and 200/min, Alpaca 3/s and 200/min, Binance 80 per 10 s (100 less 20 %)."""
    limits = Limits()
    assert rate_windows(Broker.ZERODHA, limits) == (RateWindow(8, SECOND), RateWindow(200, MINUTE))
    assert rate_windows(Broker.ALPACA, limits) == (RateWindow(3, SECOND), RateWindow(200, MINUTE))
    assert rate_windows(Broker.BINANCE, limits) == (RateWindow(80, timedelta(seconds=10)),)


def test_binance_uses_published_limits_with_headroom() -> None:
    """Published 50 per 10 s and 160,000 a day become 40 and 128,000; never below one."""
    published = (RateWindow(50, timedelta(seconds=10)), RateWindow(160_000, timedelta(days=1)))
    assert rate_windows(Broker.BINANCE, Limits(), published) == (
        RateWindow(40, timedelta(seconds=10)),
        RateWindow(128_000, timedelta(days=1)),
    )
    assert with_headroom((RateWindow(1, SECOND),), Decimal("0.5")) == (RateWindow(1, SECOND),)


def test_next_slot_is_when_the_oldest_send_leaves_the_window() -> None:
    """Sends at t-0.9, t-0.5, t-0.1 against 3/s: the next slot is t+0.1, and not a microsecond sooner."""
    sent = tuple(NOW - timedelta(milliseconds=ms) for ms in (900, 500, 100))
    throttle = Throttle((RateWindow(3, SECOND),), sent)
    assert not throttle.allow(NOW)
    slot = throttle.next_slot(NOW)
    assert slot == NOW + timedelta(milliseconds=100)
    assert throttle.allow(slot)
    assert not throttle.allow(slot - timedelta(microseconds=1))


def test_next_slot_is_now_when_there_is_room() -> None:
    """With room in every window the slot is now."""
    assert Throttle((RateWindow(3, SECOND),)).next_slot(NOW) == NOW


@given(
    gaps=st.lists(st.integers(min_value=0, max_value=700), min_size=1, max_size=120),
    limit=st.integers(min_value=1, max_value=6),
    minute_limit=st.integers(min_value=1, max_value=40),
)
def test_greedy_sending_never_exceeds_any_window(gaps: list[int], limit: int, minute_limit: int) -> None:
    """Sending whenever allow says so never puts more than N sends in any half-open window."""
    windows = (RateWindow(limit, SECOND), RateWindow(minute_limit, timedelta(seconds=5)))
    throttle = Throttle(windows)
    at = NOW
    for gap in gaps:
        at += timedelta(milliseconds=gap)
        if throttle.allow(at):
            throttle = throttle.record(at)
    sent = Throttle(windows, throttle.sent)
    for t in throttle.sent:
        for window in windows:
            assert sent.count(window, t) <= window.limit


@given(offsets=st.lists(st.integers(min_value=0, max_value=3000), min_size=0, max_size=40))
def test_next_slot_always_allows(offsets: list[int]) -> None:
    """next_slot is never before now, allows a send, and is the earliest such instant."""
    sent = tuple(NOW - timedelta(milliseconds=ms) for ms in offsets)
    throttle = Throttle((RateWindow(4, SECOND), RateWindow(10, timedelta(seconds=3))), sent)
    slot = throttle.next_slot(NOW)
    assert slot >= NOW
    assert throttle.allow(slot)
    if slot > NOW:
        assert not throttle.allow(slot - timedelta(microseconds=1))


def test_queued_order_expires_when_its_slot_is_after_the_signal_goes_stale() -> None:
    """A slot exactly 30 s after the signal is still in time; a microsecond later it is not."""
    limits = Limits()
    assert not expires_before_slot(NOW, NOW + timedelta(seconds=30), limits)
    assert expires_before_slot(NOW, NOW + timedelta(seconds=30, microseconds=1), limits)
