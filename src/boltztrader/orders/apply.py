"""Bring one order row in line with what the broker says about it (a look-up, a poll, a stream event).

The broker's report is news only where it is ahead of us: a cumulative fill above ours, a status
our table reaches from where we are. Reports that are behind (a late ``open`` after a fill, a
smaller cumulative quantity) change nothing. A report our table cannot reach at all (the broker
says ``cancelled`` for an order we hold as ``filled``) raises ``InvalidTransition``: the caller
flags it as drift rather than guessing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from boltztrader.db import orders as repo
from boltztrader.db.audit import log_audit
from boltztrader.db.tables import broker_accounts
from boltztrader.domain.order_states import TRANSITIONS, OrderEvent, OrderStatus, is_stale
from boltztrader.domain.reports import OrderReport
from boltztrader.errors import InvalidTransition

__all__ = ["account_chain", "apply_report", "flag_drift", "flag_foreign", "report_event"]

S = OrderStatus
E = OrderEvent

_FINAL_EVENTS = {S.CANCELLED: E.CANCELLED, S.EXPIRED: E.EXPIRED, S.REJECTED: E.REJECTED}
_UNSETTLED = frozenset({S.SUBMITTING, S.UNKNOWN})


def report_event(current: OrderStatus, reported: OrderStatus, *,
                 resolving: bool = False) -> OrderEvent | None:
    """The non-fill event that a reported status means for an order in ``current`` (None: no news)."""
    if reported in _FINAL_EVENTS:
        return _FINAL_EVENTS[reported]
    if reported is S.PENDING_CANCEL and current in (S.OPEN, S.PARTIALLY_FILLED):
        return E.CANCEL_REQUESTED
    if current in _UNSETTLED:
        # The broker holds it (open, or fills we apply separately): it was accepted.
        return E.RESOLVED_OPEN if resolving and current is S.UNKNOWN else E.ACCEPTED
    return None


async def apply_report(conn: AsyncConnection, record: repo.OrderRecord, report: OrderReport, *, actor: str,
                       now: datetime | None = None, resolving: bool = False) -> repo.OrderRecord:
    """Apply ``report`` to ``record`` in the caller's transaction: fills first, then the status."""
    details: dict[str, Any] = {"broker_order_id": report.broker_order_id, "broker_status": report.raw_status}
    if report.filled_quantity > record.filled_quantity:
        if record.status in _UNSETTLED:
            record = await repo.transition(conn, record.id, E.ACCEPTED, actor=actor, current=record, now=now,
                                           **details)
        record = await repo.transition(
            conn, record.id, E.PARTIAL_FILL, actor=actor, current=record, now=now,
            filled_quantity=report.filled_quantity, average_price=report.average_price, **details)
    event = report_event(record.status, report.status, resolving=resolving)
    if event is None:
        if record.broker_order_id is None:  # learn the broker's id even when the status is no news
            record = await repo.transition(conn, record.id, E.ACCEPTED, actor=actor, current=record, now=now,
                                           **details)
        return record
    if event is E.REJECTED and report.reject_reason:
        details["reject_reason"] = report.reject_reason
    if not is_stale(record.status, event) and (record.status, event) not in TRANSITIONS:
        raise InvalidTransition(str(record.status), str(event), "the broker's report disagrees with our row")
    return await repo.transition(conn, record.id, event, actor=actor, current=record, now=now, **details)


async def flag_drift(conn: AsyncConnection, *, chain: str, account_id: str, entity_id: str, reason: str,
                     actor: str, detail: dict[str, object] | None = None,
                     now: datetime | None = None) -> None:
    """Record a disagreement with the broker that we do not fix by ourselves (audit ``reconcile.drift``)."""
    payload: dict[str, object] = {"account_id": account_id, "reason": reason, **(detail or {})}
    await log_audit(conn, "order", entity_id, "reconcile.drift", actor, payload, chain=chain, now=now)


async def account_chain(conn: AsyncConnection, account_id: str) -> str:
    """The audit chain of the user who owns ``account_id``."""
    user_id = (await conn.execute(
        select(broker_accounts.c.user_id).where(broker_accounts.c.id == account_id))).scalar_one()
    return f"user:{user_id}"


async def flag_foreign(conn: AsyncConnection, account_id: str, report: OrderReport, *, actor: str,
                       now: datetime | None = None) -> None:
    """Flag an order the broker holds for the account that has no row of ours (never invent one)."""
    detail: dict[str, object] = {
        "broker_order_id": report.broker_order_id, "client_order_id": report.client_order_id,
        "symbol": report.symbol, "broker_status": report.raw_status,
    }
    await flag_drift(conn, chain=await account_chain(conn, account_id), account_id=account_id,
                     entity_id=f"{account_id}:{report.broker_order_id}",
                     reason="broker order without our row", actor=actor, now=now, detail=detail)
