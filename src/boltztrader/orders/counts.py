"""Counts for monitoring: orders by status and signals by source, in one short read.

Two GROUP BYs over the whole tables, no row data: cheap enough for a scrape every few seconds,
and the caller (``/metrics``) caches the answer briefly so that a burst of scrapes costs one read.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db.tables import broker_orders, signals

__all__ = ["Counts", "counts"]


@dataclass(frozen=True, slots=True)
class Counts:
    orders_by_status: dict[str, int]
    signals_by_source: dict[str, int]


async def counts(engine: AsyncEngine) -> Counts:
    """How many orders are in each status, and how many signals each source sent."""
    async with engine.connect() as conn:
        by_status = await conn.execute(
            select(broker_orders.c.status, func.count()).group_by(broker_orders.c.status))
        orders = {str(status): int(n) for status, n in by_status}
        by_source = await conn.execute(select(signals.c.source, func.count()).group_by(signals.c.source))
        received = {str(source): int(n) for source, n in by_source}
        await conn.rollback()
    return Counts(orders, received)
