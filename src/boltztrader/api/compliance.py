"""``/v1/admin``: compliance views across every user (admins only; 403 for anyone else).

Every user's orders, every denial with the guard's reasons and verdicts, the kill-switch history
from the audit (who, when, which scope and level, why), and the audit ledger as a CSV download.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.api.auth import AdminPrincipal
from boltztrader.api.deps import Cursor, Limit, Page, decode_cursor, encode_cursor, engine_of
from boltztrader.domain.order_states import OrderStatus
from boltztrader.errors import InvalidInput
from boltztrader.orders import compliance
from boltztrader.orders.audit_log import export

__all__ = ["AdminOrderOut", "DenialOut", "SwitchChangeOut", "router"]

router = APIRouter(prefix="/v1/admin", tags=["compliance"])

CSV_COLUMNS = ("chain", "seq", "recorded_at", "actor", "action", "entity", "entity_id", "payload",
               "prev_hash", "hash")
CSV_ROWS_PER_CHUNK = 500


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


class AdminOrderOut(BaseModel):
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
    quantity: str
    price: str | None
    trigger_price: str | None
    status: str
    broker_status: str | None
    filled_quantity: str
    average_price: str | None
    reject_reason: str | None
    mode: str
    created_at: datetime
    updated_at: datetime


def _order_out(row: compliance.OrderRow) -> AdminOrderOut:
    return AdminOrderOut(
        id=row.id, user_id=row.user_id, account_id=row.account_id, broker=row.broker, signal_id=row.signal_id,
        client_order_id=row.client_order_id, broker_order_id=row.broker_order_id, symbol=row.symbol,
        market=row.market, side=row.side, order_type=row.order_type, time_in_force=row.time_in_force,
        quantity=format(row.quantity, "f"), price=_money(row.price), trigger_price=_money(row.trigger_price),
        status=row.status, broker_status=row.broker_status, filled_quantity=format(row.filled_quantity, "f"),
        average_price=_money(row.average_price), reject_reason=row.reject_reason, mode=row.mode,
        created_at=row.created_at, updated_at=row.updated_at)


class VerdictOut(BaseModel):
    rule: str
    passed: bool
    reason: str | None = None
    detail: str | None = None


class DenialOut(BaseModel):
    order_id: str
    user_id: str
    account_id: str
    signal_id: str | None
    symbol: str
    market: str
    side: str
    quantity: str
    created_at: datetime
    reasons: list[str] = Field(description="The risk guard's reason codes, e.g. MAX_NOTIONAL.")
    verdicts: list[VerdictOut] = Field(description="Every rule's verdict, from the audit.")
    judged_by: str | None = Field(description="The audit action the verdicts come from: risk.decision, or "
                                              "order.approval_denied for an approval's re-check.")


def _verdict(raw: dict[str, Any]) -> VerdictOut:
    detail = raw.get("detail")
    return VerdictOut(rule=str(raw.get("rule", "")), passed=bool(raw.get("passed")),
                      reason=None if raw.get("reason") is None else str(raw["reason"]),
                      detail=None if detail is None else str(detail))


class SwitchChangeOut(BaseModel):
    at: datetime
    actor: str = Field(description="Who set it: user:<id>, or the service's own actor.")
    action: str = Field(description="killswitch.engaged or killswitch.released")
    scope: str
    scope_id: str
    state: str
    previous: str | None
    reason: str
    chain: str
    seq: int


def _time_id_after(cursor: str | None) -> tuple[datetime, str] | None:
    key = decode_cursor(cursor)
    if key is None:
        return None
    try:
        at, last_id = key
        return datetime.fromisoformat(at), str(last_id)
    except (TypeError, ValueError):
        raise InvalidInput("cursor is not one this API returned", "cursor") from None


@router.get("/orders", response_model=Page[AdminOrderOut], summary="Every user's orders (admin)")
async def admin_orders(
    request: Request, principal: AdminPrincipal, limit: Limit = 50, cursor: Cursor = None,
    user_id: Annotated[str | None, Query(max_length=64, description="Only this user's orders.")] = None,
    status: Annotated[OrderStatus | None, Query(description="Only orders in this status.")] = None,
) -> Page[AdminOrderOut]:
    """Orders of every user, newest first, optionally of one user or in one status."""
    found = await compliance.orders(engine_of(request), user_id=user_id,
                                    status=None if status is None else status.value,
                                    after=_time_id_after(cursor), limit=limit + 1)
    items = found[:limit]
    next_cursor = (encode_cursor([items[-1].created_at.isoformat(), items[-1].id])
                   if len(found) > limit else None)
    return Page[AdminOrderOut](items=[_order_out(r) for r in items], next_cursor=next_cursor)


@router.get("/denials", response_model=Page[DenialOut], summary="Every denied order with its reasons (admin)")
async def admin_denials(request: Request, principal: AdminPrincipal, limit: Limit = 50,
                        cursor: Cursor = None) -> Page[DenialOut]:
    """Orders the risk guard denied, newest first, with the reason codes and every rule's verdict."""
    found = await compliance.denials(engine_of(request), after=_time_id_after(cursor), limit=limit + 1)
    items = found[:limit]
    next_cursor = (encode_cursor([items[-1].order.created_at.isoformat(), items[-1].order.id])
                   if len(found) > limit else None)
    out = [DenialOut(order_id=d.order.id, user_id=d.order.user_id, account_id=d.order.account_id,
                     signal_id=d.order.signal_id, symbol=d.order.symbol, market=d.order.market,
                     side=d.order.side, quantity=format(d.order.quantity, "f"), created_at=d.order.created_at,
                     reasons=list(d.reasons), verdicts=[_verdict(v) for v in d.verdicts],
                     judged_by=d.judged_by)
           for d in items]
    return Page[DenialOut](items=out, next_cursor=next_cursor)


