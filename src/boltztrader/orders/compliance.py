"""What a compliance officer (an admin) reads across every user: orders, denials, kill-switch history.

Every list is newest first and keyset-paged on its sort key, so a page stays stable while rows
are added. Denials carry the risk guard's verdicts from the audit (the latest ``risk.decision``,
or ``order.approval_denied`` when an approval's re-check denied it); the kill-switch history is
the audit's ``killswitch.engaged`` / ``killswitch.released`` entries on every chain.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db.tables import audit_ledger, broker_orders

__all__ = ["Denial", "OrderRow", "SwitchChange", "denials", "killswitch_history", "orders"]

_ORDERS = broker_orders.c
_LEDGER = audit_ledger.c
DENIED = "denied"
JUDGEMENTS = ("risk.decision", "order.approval_denied")
SWITCH_ACTIONS = ("killswitch.engaged", "killswitch.released")
SWITCH_ENTITY = "trading_state"

_ORDER_COLUMNS = (
    "id", "user_id", "account_id", "broker", "signal_id", "client_order_id", "broker_order_id", "symbol",
    "market", "side", "order_type", "time_in_force", "quantity", "price", "trigger_price", "status",
    "broker_status", "filled_quantity", "average_price", "reject_reason", "mode", "created_at", "updated_at",
)


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: str
    user_id: str
    account_id: str
    broker: str
    signal_id: str | None
    client_order_id: str
    broker_order_id: str | None
    symbol: str
    market: str
    side: str
    order_type: str
    time_in_force: str
    quantity: Decimal
    price: Decimal | None
    trigger_price: Decimal | None
    status: str
    broker_status: str | None
    filled_quantity: Decimal
    average_price: Decimal | None
    reject_reason: str | None
    mode: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Denial:
    order: OrderRow
    reasons: tuple[str, ...]
    verdicts: tuple[dict[str, Any], ...]  # every rule's verdict as the audit recorded it
    judged_by: str | None  # the audit action the verdicts come from


@dataclass(frozen=True, slots=True)
class SwitchChange:
    chain: str
    seq: int
    at: datetime
    actor: str
    action: str
    scope: str
    scope_id: str
    state: str
    previous: str | None
    reason: str


def _newest_first_after(time_column: Any, id_column: Any, after: tuple[datetime, str] | None) -> Any:
    if after is None:
        return None
    return or_(time_column < after[0], and_(time_column == after[0], id_column < after[1]))


async def orders(engine: AsyncEngine, *, user_id: str | None = None, status: str | None = None,
                 after: tuple[datetime, str] | None = None, limit: int = 50) -> list[OrderRow]:
    """Every user's orders, newest first (by created_at, then id), optionally of one user or status."""
    statement = select(*(broker_orders.c[name] for name in _ORDER_COLUMNS))
    if user_id is not None:
        statement = statement.where(_ORDERS.user_id == user_id)
    if status is not None:
        statement = statement.where(_ORDERS.status == status)
    keyset = _newest_first_after(_ORDERS.created_at, _ORDERS.id, after)
    if keyset is not None:
        statement = statement.where(keyset)
    async with engine.connect() as conn:
        newest_first = statement.order_by(_ORDERS.created_at.desc(), _ORDERS.id.desc())
        rows = await conn.execute(newest_first.limit(limit))
        found = [OrderRow(**row._mapping) for row in rows]
        await conn.rollback()
    return found


async def denials(engine: AsyncEngine, *, after: tuple[datetime, str] | None = None,
                  limit: int = 50) -> list[Denial]:
    """Every denied order, newest first, with its reason codes and the guard's verdicts."""
    found = await orders(engine, status=DENIED, after=after, limit=limit)
    judgements = await _judgements(engine, [row.id for row in found])
    result = []
    for row in found:
        reasons = tuple(row.reject_reason.split(", ")) if row.reject_reason else ()
        action, payload = judgements.get(row.id, (None, {}))
        verdicts = tuple(v for v in payload.get("verdicts", ()) if isinstance(v, dict))
        result.append(Denial(row, reasons, verdicts, action))
    return result


async def _judgements(engine: AsyncEngine, order_ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The latest judging audit entry of each order: its action and payload."""
    if not order_ids:
        return {}
    statement = (select(_LEDGER.entity_id, _LEDGER.action, _LEDGER.payload)
                 .where(_LEDGER.entity == "order", _LEDGER.entity_id.in_(list(order_ids)),
                        _LEDGER.action.in_(JUDGEMENTS))
                 .order_by(_LEDGER.recorded_at, _LEDGER.seq))
    async with engine.connect() as conn:
        rows = list(await conn.execute(statement))
        await conn.rollback()
    latest: dict[str, tuple[str, dict[str, Any]]] = {}
    for row in rows:  # in time order: a later judgement replaces an earlier one
        payload = json.loads(row.payload)
        latest[row.entity_id] = (row.action, payload if isinstance(payload, dict) else {})
    return latest


async def killswitch_history(engine: AsyncEngine, *, after: tuple[datetime, str, int] | None = None,
                             limit: int = 50) -> list[SwitchChange]:
    """Every kill-switch change on every chain, newest first (by time, then chain and seq)."""
    statement = select(audit_ledger).where(_LEDGER.entity == SWITCH_ENTITY,
                                           _LEDGER.action.in_(SWITCH_ACTIONS))
    if after is not None:
        at, chain, seq = after
        statement = statement.where(or_(
            _LEDGER.recorded_at < at,
            and_(_LEDGER.recorded_at == at, or_(_LEDGER.chain < chain,
                                                and_(_LEDGER.chain == chain, _LEDGER.seq < seq)))))
    statement = statement.order_by(_LEDGER.recorded_at.desc(), _LEDGER.chain.desc(), _LEDGER.seq.desc())
    async with engine.connect() as conn:
        rows = list(await conn.execute(statement.limit(limit)))
        await conn.rollback()
    changes = []
    for row in rows:
        payload = json.loads(row.payload)
        previous = payload.get("previous")
        changes.append(SwitchChange(
            chain=row.chain, seq=row.seq, at=row.recorded_at, actor=row.actor, action=row.action,
            scope=str(payload.get("scope", "")), scope_id=str(payload.get("scope_id", "")),
            state=str(payload.get("state", "")), previous=None if previous is None else str(previous),
            reason=str(payload.get("reason", ""))))
    return changes
