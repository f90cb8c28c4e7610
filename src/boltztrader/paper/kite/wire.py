"""Kite's wire formats: form parsing, IST timestamps, numbers, and the JSON of orders and trades.

Numbers go out as JSON numbers (Kite sends floats and ints, never strings); they are computed in
Decimal and converted only here. Timestamps are IST ``yyyy-mm-dd hh:mm:ss`` (19 characters), the
trade book's ``order_timestamp`` is time only (``hh:mm:ss``), as in Kite's own mocks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from boltztrader.paper.kite import errors
from boltztrader.paper.kite.book import KiteAccount, KiteOrder, Snapshot
from boltztrader.paper.model import ZERO, Fill

IST = ZoneInfo("Asia/Kolkata")


def ist(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")


def ist_time(moment: datetime) -> str:
    return moment.astimezone(IST).strftime("%H:%M:%S")


def num(value: Decimal) -> int | float:
    """A Decimal as Kite sends it: an int when whole, else a float (exact for tick-sized prices)."""
    return int(value) if value == value.to_integral_value() else float(value)


def money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return num(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def ok(data: Any) -> web.Response:
    """The success envelope."""
    return web.Response(text=json.dumps({"status": "success", "data": data}, default=_default),
                        content_type=errors.JSON)


# -- form values ------------------------------------------------------------------------------------
def text(form: Mapping[str, str], key: str) -> str | None:
    value = form.get(key)
    if value is None:
        return None
    value = value.strip()
    return value or None


def required(form: Mapping[str, str], key: str) -> str:
    value = text(form, key)
    if value is None:
        raise errors.input_error(errors.invalid(key))
    return value


def integer(form: Mapping[str, str], key: str, default: int | None = None) -> int | None:
    raw = text(form, key)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise errors.input_error(errors.decode_message(key, raw, "int")) from None


def decimal(form: Mapping[str, str], key: str) -> Decimal | None:
    """A number sent as text; lenient like Kite (``1500.05``, ``1500``, ``0.30000000000000004``)."""
    raw = text(form, key)
    if raw is None:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise errors.input_error(errors.decode_message(key, raw, "decimal")) from None
    if not value.is_finite():
        raise errors.input_error(errors.decode_message(key, raw, "decimal"))
    return value


# -- orders and trades -------------------------------------------------------------------------------
def order_json(state: KiteAccount, order: KiteOrder, snap: Snapshot, *, status: str | None = None,
               filled: Decimal | None = None, average: Decimal | None = None) -> dict[str, Any]:
    """One order row (the order book, a history entry, a postback or a WebSocket update)."""
    status = status or snap.status
    filled = snap.filled if filled is None else filled
    average = snap.average if average is None else average
    if status in ("COMPLETE", "REJECTED"):
        pending, cancelled = ZERO, ZERO
    elif status == "CANCELLED":
        pending, cancelled = ZERO, snap.quantity - filled
    else:
        pending, cancelled = snap.quantity - filled, ZERO
    at_exchange = snap.at_exchange
    row: dict[str, Any] = {
        "placed_by": state.user_id,
        "order_id": order.order_id,
        "exchange_order_id": order.exchange_order_id if at_exchange else None,
        "parent_order_id": None,
        "status": status,
        "status_message": snap.status_message,
        "status_message_raw": snap.status_message_raw,
        "order_timestamp": ist(snap.order_time),
        "exchange_update_timestamp": ist(snap.time) if at_exchange else None,
        "exchange_timestamp": ist(order.exchange_time) if at_exchange else None,
        "variety": order.variety,
        "modified": snap.modified,
        "exchange": order.exchange,
        "tradingsymbol": order.tradingsymbol,
        "instrument_token": order.instrument_token,
        "order_type": order.order_type,
        "transaction_type": order.transaction_type,
        "validity": order.validity,
        "validity_ttl": order.validity_ttl,
        "product": order.product,
        "quantity": num(snap.quantity),
        "disclosed_quantity": num(order.disclosed_quantity),
        "price": num(snap.price),
        "trigger_price": num(snap.trigger_price),
        "average_price": num(average),
        "filled_quantity": num(filled),
        "pending_quantity": num(pending),
        "cancelled_quantity": num(cancelled),
        "market_protection": num(order.market_protection),
        "meta": {},
        "tag": order.tag,
        "guid": None,
    }
    if order.tags:
        row["tags"] = list(order.tags)
    return row


def current_json(state: KiteAccount, order: KiteOrder) -> dict[str, Any]:
    return order_json(state, order, order.history[-1])


def trade_json(order: KiteOrder, fill: Fill) -> dict[str, Any]:
    return {
        "trade_id": str(10_000_000 + fill.trade_id),
        "order_id": order.order_id,
        "exchange": order.exchange,
        "tradingsymbol": order.tradingsymbol,
        "instrument_token": order.instrument_token,
        "product": order.product,
        "average_price": num(fill.price),
        "quantity": num(fill.quantity),
        "exchange_order_id": order.exchange_order_id,
        "transaction_type": order.transaction_type,
        "fill_timestamp": ist(fill.time),
        "order_timestamp": ist_time(order.order_time),
        "exchange_timestamp": ist(fill.time),
    }
