"""Semi-manual mode: a human approves or declines an intent; approvals expire after a TTL.

``approve`` takes only a ``pending_approval`` order and judges it again with every risk check,
on a fresh quote and balance (``Planner.recheck``: the intake's own planning). Allowed, it becomes
``pending_submit`` (audit ``order.approved`` with every verdict) and goes to the order manager;
refused, it becomes ``denied`` with its reasons (audit ``order.approval_denied``) and nothing is
sent. A market order is collared around the fresh price, so the stored limit may move: the new
one is written in the approval's transaction and named in its audit entry. An approval that comes
after the TTL declines the order instead (``approval_expired``), as ``expire`` does in bulk.

Who may approve which order is the API's concern; here ``actor`` is recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.db import orders as repo
from boltztrader.db.audit import log_audit
from boltztrader.db.tables import broker_orders
from boltztrader.domain.clock import Clock
from boltztrader.domain.enums import OrderType
from boltztrader.domain.order_states import OrderEvent, OrderStatus
from boltztrader.errors import InvalidTransition
from boltztrader.risk import Decision, Limits, approval_expired

__all__ = ["Approvals", "Planner", "Submitter"]

SYSTEM = "system"


class Planner(Protocol):
    """What approval needs of the intake (``orders.intake.Intake`` is one)."""

    async def recheck(self, record: repo.OrderRecord, now: datetime) -> Decision: ...

    async def limits_for(self, user_id: str, account_id: str) -> Limits: ...


class Submitter(Protocol):
    """What approval needs of the order manager (``orders.manager.OrderManager`` is one)."""

    async def submit(self, order_id: str) -> repo.OrderRecord: ...


class Approvals:
    def __init__(self, engine: AsyncEngine, planner: Planner, manager: Submitter, clock: Clock) -> None:
        self._engine = engine
        self._planner = planner
        self._manager = manager
        self._clock = clock

    async def approve(self, order_id: str, *, actor: str) -> repo.OrderRecord:
        """Judge the order again and send it if allowed; its row once settled (denied, declined, sent).

        ``InvalidTransition`` when the order is not ``pending_approval`` (nothing is checked or sent);
        ``OrderNotFound`` when there is no such order.
        """
        record = await self._get(order_id)
        _require_pending(record, OrderEvent.APPROVE)
        now = self._clock.now()
        limits = await self._planner.limits_for(record.user_id, record.account_id)
        if approval_expired(record.created_at, now, limits):
            async with self._engine.begin() as conn:
                return await _expire(conn, order_id, limits, now)
        decision = await self._planner.recheck(record, now)
        async with self._engine.begin() as conn:
            current = await repo.get(conn, order_id)
            _require_pending(current, OrderEvent.APPROVE)  # someone else decided meanwhile
            if not decision.allowed:
                return await _deny(conn, current, decision, actor=actor, now=now)
            changed = await _as_judged(conn, current, decision, now)
            await log_audit(conn, "order", order_id, "order.approved", actor,
                            {"verdicts": _verdicts(decision), "changed": changed},
                            chain=current.chain, now=now)
            await repo.transition(conn, order_id, OrderEvent.APPROVE, actor=actor, now=now)
        return await self._manager.submit(order_id)

    async def decline(self, order_id: str, *, actor: str, reason: str = "") -> repo.OrderRecord:
        """Decline a ``pending_approval`` order (audit ``order.declined``); a second decline is a no-op."""
        now = self._clock.now()
        async with self._engine.begin() as conn:
            current = await repo.get(conn, order_id)
            if current.status is OrderStatus.DECLINED:
                return current
            _require_pending(current, OrderEvent.DECLINE)
            await log_audit(conn, "order", order_id, "order.declined", actor, {"reason": reason},
                            chain=current.chain, now=now)
            return await repo.transition(conn, order_id, OrderEvent.DECLINE, actor=actor, current=current,
                                         now=now, reject_reason=reason or "declined")

    async def expire(self, now: datetime | None = None) -> list[str]:
        """Decline every ``pending_approval`` order older than its account's approval TTL; their ids."""
        now = now or self._clock.now()
        async with self._engine.connect() as conn:
            waiting = await repo.non_terminal(conn)
            await conn.rollback()
        limits: dict[tuple[str, str], Limits] = {}
        due: list[tuple[str, Limits]] = []
        for row in waiting:
            if row.status is not OrderStatus.PENDING_APPROVAL:
                continue
            key = (row.user_id, row.account_id)
            if key not in limits:
                limits[key] = await self._planner.limits_for(*key)
            if approval_expired(row.created_at, now, limits[key]):
                due.append((row.id, limits[key]))
        expired: list[str] = []
        for order_id, account_limits in due:
            async with self._engine.begin() as conn:
                try:
                    await _expire(conn, order_id, account_limits, now)
                except InvalidTransition:  # approved or declined since we looked
                    continue
            expired.append(order_id)
        return expired

    async def _get(self, order_id: str) -> repo.OrderRecord:
        async with self._engine.connect() as conn:
            record = await repo.get(conn, order_id)
            await conn.rollback()
        return record


