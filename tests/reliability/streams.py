"""Running an account's stream ingestor (with reconcile on gaps) for the duration of a test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

from sqlalchemy import func, select

from boltztrader.db.tables import fills, order_events
from boltztrader.domain.clock import SystemClock
from boltztrader.orders.ingest import Ingestor
from boltztrader.orders.reconcile import Reconciler

from .conftest import Rig


def stream_has_fills(rig: Rig) -> bool:
    """Kite's order updates carry no execution (no trade id): its fills arrive as cumulative totals."""
    return rig.harness.name != "kite"


def reconciler(rig: Rig) -> Reconciler:
    return Reconciler(rig.engine, {rig.account_id: rig.broker}, SystemClock(), rig.manager)


@asynccontextmanager
async def ingesting(rig: Rig) -> AsyncIterator[Ingestor]:
    """Consume the account's stream in a task; StreamGap runs a reconcile sweep."""
    ingestor = Ingestor(rig.engine, rig.account_id, rig.broker, SystemClock(), on_gap=reconciler(rig).sweep)
    task = asyncio.create_task(ingestor.run())
    try:
        yield ingestor
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def fill_total(rig: Rig, order_id: str) -> Decimal:
    async with rig.engine.connect() as conn:
        rows = await conn.execute(select(fills.c.quantity).where(fills.c.order_id == order_id))
        return sum((q for (q,) in rows), Decimal(0))


async def wait_stream_up(rig: Rig, *, seconds: float = 15) -> None:
    """Submit market orders until the stream has written a fill or an event for one of them."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        order_id = await rig.new_intent()
        await rig.manager.submit(order_id)
        for _ in range(20):
            async with rig.engine.connect() as conn:
                count = (await conn.execute(select(func.count()).select_from(fills).where(
                    fills.c.order_id == order_id))).scalar_one()
                count += (await conn.execute(select(func.count()).select_from(order_events).where(
                    order_events.c.order_id == order_id, order_events.c.actor == "ingest"))).scalar_one()
            if count:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the stream delivered nothing")
