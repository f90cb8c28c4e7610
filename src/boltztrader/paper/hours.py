"""Market sessions. By default the paper markets never close, so a demo works at any hour;
with real hours each exchange keeps its own session (NSE 09:15-15:30 IST, US 09:30-16:00 ET
with extended hours 04:00-20:00, crypto always), weekends closed. Exchange holidays are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")
ET = ZoneInfo("America/New_York")


class Session(StrEnum):
    OPEN = "open"  # regular hours
    EXTENDED = "extended"  # US pre-market / after-hours
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class MarketHours:
    real_hours: bool = False

    def nse(self, now: datetime) -> Session:
        if not self.real_hours:
            return Session.OPEN
        local = now.astimezone(IST)
        if local.weekday() >= 5:
            return Session.CLOSED
        return Session.OPEN if time(9, 15) <= local.time() < time(15, 30) else Session.CLOSED

    def us(self, now: datetime) -> Session:
        if not self.real_hours:
            return Session.OPEN
        local = now.astimezone(ET)
        if local.weekday() >= 5:
            return Session.CLOSED
        if time(9, 30) <= local.time() < time(16, 0):
            return Session.OPEN
        if time(4, 0) <= local.time() < time(20, 0):
            return Session.EXTENDED
        return Session.CLOSED

    def crypto(self, now: datetime) -> Session:
        return Session.OPEN