def _require_pending(record: repo.OrderRecord, event: OrderEvent) -> None:
    if record.status is not OrderStatus.PENDING_APPROVAL:
        raise InvalidTransition(str(record.status), str(event), f"order {record.id} is not awaiting approval")


async def _expire(conn: AsyncConnection, order_id: str, limits: Limits, now: datetime) -> repo.OrderRecord:
    seconds = int(limits.approval_ttl.total_seconds())
    current = await repo.get(conn, order_id)
    _require_pending(current, OrderEvent.APPROVAL_EXPIRED)
    return await repo.transition(conn, order_id, OrderEvent.APPROVAL_EXPIRED, actor=SYSTEM, current=current,
                                 now=now, reject_reason=f"approval expired after {seconds} s")


async def _deny(conn: AsyncConnection, record: repo.OrderRecord, decision: Decision, *, actor: str,
                now: datetime) -> repo.OrderRecord:
    reasons = [str(r) for r in decision.reasons]
    await log_audit(conn, "order", record.id, "order.approval_denied", "risk-guard",
                    {"approver": actor, "reasons": reasons, "verdicts": _verdicts(decision)},
                    chain=record.chain, now=now)
    return await repo.transition(conn, record.id, OrderEvent.DENY, actor="risk-guard", current=record,
                                 now=now, reject_reason=", ".join(reasons))


async def _as_judged(conn: AsyncConnection, record: repo.OrderRecord, decision: Decision,
                     now: datetime) -> dict[str, object]:
    """Make the stored intent the order the guard just allowed (a re-collared price); what changed."""
    order = decision.order
    judged: dict[str, object] = {
        "order_type": str(order.order_type),
        "time_in_force": str(order.time_in_force),
        "quantity": order.quantity,
        "price": order.limit_price if order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
        "trigger_price": order.trigger_price,
    }
    changed = {name: value for name, value in judged.items() if getattr(record, name) != value}
    if not changed:
        return {}
    moved = await conn.execute(
        update(broker_orders)
        .where(broker_orders.c.id == record.id, broker_orders.c.version == record.version,
               broker_orders.c.status == str(OrderStatus.PENDING_APPROVAL))
        .values(**changed, version=record.version + 1, updated_at=now)
    )
    if moved.rowcount != 1:
        raise InvalidTransition(str(record.status), str(OrderEvent.APPROVE),
                                f"order {record.id} moved meanwhile")
    return {name: {"from": getattr(record, name), "to": value} for name, value in changed.items()}


def _verdicts(decision: Decision) -> list[dict[str, object]]:
    return [
        {"rule": str(v.rule), "passed": v.passed, "reason": None if v.reason is None else str(v.reason),
         "detail": v.detail}
        for v in decision.verdicts
    ]
