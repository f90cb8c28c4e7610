"""Apply a broker's stream to our rows: order updates and fills in, gaps closed by polling.

Streams repeat themselves and arrive out of order; every event here is applied so that doing it
twice, or late, is harmless: fills are de-duplicated by broker trade id (``record_fill``),
cumulative quantities never move backwards, and a status that is behind ours is a no-op
(``orders.apply``). An order the broker reports that we have no row for is flagged (audit
``reconcile.drift``), never invented. A ``StreamGap`` triggers a reconcile pass of the account.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.brokers.base import Broker
from boltztrader.db import orders as repo
from boltztrader.domain.clock import Clock
from boltztrader.domain.reports import BrokerEvent, OrderUpdate, StreamGap
from boltztrader.errors import InvalidTransition
from boltztrader.orders.apply import apply_report, flag_drift, flag_foreign

__all__ = ["Ingestor"]

log = logging.getLogger(__name__)


class Ingestor:
    """Consumes one account's ``broker.events()`` and keeps its rows in step."""

    def __init__(self, engine: AsyncEngine, account_id: str, broker: Broker, clock: Clock, *,
                 on_gap: Callable[[str], Awaitable[object]] | None = None, actor: str = "ingest") -> None:
        self._engine = engine
        self._account_id = account_id
        self._broker = broker
        self._clock = clock
        self._on_gap = on_gap
        self._actor = actor
        self._flagged: set[str] = set()  # foreign broker orders already reported as drift

    async def run(self) -> None:
        """Apply events until the stream ends or the task is cancelled; one bad event never stops it."""
        async for event in self._broker.events():
            try:
                await self.handle(event)
            except Exception:
                log.exception("account %s: could not apply %s", self._account_id, type(event).__name__)

    async def handle(self, event: BrokerEvent) -> None:
        """Apply one stream event."""
        if isinstance(event, StreamGap):
            if self._on_gap is not None:
                await self._on_gap(self._account_id)
            return
        await self._update(event)

    async def _update(self, update: OrderUpdate) -> None:
        report = update.order
        now = self._clock.now()
        async with self._engine.begin() as conn:
            record = await repo.find_reported(conn, self._account_id, broker_order_id=report.broker_order_id,
                                              client_order_id=report.client_order_id)
            if record is None:
                await self._foreign(conn, update)
                return
            if update.fill is not None:
                try:
                    await repo.record_fill(conn, record.id, update.fill, actor=self._actor, now=now)
                except InvalidTransition as exc:
                    await flag_drift(conn, chain=record.chain, account_id=self._account_id,
                                     entity_id=record.id, reason=str(exc), actor=self._actor,
                                     detail={"broker_trade_id": update.fill.broker_trade_id}, now=now)
                record = await repo.get(conn, record.id)
            try:
                await apply_report(conn, record, report, actor=self._actor, now=now)
            except InvalidTransition as exc:
                await flag_drift(conn, chain=record.chain, account_id=self._account_id, entity_id=record.id,
                                 reason=str(exc), actor=self._actor,
                                 detail={"broker_status": report.raw_status}, now=now)

    async def _foreign(self, conn: AsyncConnection, update: OrderUpdate) -> None:
        broker_id = update.order.broker_order_id
        if broker_id in self._flagged:
            return
        self._flagged.add(broker_id)
        await flag_foreign(conn, self._account_id, update.order, actor=self._actor, now=self._clock.now())
