"""Cancelling one order on request: withdrawn here if never sent, cancelled at its broker if working.

- An intent not yet sent (``pending_submit``, ``pending_approval``) ends here, with no broker call:
  ``cancelled`` (event ``cancelled``) or ``declined`` (event ``decline``), the reason kept.
- A working order (``open``, ``partially_filled``; or ``pending_cancel`` again, which re-sends a
  cancel that got no answer) is first committed ``pending_cancel`` (audited), then cancelled at the
  broker, whose answer is applied as any report is (``orders.apply``): a fill that raced the cancel
  is kept, and a cancel that came too late leaves the order ``filled``.
- The broker refused the cancel or was not reached (``BrokerRejected``, ``OrderNotFound``,
  ``BrokerUnavailable``): nothing was cancelled, so the order is looked up. Finished meanwhile, it
  takes its final status and is returned; still working, it goes back to ``open`` (or
  ``partially_filled``) through ``cancel_rejected``, and the refusal is raised. When the look-up
  fails too, or the cancel's outcome is unknown, the row stays ``pending_cancel`` for the
  reconcile (or another cancel) and the error is raised.
- Any other status (``submitting``, ``unknown``: being sent; or terminal) raises
  ``InvalidTransition``.

The kill switch cancels in bulk with the same steps, and keeps going where one order fails.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.brokers.base import Broker
from boltztrader.db import orders as repo
from boltztrader.domain.clock import Clock
from boltztrader.domain.order_states import OrderEvent, OrderStatus
from boltztrader.domain.reports import OrderReport
from boltztrader.errors import (
    AccountNotFound,
    BrokerRejected,
    BrokerUnavailable,
    InvalidTransition,
    OrderNotFound,
    TradingError,
)
from boltztrader.orders.apply import apply_report, flag_drift

__all__ = ["CANCELLABLE", "REASON", "cancel_at_broker", "cancel_order", "withdraw"]

log = logging.getLogger(__name__)

S = OrderStatus
E = OrderEvent
REASON = "cancelled on request"
NOT_SENT: Mapping[OrderStatus, OrderEvent] = {S.PENDING_SUBMIT: E.CANCELLED, S.PENDING_APPROVAL: E.DECLINE}
WORKING = frozenset({S.OPEN, S.PARTIALLY_FILLED, S.PENDING_CANCEL})
#: The statuses ``cancel_order`` acts on.
CANCELLABLE = frozenset({*NOT_SENT, *WORKING})
# Errors after which the broker certainly did not cancel: a look-up tells what the order is now.
_NOT_CANCELLED = (BrokerRejected, OrderNotFound, BrokerUnavailable)


async def cancel_order(engine: AsyncEngine, brokers: Mapping[str, Broker], clock: Clock, order_id: str, *,
                       actor: str, reason: str = REASON) -> repo.OrderRecord:
    """Cancel the order as the module says; its row after (``OrderNotFound`` when there is none)."""
    record = await _read(engine, order_id)
    if record.status in NOT_SENT:
        withdrawn = await withdraw(engine, clock, record, actor=actor, reason=reason)
        if withdrawn is not None:
            return withdrawn
        record = await _read(engine, order_id)  # a worker took it meanwhile
    if record.status not in WORKING:
        detail = ("it is being sent: cancel it once the broker has it"
                  if record.status in (S.SUBMITTING, S.UNKNOWN) else f"order {order_id} has finished")
        raise InvalidTransition(str(record.status), str(E.CANCEL_REQUESTED), detail)
    try:
        broker = brokers[record.account_id]
    except KeyError:
        raise AccountNotFound(f"account {record.account_id} has no broker loaded") from None
    return await cancel_at_broker(engine, broker, clock, record, actor=actor, reason=reason)


async def withdraw(engine: AsyncEngine, clock: Clock, record: repo.OrderRecord, *, actor: str,
                   reason: str = REASON) -> repo.OrderRecord | None:
    """End an intent that was never sent (cancelled or declined); None when it moved on meanwhile."""
    async with engine.begin() as conn:
        try:
            return await repo.transition(conn, record.id, NOT_SENT[record.status], actor=actor,
                                         now=clock.now(), detail={"reason": reason}, reject_reason=reason)
        except InvalidTransition:
            return None


async def cancel_at_broker(engine: AsyncEngine, broker: Broker, clock: Clock, record: repo.OrderRecord, *,
                           actor: str, reason: str = REASON) -> repo.OrderRecord:
    """Commit ``pending_cancel``, ask the broker to cancel, record its answer; the row after.

    ``InvalidTransition`` when the order finished before ``pending_cancel`` could be written.
    """
    async with engine.begin() as conn:
        record = await repo.transition(conn, record.id, E.CANCEL_REQUESTED, actor=actor, now=clock.now(),
                                       detail={"reason": reason})
    ids = {"broker_order_id": record.broker_order_id, "client_order_id": record.client_order_id}
    try:
        report = await broker.cancel_order(record.symbol, **ids)
    except _NOT_CANCELLED as refused:
        log.warning("cancel of order %s not done at the broker (%s)", record.id, type(refused).__name__)
        return await _not_cancelled(engine, broker, clock, record, refused, actor=actor)
    return await apply_broker_report(engine, clock, record.id, report, actor=actor)


async def _not_cancelled(engine: AsyncEngine, broker: Broker, clock: Clock, record: repo.OrderRecord,
                         refused: TradingError, *, actor: str) -> repo.OrderRecord:
    """After a cancel that did not happen: the order's final row if it finished; else raise ``refused``."""
    ids = {"broker_order_id": record.broker_order_id, "client_order_id": record.client_order_id}
    try:
        report = await broker.get_order(record.symbol, **ids)
    except TradingError:
        raise refused from None  # stays pending_cancel: the reconcile (or a new cancel) settles it
    after = await apply_broker_report(engine, clock, record.id, report, actor=actor)
    if after.status is S.PENDING_CANCEL and report.status in (S.OPEN, S.PARTIALLY_FILLED):
        async with engine.begin() as conn:  # it works on at the broker: so it does here
            with contextlib.suppress(InvalidTransition):  # a report moved it meanwhile
                await repo.transition(conn, record.id, E.CANCEL_REJECTED, actor=actor, now=clock.now(),
                                      detail={"reason": type(refused).__name__})
        raise refused
    return after


async def apply_broker_report(engine: AsyncEngine, clock: Clock, order_id: str, report: OrderReport, *,
                              actor: str) -> repo.OrderRecord:
    """Record what the broker says of the order in one transaction; a report our table cannot reach
    is flagged as drift (the row stays as it is)."""
    async with engine.begin() as conn:
        current = await repo.get(conn, order_id)
        try:
            return await apply_report(conn, current, report, actor=actor, now=clock.now())
        except InvalidTransition as exc:
            await flag_drift(conn, chain=current.chain, account_id=current.account_id, entity_id=order_id,
                             reason=str(exc), actor=actor)
            return current


async def _read(engine: AsyncEngine, order_id: str) -> repo.OrderRecord:
    async with engine.connect() as conn:
        record = await repo.get(conn, order_id)
        await conn.rollback()
    return record
