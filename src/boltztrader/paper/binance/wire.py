"""Parsing and formatting of Binance's wire values: decimals, ids, times, and spot order objects.

Spot numbers go out as fixed 8-decimal strings (``"0.00100000"``); ids and times as integers (ms).
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from boltztrader.paper.binance import errors
from boltztrader.paper.model import ZERO, Fill, Order, State

_DECIMAL = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_INT = re.compile(r"^[0-9]{1,20}$")
_SPOT_ID = re.compile(r"^[a-zA-Z0-9-_]{1,36}$")
_FUTURES_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_ID_ALPHABET = string.ascii_letters + string.digits
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

SPOT_STATUS = {
    State.PENDING_TRIGGER: "NEW",
    State.OPEN: "NEW",
    State.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    State.FILLED: "FILLED",
    State.CANCELLED: "CANCELED",
    State.EXPIRED: "EXPIRED",
    State.REJECTED: "REJECTED",
}
STP_MODE = "EXPIRE_MAKER"


def decimal_param(
    values: Mapping[str, str], name: str, *, max_decimals: int = 8, required: bool = False
) -> Decimal | None:
    """A decimal parameter: -1102 when required and absent, -1100 on any other format (``1e-05``),
    -1111 with more than ``max_decimals`` significant decimals."""
    raw = values.get(name)
    if raw is None or raw == "":
        if required:
            raise errors.mandatory(name)
        return None
    if not _DECIMAL.match(raw):
        raise errors.illegal_chars(name)
    value = Decimal(raw)
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > max_decimals:
        raise errors.too_precise(name)
    return value


def int_param(values: Mapping[str, str], name: str, *, required: bool = False) -> int | None:
    raw = values.get(name)
    if raw is None or raw == "":
        if required:
            raise errors.mandatory(name)
        return None
    if not _INT.match(raw):
        raise errors.illegal_chars(name, errors.INT_RANGE)
    return int(raw)


def required(values: Mapping[str, str], name: str) -> str:
    raw = values.get(name)
    if not raw:
        raise errors.mandatory(name)
    return raw


def spot_client_id(values: Mapping[str, str], name: str = "newClientOrderId") -> str:
    raw = values.get(name)
    if raw is None:
        return new_client_id()
    if not _SPOT_ID.match(raw):
        raise errors.illegal_chars(name, errors.SPOT_CLIENT_ID_RANGE)
    return raw


def futures_client_id(values: Mapping[str, str], name: str = "newClientOrderId") -> str:
    raw = values.get(name)
    if raw is None:
        return new_client_id()
    if not _FUTURES_ID.match(raw):
        raise errors.illegal_chars(name, errors.FUTURES_CLIENT_ID_RANGE)
    return raw


def new_client_id() -> str:
    """A 22-character server-made id, as Binance makes them (``6gCrw2kRUAF9CvJDGP16IP``)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(22))


def fmt8(value: Decimal | None) -> str:
    return f"{value or ZERO:.8f}"


def plain(value: Decimal | None) -> str:
    """Shortest plain text of a number (futures style: ``"10"``, ``"0.001"``)."""
    if not value:
        return "0"
    return format(value.normalize(), "f")


def ms(moment: datetime | None) -> int:
    if moment is None:
        return 0
    return (moment - _EPOCH) // _MS


# -- spot orders ---------------------------------------------------------------------------------------
def wire_type(order: Order) -> str:
    return str(order.request.tags.get("type", order.request.kind.value))


def is_working(order: Order) -> bool:
    return order.state is not State.PENDING_TRIGGER and not (
        order.request.kind.has_trigger and order.triggered_at is None
    )


def spot_tif(order: Order) -> str:
    return order.request.time_in_force.value if order.request.time_in_force.value != "DAY" else "GTC"


def _price(order: Order) -> str:
    return fmt8(order.request.price)


def _stop_fields(order: Order, body: dict[str, Any]) -> None:
    if order.request.trigger_price is not None:
        body["stopPrice"] = fmt8(order.request.trigger_price)


def spot_ack(order: Order) -> dict[str, Any]:
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.request.client_order_id,
        "transactTime": ms(order.created_at),
    }


def _spot_order_fields(order: Order) -> dict[str, Any]:
    """The price, quantities, status and type fields every spot order answer carries."""
    return {
        "price": _price(order),
        "origQty": fmt8(order.quantity),
        "executedQty": fmt8(order.filled_quantity),
        "origQuoteOrderQty": fmt8(order.request.quote_quantity),
        "cummulativeQuoteQty": fmt8(order.filled_quote),
        "status": SPOT_STATUS[order.state],
        "timeInForce": spot_tif(order),
        "type": wire_type(order),
        "side": order.side.value,
    }


def spot_result(order: Order) -> dict[str, Any]:
    body = spot_ack(order)
    body.update(_spot_order_fields(order))
    _stop_fields(order, body)
    body["workingTime"] = ms(order.triggered_at or order.created_at) if is_working(order) else -1
    body["selfTradePreventionMode"] = STP_MODE
    return body


def spot_fill(fill: Fill) -> dict[str, Any]:
    return {
        "price": fmt8(fill.price),
        "qty": fmt8(fill.quantity),
        "commission": fmt8(fill.fee),
        "commissionAsset": fill.fee_asset,
        "tradeId": fill.trade_id,
    }


def spot_full(order: Order) -> dict[str, Any]:
    body = spot_result(order)
    body["fills"] = [spot_fill(f) for f in order.fills]
    return body


def spot_order(order: Order) -> dict[str, Any]:
    """The query shape (``GET /api/v3/order``, ``openOrders``, ``allOrders``)."""
    working = is_working(order)
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.request.client_order_id,
        "price": _price(order),
        "origQty": fmt8(order.quantity),
        "executedQty": fmt8(order.filled_quantity),
        "cummulativeQuoteQty": fmt8(order.filled_quote),
        "status": SPOT_STATUS[order.state],
        "timeInForce": spot_tif(order),
        "type": wire_type(order),
        "side": order.side.value,
        "stopPrice": fmt8(order.request.trigger_price),
        "icebergQty": fmt8(ZERO),
        "time": ms(order.created_at),
        "updateTime": ms(order.updated_at),
        "isWorking": working,
        "workingTime": ms(order.triggered_at or order.created_at) if working else -1,
        "origQuoteOrderQty": fmt8(order.request.quote_quantity),
        "selfTradePreventionMode": STP_MODE,
    }


def spot_cancel(order: Order, cancel_client_id: str, now: datetime) -> dict[str, Any]:
    body: dict[str, Any] = {
        "symbol": order.symbol,
        "origClientOrderId": order.request.client_order_id,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": cancel_client_id,
        "transactTime": ms(now),
        **_spot_order_fields(order),
    }
    _stop_fields(order, body)
    body["selfTradePreventionMode"] = STP_MODE
    return body


def spot_trade(fill: Fill, order: Order) -> dict[str, Any]:
    return {
        "symbol": fill.symbol,
        "id": fill.trade_id,
        "orderId": fill.order_id,
        "orderListId": -1,
        "price": fmt8(fill.price),
        "qty": fmt8(fill.quantity),
        "quoteQty": fmt8(fill.price * fill.quantity),
        "commission": fmt8(fill.fee),
        "commissionAsset": fill.fee_asset,
        "time": ms(fill.time),
        "isBuyer": order.side.value == "BUY",
        "isMaker": fill.is_maker,
        "isBestMatch": True,
    }
