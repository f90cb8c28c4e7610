"""The order-rate arithmetic: a sliding-window log per account, with the per-broker defaults.

Above the rate, orders are queued, not dropped (risk check 13); the queue lives in the order
manager. This module only answers: may one more order go now, and if not, when is the next slot.
A window of ``period`` at ``now`` holds the sends in ``(now - period, now]``: a send exactly
``period`` ago has left it. Cancels are sends too.

For Binance the limits come from ``exchangeInfo.rateLimits`` (ORDERS) less a headroom, and the
log must hold every order sent from the same egress IP, since every account behind it shares them.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from boltztrader.domain.enums import Broker
from boltztrader.risk.limits import Limits

__all__ = [
    "BINANCE_PUBLISHED_DEFAULT",
    "RateWindow",
    "Throttle",
    "expires_before_slot",
    "rate_windows",
    "with_headroom",
]


@dataclass(frozen=True, slots=True)
class RateWindow:
    """At most ``limit`` sends in any ``period``."""

    limit: int
    period: timedelta

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise ValueError(f"rate limit must be an int >= 1, got {self.limit!r}")
        if self.period <= timedelta(0):
            raise ValueError(f"rate period must be positive, got {self.period}")


#: Binance spot's production ORDERS limit per 10 s, used until exchangeInfo has been read.
BINANCE_PUBLISHED_DEFAULT: tuple[RateWindow, ...] = (RateWindow(100, timedelta(seconds=10)),)


def with_headroom(published: Iterable[RateWindow], headroom: Decimal) -> tuple[RateWindow, ...]:
    """The broker's published windows less ``headroom`` (0.2 keeps 80 %), never below one send."""
    keep = Decimal(1) - headroom
    return tuple(
        RateWindow(max(1, int((keep * w.limit).to_integral_value(ROUND_FLOOR))), w.period) for w in published
    )


def rate_windows(
    broker: Broker, limits: Limits, published: tuple[RateWindow, ...] = ()
) -> tuple[RateWindow, ...]:
    """The windows an account at ``broker`` must respect; ``published`` is Binance's exchangeInfo."""
    second, minute = timedelta(seconds=1), timedelta(minutes=1)
    if broker is Broker.ZERODHA:
        return (
            RateWindow(limits.kite_orders_per_second, second),
            RateWindow(limits.kite_orders_per_minute, minute),
        )
    if broker is Broker.ALPACA:
        return (
            RateWindow(limits.alpaca_orders_per_second, second),
            RateWindow(limits.alpaca_orders_per_minute, minute),
        )
    return with_headroom(published or BINANCE_PUBLISHED_DEFAULT, limits.binance_headroom)


@dataclass(frozen=True, slots=True)
class Throttle:
    """The sends of one account (or one Binance egress IP) against its windows; ``sent`` is sorted."""

    windows: tuple[RateWindow, ...]
    sent: tuple[datetime, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "sent", tuple(sorted(self.sent)))

    def count(self, window: RateWindow, now: datetime) -> int:
        """Sends inside ``(now - period, now]``."""
        return bisect.bisect_right(self.sent, now) - bisect.bisect_right(self.sent, now - window.period)

    def allow(self, now: datetime) -> bool:
        """True when one more send at ``now`` keeps every window within its limit."""
        return all(self.count(w, now) < w.limit for w in self.windows)

    def next_slot(self, now: datetime) -> datetime:
        """The earliest instant >= ``now`` at which ``allow`` is true (no further sends assumed)."""
        slot = now
        for window in self.windows:
            end = bisect.bisect_right(self.sent, now)
            start = bisect.bisect_right(self.sent, now - window.period)
            excess = (end - start) - window.limit
            if excess >= 0:
                # Once the (excess + 1) oldest sends in the window have left it, one more fits.
                slot = max(slot, self.sent[start + excess] + window.period)
        return slot

    def record(self, at: datetime) -> Throttle:
        """The throttle after a send at ``at``, forgetting sends older than the longest window."""
        longest = max((w.period for w in self.windows), default=timedelta(0))
        kept = [t for t in self.sent if t > at - longest]
        bisect.insort(kept, at)
        return Throttle(self.windows, tuple(kept))


def expires_before_slot(signal_created_at: datetime, slot: datetime, limits: Limits) -> bool:
    """True when the signal is stale (check 3) by the time its queued order's slot comes."""
    return slot - signal_created_at > limits.max_signal_age
