"""Regular and extended trading hours by region, from the clock alone (holidays are the caller's).

NSE trades 09:15-15:30 IST (no daylight saving). US regular hours are 09:30-16:00 New York time,
extended 04:00-09:30 and 16:00-20:00; daylight saving is computed here (second Sunday of March to
first Sunday of November, at 02:00 local) so that no time zone database is needed. Crypto never
closes. Sessions are half-open: 15:30:00 IST is already closed.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from boltztrader.domain.clock import utc
from boltztrader.domain.enums import Market, Region
from boltztrader.risk.context import MarketSession

__all__ = ["IST", "session_at", "us_eastern_offset"]

IST = timezone(timedelta(hours=5, minutes=30))
_SUNDAY = 6


def _nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(_SUNDAY - first.weekday()) % 7 + 7 * (n - 1))


def us_eastern_offset(instant: datetime) -> timedelta:
    """New York's UTC offset at ``instant``: -4 h in daylight saving time, else -5 h."""
    at = utc(instant).replace(tzinfo=None)
    year = at.year
    starts = datetime.combine(_nth_sunday(year, 3, 2), time(7))  # 02:00 EST
    ends = datetime.combine(_nth_sunday(year, 11, 1), time(6))  # 02:00 EDT
    return timedelta(hours=-4) if starts <= at < ends else timedelta(hours=-5)


def session_at(market: Market, now: datetime) -> MarketSession:
    """The session of ``market`` at ``now`` by the clock (weekends closed; holidays not known)."""
    region = market.region
    if region is Region.CRYPTO:
        return MarketSession.REGULAR
    if region is Region.INDIA:
        local = utc(now).astimezone(IST)
        if local.weekday() < 5 and time(9, 15) <= local.time() < time(15, 30):
            return MarketSession.REGULAR
        return MarketSession.CLOSED
    local = utc(now).astimezone(timezone(us_eastern_offset(now)))
    if local.weekday() >= 5:
        return MarketSession.CLOSED
    clock = local.time()
    if time(9, 30) <= clock < time(16):
        return MarketSession.REGULAR
    if time(4) <= clock < time(20):
        return MarketSession.EXTENDED
    return MarketSession.CLOSED
