"""``/v1/orders`` and ``/v1/fills``: list and read orders, cancel, approve or decline one; list fills.

A user sees and acts on their own orders only (another user's answers 404, as an unknown id does);
an admin sees and acts on everyone's. Lists are newest first, paged by keyset (see ``api.deps``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from boltztrader.accounts.users import Principal
from boltztrader.api.auth import CurrentPrincipal
from boltztrader.api.deps import Cursor, Limit, Page, decode_cursor, encode_cursor, engine_of, runtime_of
from boltztrader.db.orders import OrderRecord
from boltztrader.domain.clock import SystemClock
from boltztrader.domain.order_states import OrderStatus
from boltztrader.errors import InvalidInput, OrderNotFound
from boltztrader.orders.cancel import cancel_order
from boltztrader.orders.queries import (
    EventRow,
    FillRow,
    Keyset,
    OrderFilter,
    find_order,
    list_fills,
    list_orders,
    order_events_of,
)

router = APIRouter(prefix="/v1", tags=["orders"])

OrderId = Annotated[str, Path(max_length=64, description="The order's id (ours).")]
Text = Annotated[str | None, Query(max_length=128)]
BAD_CURSOR = "cursor is not one this API returned"


class OrderOut(BaseModel):
    """One order as we hold it. Money and quantities are decimal strings; times ISO-8601 UTC."""

    id: str
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


class OrderEventOut(BaseModel):
    """One step of an order's life, from its event log."""

    event: str
    from_status: str | None
    to_status: str
    actor: str
    detail: dict[str, Any]
    created_at: datetime


class OrderDetailOut(OrderOut):
    events: list[OrderEventOut] = Field(description="Every step of the order, oldest first.")


class FillOut(BaseModel):
    """One execution of one of our orders."""

    id: str
    order_id: str
    account_id: str
    symbol: str
    side: str
    quantity: str
    price: str
    fee: str | None
    fee_currency: str | None
    executed_at: datetime


class DeclineIn(BaseModel):
    """Why the order is declined (optional; kept as its reject reason)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500)


def _text(value: Decimal | None) -> str | None:
    """A decimal as plain digits (never exponent notation such as ``1E-7``)."""
    return None if value is None else format(value, "f")


def order_out(record: OrderRecord) -> OrderOut:
    return OrderOut(
        id=record.id, account_id=record.account_id, broker=record.broker, signal_id=record.signal_id,
        client_order_id=record.client_order_id, broker_order_id=record.broker_order_id, symbol=record.symbol,
        market=record.market, side=record.side, order_type=record.order_type,
        time_in_force=record.time_in_force, quantity=format(record.quantity, "f"), price=_text(record.price),
        trigger_price=_text(record.trigger_price), status=str(record.status),
        broker_status=record.broker_status, filled_quantity=format(record.filled_quantity, "f"),
        average_price=_text(record.average_price), reject_reason=record.reject_reason, mode=record.mode,
        created_at=record.created_at, updated_at=record.updated_at)


def _event_out(row: EventRow) -> OrderEventOut:
    return OrderEventOut(event=row.event, from_status=row.from_status, to_status=row.to_status,
                         actor=row.actor, detail=row.detail, created_at=row.created_at)


def _fill_out(row: FillRow) -> FillOut:
    return FillOut(id=row.id, order_id=row.order_id, account_id=row.account_id, symbol=row.symbol,
                   side=row.side, quantity=format(row.quantity, "f"), price=format(row.price, "f"),
                   fee=_text(row.fee), fee_currency=row.fee_currency, executed_at=row.executed_at)


def _keyset(cursor: str | None) -> Keyset | None:
    """The (time, id) inside a cursor of ours; InvalidInput (422) for anything else."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    if len(key) != 2 or not all(isinstance(part, str) for part in key):
        raise InvalidInput(BAD_CURSOR, "cursor")
    try:
        moment = datetime.fromisoformat(key[0])
    except ValueError:
        raise InvalidInput(BAD_CURSOR, "cursor") from None
    if moment.tzinfo is None:
        raise InvalidInput(BAD_CURSOR, "cursor")
    return moment, key[1]


def _next(more: bool, moment: datetime, last_id: str) -> str | None:
    return encode_cursor([moment.isoformat(), last_id]) if more else None


def _actor(principal: Principal) -> str:
    return f"user:{principal.user_id}"


