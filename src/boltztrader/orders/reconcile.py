"""Reconcile our rows with the broker: at start-up before an account trades, and continuously.

Start-up (reliability.md step 5), per account: ``pending_submit`` rows are sent (they were never
sent: ``submitting`` is committed before any send), ``submitting`` and ``unknown`` rows are
resolved by look-up, working rows are polled. Only then is the account ``ready`` for new signals.

The continuous pass compares ``list_open_orders()`` with our working rows. What is certain is
fixed: a broker report ahead of our row is applied (ours open, the broker's filled or cancelled);
a working row missing from the broker's open list is looked up by its broker id and takes the final
status found. The rest is flagged (audit ``reconcile.drift``): an order at the broker without our
row, a report our state machine cannot reach, an order of ours the broker cannot find.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.brokers.base import Broker
from boltztrader.db import orders as repo
from boltztrader.domain.clock import Clock
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import OrderReport
from boltztrader.errors import InvalidTransition, OrderNotFound
from boltztrader.orders.apply import apply_report, flag_drift, flag_foreign
from boltztrader.orders.manager import OrderManager

__all__ = ["WORKING", "Reconciler"]

log = logging.getLogger(__name__)

S = OrderStatus
WORKING = (S.OPEN, S.PARTIALLY_FILLED, S.PENDING_CANCEL)


class Reconciler:
    """Brings each account's rows in line with its broker."""

    def __init__(self, engine: AsyncEngine, brokers: Mapping[str, Broker], clock: Clock,
                 manager: OrderManager, *, actor: str = "reconcile") -> None:
        self._engine = engine
        self._brokers = brokers
        self._clock = clock
        self._manager = manager
        self._actor = actor
        self._ready: set[str] = set()

    def is_ready(self, account_id: str) -> bool:
        """True once ``startup`` has finished for the account: new signals may be routed to it."""
        return account_id in self._ready

    async def startup(self, account_id: str) -> list[repo.OrderRecord]:
        """Settle every non-terminal row of the account, then mark it ready; return the rows after."""
        async with self._engine.connect() as conn:
            rows = await repo.non_terminal(conn, account_id)
            await conn.rollback()
        for record in rows:
            if record.status is S.PENDING_SUBMIT:
                await self._manager.submit(record.id)
            elif record.status in (S.SUBMITTING, S.UNKNOWN):
                await self._manager.resolver.resolve(record.id)
        await self.sweep(account_id)
        self._ready.add(account_id)
        async with self._engine.connect() as conn:
            return [await repo.get(conn, record.id) for record in rows]

    async def sweep(self, account_id: str) -> None:
        """One continuous pass: the broker's open orders against our working rows (and one look-up
        for each ``unknown`` row, which the resolver may still be working on)."""
        broker = self._brokers[account_id]
        open_at_broker = await broker.list_open_orders()
        seen: set[str] = set()
        for report in open_at_broker:
            seen.add(report.broker_order_id)
            await self._apply(account_id, report)
        async with self._engine.connect() as conn:
            rows = await repo.non_terminal(conn, account_id, statuses=[*WORKING, S.UNKNOWN])
            await conn.rollback()
        for record in rows:
            if record.status is S.UNKNOWN:
                await self._manager.resolver.resolve(record.id, give_up_after=0)
            elif record.broker_order_id not in seen:
                await self._poll(record)

    async def _poll(self, record: repo.OrderRecord) -> None:
        broker = self._brokers[record.account_id]
        try:
            if record.broker_order_id is not None:
                report = await broker.get_order(record.symbol, broker_order_id=record.broker_order_id)
            else:
                report = await broker.get_order(record.symbol, client_order_id=record.client_order_id)
        except OrderNotFound:
            async with self._engine.begin() as conn:
                await flag_drift(conn, chain=record.chain, account_id=record.account_id, entity_id=record.id,
                                 reason="working order not found at broker", actor=self._actor,
                                 now=self._clock.now())
            return
        await self._apply(record.account_id, report)

    async def _apply(self, account_id: str, report: OrderReport) -> None:
        now = self._clock.now()
        async with self._engine.begin() as conn:
            record = await repo.find_reported(conn, account_id, broker_order_id=report.broker_order_id,
                                              client_order_id=report.client_order_id)
            if record is None:
                await flag_foreign(conn, account_id, report, actor=self._actor, now=now)
                return
            if record.status is S.PENDING_SUBMIT or record.status is S.SUBMITTING:
                return  # the manager is sending it right now; its own outcome settles it
            try:
                await apply_report(conn, record, report, actor=self._actor, now=now)
            except InvalidTransition as exc:
                await flag_drift(conn, chain=record.chain, account_id=account_id, entity_id=record.id,
                                 reason=str(exc), actor=self._actor, now=now,
                                 detail={"broker_status": report.raw_status})
