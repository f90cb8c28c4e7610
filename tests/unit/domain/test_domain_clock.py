"""Clocks give aware UTC time; naive datetimes are refused."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from boltztrader.domain.clock import Clock, FixedClock, ManualClock, SystemClock, utc

IST = timezone(timedelta(hours=5, minutes=30))


def test_utc_converts_aware_datetimes() -> None:
    """An aware time in another zone becomes the same instant in UTC."""
    result = utc(datetime(2025, 1, 1, 9, 15, tzinfo=IST))
    assert result == datetime(2025, 1, 1, 3, 45, tzinfo=UTC)
    assert result.tzinfo is UTC


def test_utc_refuses_naive_datetimes() -> None:
    """A naive datetime has no zone, so converting it would be a guess."""
    with pytest.raises(ValueError, match="naive"):
        utc(datetime(2025, 1, 1))


def test_system_clock_is_aware_utc() -> None:
    """The system clock reports UTC with a zone attached."""
    clock: Clock = SystemClock()
    assert clock.now().tzinfo is UTC


def test_fixed_clock_never_moves() -> None:
    """A fixed clock returns the same instant, normalised to UTC."""
    clock = FixedClock(datetime(2025, 1, 1, 9, 15, tzinfo=IST))
    assert clock.now() == clock.now() == datetime(2025, 1, 1, 3, 45, tzinfo=UTC)


def test_manual_clock_advances_only_forward() -> None:
    """A manual clock moves by the given step and refuses to go backwards."""
    clock = ManualClock(datetime(2025, 1, 1, tzinfo=UTC))
    clock.advance(timedelta(seconds=31))
    assert clock.now() == datetime(2025, 1, 1, 0, 0, 31, tzinfo=UTC)
    with pytest.raises(ValueError, match="negative"):
        clock.advance(timedelta(seconds=-1))


def test_manual_clock_refuses_naive_start() -> None:
    """Even a test clock must be given an aware time."""
    with pytest.raises(ValueError, match="naive"):
        ManualClock(datetime(2025, 1, 1))
