"""Time as an injected dependency, always timezone-aware UTC.

Pure code never calls ``datetime.now()``: it is handed a ``Clock`` (or a ``now``), so a test can
pin time and step it across a freshness window or an approval TTL without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "FixedClock", "ManualClock", "SystemClock", "utc"]


def utc(dt: datetime) -> datetime:
    """Return ``dt`` converted to UTC; refuse a naive datetime, whose zone would only be a guess."""
    if not isinstance(dt, datetime):
        raise TypeError(f"expected a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt.isoformat()} has no time zone; pass an aware datetime")
    return dt.astimezone(UTC)


class Clock(Protocol):
    """Anything that can tell the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real wall clock, for production wiring."""

    def now(self) -> datetime:
        """The machine's current time in UTC."""
        return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class FixedClock:
    """A clock stuck at one instant: for tests where time must not move at all."""

    instant: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "instant", utc(self.instant))

    def now(self) -> datetime:
        """Always the same instant."""
        return self.instant


class ManualClock:
    """A clock that moves only when a test moves it."""

    __slots__ = ("_now",)

    def __init__(self, start: datetime) -> None:
        self._now = utc(start)

    def now(self) -> datetime:
        """The instant the test last set."""
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` (never backwards: real clocks used for deadlines do not)."""
        if delta < timedelta(0):
            raise ValueError(f"cannot advance a clock by a negative duration {delta}")
        self._now += delta
        return self._now

    def set(self, instant: datetime) -> None:
        """Jump to any instant, e.g. to model a wall-clock correction."""
        self._now = utc(instant)
