"""Alpaca's wire conventions: decimals as strings, RFC 3339 timestamps, and the order request body.

Requests may carry numbers or strings (alpaca-py sends JSON numbers); bodies are decoded with
``parse_float=Decimal`` so no float ever touches money.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from boltztrader.paper.alpaca import errors
from boltztrader.paper.hours import ET

SIDES = frozenset({"buy", "sell"})
TYPES = frozenset({"market", "limit", "stop", "stop_limit", "trailing_stop"})
TIFS = frozenset({"day", "gtc", "opg", "cls", "ioc", "fok"})
MAX_CLIENT_ORDER_ID = 128


def num(value: Decimal) -> str:
    """A Decimal the way Alpaca writes it: plain digits, no trailing zeros, "0" for zero."""
    if not value:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def opt_num(value: Decimal | None) -> str | None:
    return None if value is None else num(value)


def ts(moment: datetime) -> str:
    """RFC 3339 in UTC with nine fractional digits and ``Z`` (Python keeps microseconds)."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond:06d}000Z"


def opt_ts(moment: datetime | None) -> str | None:
    return None if moment is None else ts(moment)


def ts_et(moment: datetime) -> str:
    """RFC 3339 with the New York offset, as ``/v2/clock`` sends it."""
    local = moment.astimezone(ET)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%dT%H:%M:%S}.{local.microsecond:06d}000{offset[:3]}:{offset[3:]}"


def ts_et_minute(moment: datetime) -> str:
    local = moment.astimezone(ET)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%dT%H:%M:%S}{offset[:3]}:{offset[3:]}"


def parse_body(raw: bytes) -> dict[str, Any]:
    """A JSON object body; 422 (Alpaca's validation code) otherwise."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise errors.invalid("request body format is invalid") from None
    if not isinstance(body, dict):
        raise errors.invalid("request body format is invalid")
    return body


def decimal_of(raw: Any, name: str) -> Decimal | None:
    """A number sent as a JSON number or a string; None when absent or null."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal)):
        raise errors.invalid(f"invalid {name}")
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except InvalidOperation:
        raise errors.invalid(f"invalid {name}") from None
    if not value.is_finite():
        raise errors.invalid(f"invalid {name}")
    return value


def decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def query_bool(raw: str | None, default: bool = False) -> bool:
    """Booleans in query strings arrive as ``True``/``False`` from the Python SDKs."""
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in ("true", "1", "yes")


def parse_time(raw: str, name: str) -> datetime:
    """An ``after``/``until`` timestamp: RFC 3339 (``Z`` or an offset) or a date; naive means UTC."""
    text = raw.strip().replace(" ", "+")  # an unescaped '+' in a query string decodes to a space
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise errors.invalid(f"invalid {name}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class OrderInput:
    """A validated ``POST /v2/orders`` body."""

    symbol: str
    side: str
    type: str
    time_in_force: str
    qty: Decimal | None
    notional: Decimal | None
    limit_price: Decimal | None
    stop_price: Decimal | None
    extended_hours: bool
    client_order_id: str | None

    @property
    def fractional(self) -> bool:
        qty = self.qty
        return self.notional is not None or (qty is not None and qty != qty.to_integral_value())


def parse_order(body: dict[str, Any]) -> OrderInput:
    """Check the request fields the way Alpaca does before any risk check."""
    symbol = body.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise errors.invalid("symbol is required")
    side = _enum(body, "side", SIDES, required=True)
    order_type = _enum(body, "type", TYPES, required=True)
    tif = _enum(body, "time_in_force", TIFS, required=True)
    order_class = body.get("order_class")
    if order_class not in (None, "", "simple"):
        raise errors.unprocessable(f"order_class {order_class} is not supported by the paper server")
    if order_type == "trailing_stop":
        raise errors.unprocessable("trailing_stop orders are not supported by the paper server")
    qty = decimal_of(body.get("qty"), "qty")
    notional = decimal_of(body.get("notional"), "notional")
    if qty is not None and notional is not None:
        raise errors.invalid("only one of qty or notional may be set")
    if qty is None and notional is None:
        raise errors.invalid("qty is required")
    if qty is not None and (qty <= 0 or decimals(qty) > 9):
        raise errors.invalid("qty must be > 0 with at most 9 decimal places")
    if notional is not None:
        if notional <= 0 or decimals(notional) > 2:
            raise errors.invalid("notional must be > 0 with at most 2 decimal places")
        if order_type != "market":
            raise errors.unprocessable("notional orders are only supported for market orders")
        if notional < 1:
            raise errors.unprocessable("cost basis must be >= 1")
    limit_price = decimal_of(body.get("limit_price"), "limit_price")
    stop_price = decimal_of(body.get("stop_price"), "stop_price")
    if order_type in ("limit", "stop_limit") and limit_price is None:
        raise errors.invalid("limit_price is required")
    if order_type in ("stop", "stop_limit") and stop_price is None:
        raise errors.invalid("stop_price is required")
    if order_type in ("market", "stop"):
        limit_price = None
    if order_type in ("market", "limit"):
        stop_price = None
    for name, price in (("limit_price", limit_price), ("stop_price", stop_price)):
        if price is not None:
            if price <= 0:
                raise errors.invalid(f"{name} must be > 0")
            if decimals(price) > (2 if price >= 1 else 4):
                raise errors.sub_penny(name, num(price))
    extended = body.get("extended_hours", False)
    if not isinstance(extended, bool):
        raise errors.invalid("invalid extended_hours")
    if extended and order_type != "limit":
        raise errors.invalid('only type="limit" is allowed for extended hours orders')
    if extended and tif != "day":
        raise errors.invalid('only time_in_force="day" is allowed for extended hours orders')
    client_order_id = body.get("client_order_id")
    if client_order_id is not None:
        if not isinstance(client_order_id, str):
            raise errors.invalid("invalid client_order_id")
        if len(client_order_id) > MAX_CLIENT_ORDER_ID:
            raise errors.invalid(f"client_order_id must be no more than {MAX_CLIENT_ORDER_ID} characters")
    parsed = OrderInput(symbol=symbol, side=side, type=order_type, time_in_force=tif, qty=qty,
                        notional=notional, limit_price=limit_price, stop_price=stop_price,
                        extended_hours=extended, client_order_id=client_order_id or None)
    if parsed.fractional and tif != "day":
        raise errors.unprocessable("fractional orders must be DAY orders")
    return parsed


def _enum(body: dict[str, Any], name: str, allowed: frozenset[str], *, required: bool) -> str:
    value = body.get(name)
    if value is None and required:
        raise errors.invalid(f"{name} is required")
    if value not in allowed:
        raise errors.invalid(f"invalid {name}")
    return str(value)
