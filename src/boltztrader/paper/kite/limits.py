"""Kite's documented rate limits, counted per api_key in calendar windows (server wall time).

Orders: 10/s, 400/min, 5,000/day (placements only; modify and cancel count as "other" calls).
Quotes: 1 request/s. Everything else authenticated: 10 requests/s. Breaches answer 429
NetworkException ``Too many requests`` (the day cap: ``Maximum allowed order requests exceeded``).
Modifications: 25 per order. ``PUT /_paper/limits`` changes any of them; 0 switches one off.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from boltztrader.paper.kite import errors
from boltztrader.paper.kite.book import KiteAccount
from boltztrader.paper.kite.wire import IST


@dataclass(slots=True)
class Limits:
    orders_per_second: int = 10
    orders_per_minute: int = 400
    orders_per_day: int = 5000
    modifications_per_order: int = 25
    quotes_per_second: int = 1
    others_per_second: int = 10

    @classmethod
    def unlimited(cls) -> Limits:
        """No request or order rate limit (``VenueConfig.rate_limits`` off); the modify cap stays."""
        return cls(orders_per_second=0, orders_per_minute=0, orders_per_day=0, quotes_per_second=0,
                   others_per_second=0)

    def to_json(self) -> dict[str, int]:
        return asdict(self)

    def update(self, body: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        for key, value in body.items():
            if key not in known:
                raise ValueError(f"unknown limit {key!r} (known: {', '.join(sorted(known))})")
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{key} must be a non-negative integer (0 = no limit)")
        for key, value in body.items():
            setattr(self, key, value)


def _take(state: KiteAccount, name: str, window: int, cap: int) -> bool:
    """Count one call in ``name``'s current window; False when the cap is already reached."""
    if cap <= 0:
        return True
    slot = state.limits.get(name)
    if slot is None or slot[0] != window:
        state.limits[name] = [window, 1]
        return True
    if slot[1] >= cap:
        return False
    slot[1] += 1
    return True


def too_many() -> errors.KiteError:
    return errors.KiteError(429, "NetworkException", errors.TOO_MANY)


def check_order(limits: Limits, state: KiteAccount, now: datetime) -> None:
    second = int(time.time())
    if not _take(state, "order_s", second, limits.orders_per_second):
        raise too_many()
    if not _take(state, "order_m", second // 60, limits.orders_per_minute):
        raise too_many()
    if not _take(state, "order_d", now.astimezone(IST).date().toordinal(), limits.orders_per_day):
        raise errors.KiteError(429, "NetworkException", errors.DAY_CAP)


def check_quote(limits: Limits, state: KiteAccount) -> None:
    if not _take(state, "quote_s", int(time.time()), limits.quotes_per_second):
        raise too_many()


def check_other(limits: Limits, state: KiteAccount) -> None:
    if not _take(state, "other_s", int(time.time()), limits.others_per_second):
        raise too_many()