async def _visible_order(request: Request, principal: Principal, order_id: str) -> OrderRecord:
    """The order if the caller may see it; OrderNotFound (404) alike for a missing and a foreign one."""
    record = await find_order(engine_of(request), order_id)
    if record is None or not (principal.is_admin or record.user_id == principal.user_id):
        raise OrderNotFound(f"no order {order_id}")
    return record


_ORDER_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such order (or not the caller's)"},
    409: {"description": "Not possible in the order's status"},
}


@router.get("/orders", response_model=Page[OrderOut], summary="List orders, newest first")
async def get_orders(
    request: Request, principal: CurrentPrincipal,
    status: Annotated[list[OrderStatus] | None, Query(description="Only these statuses (repeats).")] = None,
    account_id: Text = None, symbol: Text = None, signal_id: Text = None,
    limit: Limit = 50, cursor: Cursor = None,
) -> Page[OrderOut]:
    """The caller's orders (an admin's: everyone's), filtered, newest first, one page at a time."""
    where = OrderFilter(user_id=None if principal.is_admin else principal.user_id,
                        statuses=[str(s) for s in status or []], account_id=account_id, symbol=symbol,
                        signal_id=signal_id)
    rows, more = await list_orders(engine_of(request), where, limit=limit, after=_keyset(cursor))
    cursor_out = _next(more, rows[-1].created_at, rows[-1].id) if rows else None
    return Page[OrderOut](items=[order_out(r) for r in rows], next_cursor=cursor_out)


@router.get("/orders/{order_id}", response_model=OrderDetailOut, summary="One order with its events",
            responses={404: _ORDER_ERRORS[404]})
async def get_order(request: Request, principal: CurrentPrincipal, order_id: OrderId) -> OrderDetailOut:
    """The order as we hold it, and every event of its life in order."""
    record = await _visible_order(request, principal, order_id)
    events = await order_events_of(engine_of(request), order_id)
    return OrderDetailOut(**order_out(record).model_dump(), events=[_event_out(e) for e in events])


@router.post("/orders/{order_id}/cancel", response_model=OrderOut, summary="Cancel an order",
             responses={**_ORDER_ERRORS, 429: {"description": "The broker asked us to slow down"},
                        502: {"description": "The broker failed"},
                        503: {"description": "The broker is unavailable: nothing was cancelled"},
                        504: {"description": "The broker did not answer: the order stays pending_cancel"}})
async def cancel(request: Request, principal: CurrentPrincipal, order_id: OrderId) -> OrderOut:
    """Withdraw an intent not yet sent, or cancel a working order at its broker; the order after."""
    await _visible_order(request, principal, order_id)
    runtime = runtime_of(request)
    record = await cancel_order(engine_of(request), runtime.directory, SystemClock(), order_id,
                                actor=_actor(principal))
    return order_out(record)


@router.post("/orders/{order_id}/approve", response_model=OrderOut, summary="Approve a semi-manual order",
             responses=_ORDER_ERRORS)
async def approve(request: Request, principal: CurrentPrincipal, order_id: OrderId) -> OrderOut:
    """Check a pending_approval order again on a fresh price and send it if allowed; the order after."""
    await _visible_order(request, principal, order_id)
    record = await runtime_of(request).approvals.approve(order_id, actor=_actor(principal))
    return order_out(record)


@router.post("/orders/{order_id}/decline", response_model=OrderOut, summary="Decline a semi-manual order",
             responses=_ORDER_ERRORS)
async def decline(request: Request, principal: CurrentPrincipal, order_id: OrderId,
                  body: Annotated[DeclineIn | None, Body()] = None) -> OrderOut:
    """Decline a pending_approval order (nothing is sent); the order after."""
    await _visible_order(request, principal, order_id)
    reason = "" if body is None else body.reason
    record = await runtime_of(request).approvals.decline(order_id, actor=_actor(principal), reason=reason)
    return order_out(record)


@router.get("/fills", response_model=Page[FillOut], summary="List fills, newest first")
async def get_fills(request: Request, principal: CurrentPrincipal, account_id: Text = None,
                    symbol: Text = None, limit: Limit = 50, cursor: Cursor = None) -> Page[FillOut]:
    """The executions of the caller's orders (an admin's: everyone's), newest first, one page at a time."""
    user_id = None if principal.is_admin else principal.user_id
    rows, more = await list_fills(engine_of(request), user_id=user_id, account_id=account_id, symbol=symbol,
                                  limit=limit, after=_keyset(cursor))
    cursor_out = _next(more, rows[-1].executed_at, rows[-1].id) if rows else None
    return Page[FillOut](items=[_fill_out(r) for r in rows], next_cursor=cursor_out)
