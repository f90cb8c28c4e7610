"""Market sessions by the clock: NSE in IST, New York with its daylight saving switch, crypto always."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from boltztrader.domain.enums import Market
from boltztrader.risk.context import MarketSession
from boltztrader.risk.market_hours import session_at, us_eastern_offset

REG, EXT, CLOSED = MarketSession.REGULAR, MarketSession.EXTENDED, MarketSession.CLOSED


@pytest.mark.parametrize(
    ("instant", "offset_hours"),
    [
        (datetime(2025, 3, 9, 6, 59, 59, tzinfo=UTC), -5),  # 01:59:59 EST, before the spring switch
        (datetime(2025, 3, 9, 7, 0, tzinfo=UTC), -4),  # 03:00 EDT
        (datetime(2025, 11, 2, 5, 59, 59, tzinfo=UTC), -4),  # 01:59:59 EDT
        (datetime(2025, 11, 2, 6, 0, tzinfo=UTC), -5),  # back to EST
    ],
)
def test_new_york_daylight_saving_boundaries(instant: datetime, offset_hours: int) -> None:
    """The offset switches at 02:00 local on the second Sunday of March and the first of November."""
    assert us_eastern_offset(instant) == timedelta(hours=offset_hours)


@pytest.mark.parametrize(
    ("market", "instant", "session"),
    [
        (Market.US, datetime(2025, 7, 1, 13, 30, tzinfo=UTC), REG),  # 09:30 EDT
        (Market.US, datetime(2025, 7, 1, 13, 29, 59, tzinfo=UTC), EXT),
        (Market.US, datetime(2025, 1, 15, 21, 0, tzinfo=UTC), EXT),  # 16:00 EST
        (Market.US, datetime(2025, 1, 16, 1, 0, tzinfo=UTC), CLOSED),  # 20:00 EST
        (Market.US, datetime(2025, 1, 18, 15, 0, tzinfo=UTC), CLOSED),  # Saturday
        (Market.NSE, datetime(2025, 1, 15, 3, 45, tzinfo=UTC), REG),  # 09:15 IST
        (Market.NSE, datetime(2025, 1, 15, 9, 59, 59, tzinfo=UTC), REG),
        (Market.NSE, datetime(2025, 1, 15, 10, 0, tzinfo=UTC), CLOSED),  # 15:30 IST
        (Market.NFO, datetime(2025, 1, 19, 5, 0, tzinfo=UTC), CLOSED),  # Sunday
        (Market.CRYPTO, datetime(2025, 1, 19, 5, 0, tzinfo=UTC), REG),
    ],
)
def test_sessions_at_their_edges(market: Market, instant: datetime, session: MarketSession) -> None:
    """Each market is in the expected session at the edges of its hours."""
    assert session_at(market, instant) is session