def _switch_after(cursor: str | None) -> tuple[datetime, str, int] | None:
    key = decode_cursor(cursor)
    if key is None:
        return None
    try:
        at, chain, seq = key
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise TypeError(seq)
        return datetime.fromisoformat(at), str(chain), seq
    except (TypeError, ValueError):
        raise InvalidInput("cursor is not one this API returned", "cursor") from None


@router.get("/killswitch", response_model=Page[SwitchChangeOut], summary="Kill-switch history (admin)")
async def admin_killswitch(request: Request, principal: AdminPrincipal, limit: Limit = 50,
                           cursor: Cursor = None) -> Page[SwitchChangeOut]:
    """Every kill-switch change of every scope, newest first: who set which level, when and why."""
    found = await compliance.killswitch_history(engine_of(request), after=_switch_after(cursor),
                                                limit=limit + 1)
    items = found[:limit]
    last = items[-1] if items else None
    next_cursor = (encode_cursor([last.at.isoformat(), last.chain, last.seq])
                   if last is not None and len(found) > limit else None)
    out = [SwitchChangeOut(at=c.at, actor=c.actor, action=c.action, scope=c.scope, scope_id=c.scope_id,
                           state=c.state, previous=c.previous, reason=c.reason, chain=c.chain, seq=c.seq)
           for c in items]
    return Page[SwitchChangeOut](items=out, next_cursor=next_cursor)


async def _csv(engine: AsyncEngine, chain: str | None) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    rows = 0
    async for entry in export(engine, chain):
        writer.writerow((entry.chain, entry.seq, entry.recorded_at.isoformat(), entry.actor, entry.action,
                         entry.entity, entry.entity_id, entry.payload, entry.prev_hash, entry.hash))
        rows += 1
        if rows % CSV_ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _filename(chain: str | None) -> str:
    return "audit-" + (re.sub(r"[^A-Za-z0-9_.-]", "_", chain) if chain else "all") + ".csv"


@router.get("/audit/export.csv", response_class=StreamingResponse, summary="The audit ledger as CSV (admin)",
            responses={200: {"content": {"text/csv": {}},
                             "description": "One row per entry with a header row; payload is the stored "
                                            "canonical JSON, so each row's hash can be checked again."}})
async def admin_audit_export(
    request: Request, principal: AdminPrincipal,
    chain: Annotated[str | None, Query(max_length=100, description="One chain; absent: every chain.")] = None,
) -> StreamingResponse:
    """Every entry of the chain (or of all chains, chain by chain) in seq order, streamed as CSV."""
    headers = {"Content-Disposition": f'attachment; filename="{_filename(chain)}"'}
    return StreamingResponse(_csv(engine_of(request), chain), media_type="text/csv; charset=utf-8",
                             headers=headers)
