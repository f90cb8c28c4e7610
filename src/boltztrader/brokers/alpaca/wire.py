"""Alpaca's wire format: header names, the order request body, and decoding of JSON values.

Trading API decimals arrive as JSON strings; the Market Data API sends JSON numbers, so every
body is decoded with ``parse_float=Decimal`` and no float ever touches money. Requests carry
decimals as strings (the docs recommend it), written with ``format(d, "f")``.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from boltztrader.domain.reports import PlaceOrder
from boltztrader.errors import BrokerProtocolError

KEY_HEADER = "APCA-API-KEY-ID"
SECRET_HEADER = "APCA-API-SECRET-KEY"  # noqa: S105 - a header name
JSON_TYPE = "application/json"
LIMIT_HEADER = "X-Ratelimit-Limit"
REMAINING_HEADER = "X-Ratelimit-Remaining"
RESET_HEADER = "X-Ratelimit-Reset"
RATE_WINDOW_SECONDS = 60
MAX_QTY_PLACES = 9
MAX_NOTIONAL_PLACES = 2
MAX_CLIENT_ORDER_ID = 128

_decoder = json.JSONDecoder(parse_float=Decimal)
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def loads(raw: bytes | str) -> Any:
    """Decode a JSON body (UTF-8) with every non-integer number as a Decimal."""
    return _decoder.decode(raw.decode() if isinstance(raw, bytes) else raw)


def text(value: Decimal) -> str:
    """A Decimal as plain digits, never in scientific notation, without trailing zeros
    (``Decimal("1.0000000000")`` is "1", not ten decimals Alpaca would refuse)."""
    digits = format(value, "f")
    return digits.rstrip("0").rstrip(".") if "." in digits else digits


def order_body(order: PlaceOrder) -> bytes:
    """The ``POST /v2/orders`` JSON body; only the fields that are set."""
    body: dict[str, Any] = {
        "symbol": order.symbol,
        "side": order.side,
        "type": order.order_type,
        "time_in_force": order.time_in_force,
        "client_order_id": order.client_order_id,
    }
    if order.quantity is not None:
        body["qty"] = text(order.quantity)
    else:
        assert order.notional is not None
        body["notional"] = text(order.notional)
    if order.limit_price is not None:
        body["limit_price"] = text(order.limit_price)
    if order.trigger_price is not None:
        body["stop_price"] = text(order.trigger_price)
    if order.extended_hours:
        body["extended_hours"] = True
    return _dumps(body).encode()


def places(value: Decimal) -> int:
    """Digits after the decimal point that matter (trailing zeros do not)."""
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def dec(value: Any, name: str) -> Decimal:
    """A required decimal field (a string, or a number in the data API)."""
    if value is None or isinstance(value, bool):
        raise BrokerProtocolError(f"alpaca: field {name} is missing or not a number")
    try:
        number = value if isinstance(value, Decimal) else Decimal(value if isinstance(value, str)
                                                                  else str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise BrokerProtocolError(f"alpaca: field {name} is not a number") from None
    if not number.is_finite():
        raise BrokerProtocolError(f"alpaca: field {name} is not finite")
    return number


def opt_dec(value: Any, name: str) -> Decimal | None:
    """An optional decimal field: None (or "") stays None."""
    if value is None or value == "":
        return None
    return dec(value, name)


def timestamp(value: Any, name: str) -> datetime:
    """An RFC 3339 timestamp (``Z`` or an offset, up to nine fractional digits: kept to microseconds)."""
    if not isinstance(value, str):
        raise BrokerProtocolError(f"alpaca: field {name} is not a timestamp")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = _nanos(value, name)
    if moment.tzinfo is None:
        raise BrokerProtocolError(f"alpaca: field {name} has no UTC offset")
    return moment


def _nanos(value: str, name: str) -> datetime:
    """Fallback for fractions Python does not take (more than six digits on older parsers)."""
    head, dot, rest = value.partition(".")
    if not dot:
        raise BrokerProtocolError(f"alpaca: field {name} is not a timestamp")
    digits = len(rest) - len(rest.lstrip("0123456789"))
    try:
        return datetime.fromisoformat(f"{head}.{rest[:min(digits, 6)]:0<6}{rest[digits:]}")
    except ValueError:
        raise BrokerProtocolError(f"alpaca: field {name} is not a timestamp") from None


def string(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise BrokerProtocolError(f"alpaca: field {name} is missing")
    return value


def obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BrokerProtocolError(f"alpaca: {what} is not a JSON object")
    return value


def array(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise BrokerProtocolError(f"alpaca: {what} is not a JSON array")
    return value
