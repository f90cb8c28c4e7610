"""Kite's error answers, classified once into BoltzTrader's error tree.

Kite has no error codes: an error is ``{"status": "error", "error_type": <ExceptionName>,
"message": <text>}`` with an HTTP status. The class comes from this exact table, first match wins:

=====================================  ====================================================
HTTP 429, or "Too many requests"       ``RateLimited`` (Retry-After if sent, else 1 s: Kite
                                       counts calendar seconds); the day cap ("Maximum
                                       allowed order requests exceeded") waits an hour
403 / ``TokenException``               ``BrokerAuthError`` (re-login: ``auth_expired`` True)
``PermissionException``                ``BrokerAuthError`` (app or IP not allowed; a human fixes it)
5xx (any body), ``NetworkException``,  a state-changing request: ``OutcomeUnknown`` (Kite may have
``DataException``, "timed out"         acted); a read: ``BrokerDown``
message "Couldn't find that            ``OrderNotFound``
`order_id`", HTTP 404 on an order
``MarginException``,                   ``InsufficientFunds``
``HoldingException``, message starts
"Insufficient funds"/"Insufficient
holdings"
message starts "Markets are not        ``MarketClosed``
open", "Our order management system
is under scheduled maintenance"
other 4xx ``InputException``,          ``InvalidOrder``
``OrderException``, ``UserException``
a body that is not Kite's envelope     ``BrokerProtocolError`` (or, on a 5xx / a state-changing
                                       2xx, as above)
=====================================  ====================================================

Messages carry the method, the path and Kite's own message (truncated), never headers, query
strings or bodies; Kite's messages never echo tokens.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from boltztrader.errors import (
    BrokerAuthError,
    BrokerDown,
    BrokerProtocolError,
    BrokerRejected,
    InsufficientFunds,
    InvalidOrder,
    MarketClosed,
    OrderNotFound,
    OutcomeUnknown,
    RateLimited,
    TradingError,
)

BROKER = "zerodha"
MAX_MESSAGE = 240
DEFAULT_RETRY_AFTER = Decimal(1)
DAY_CAP_RETRY_AFTER = Decimal(3600)

TOO_MANY = "Too many requests"
DAY_CAP = "Maximum allowed order requests exceeded"
BEING_PROCESSED = "Order cannot be cancelled as it is being processed"
NOT_FOUND_PREFIXES = ("Couldn't find that `order_id`",)
FUNDS_TYPES = frozenset({"MarginException", "HoldingException"})
FUNDS_PREFIXES = ("Insufficient funds", "Insufficient holdings", "RMS:Margin Exceeds",
                  "RMS:Rule: Check holdings")
CLOSED_PREFIXES = ("Markets are not open", "Our order management system is under scheduled maintenance",
                   "Market is closed")
AUTH_TYPES = frozenset({"TokenException", "PermissionException"})
DOWN_TYPES = frozenset({"NetworkException", "DataException"})
REJECT_TYPES = frozenset({"InputException", "OrderException", "UserException", "GeneralException",
                          "MarginException", "HoldingException"})


class KiteAuthExpired(BrokerAuthError):
    """The access token is invalid or expired (403 TokenException): the user must log in again."""


def _message(body: Any) -> str:
    raw = body.get("message") if isinstance(body, dict) else None
    text = raw if isinstance(raw, str) else ""
    return text[:MAX_MESSAGE]


def decode(raw: bytes) -> Any:
    """Kite's JSON with numbers kept exact (floats as Decimal); None when it is not JSON."""
    try:
        return json.loads(raw, parse_float=Decimal)
    except ValueError:
        return None


def rejection_class(message: str | None, error_type: str | None = None) -> type[BrokerRejected]:
    """The rejection class of a message (an error answer's or a REJECTED order's status_message)."""
    text = message or ""
    if error_type in FUNDS_TYPES or text.startswith(FUNDS_PREFIXES):
        return InsufficientFunds
    if text.startswith(CLOSED_PREFIXES):
        return MarketClosed
    return InvalidOrder


def classify(status: int, body: bytes, retry_after: Decimal | None, *, where: str,
             changes_state: bool) -> TradingError:
    """The error for one non-success answer (``where`` is ``"METHOD /path"``, never the query)."""
    data = decode(body)
    error_type = data.get("error_type") if isinstance(data, dict) else None
    message = _message(data)
    said = f"zerodha {where}: HTTP {status} {error_type or '-'}: {message or '(no message)'}"
    if status == 429 or message.startswith((TOO_MANY, DAY_CAP)):
        wait = retry_after or (DAY_CAP_RETRY_AFTER if message.startswith(DAY_CAP) else DEFAULT_RETRY_AFTER)
        return RateLimited(said, retry_after=wait)
    if error_type == "TokenException" or (status == 403 and error_type not in AUTH_TYPES):
        return KiteAuthExpired(said)
    if error_type in AUTH_TYPES:
        return BrokerAuthError(said)
    if status >= 500 or error_type in DOWN_TYPES or "timed out" in message.lower():
        if changes_state:
            return OutcomeUnknown(said + "; Kite may have acted")
        return BrokerDown(said)
    if message.startswith(NOT_FOUND_PREFIXES) or (status == 404 and error_type != "GeneralException"):
        return OrderNotFound(said)
    if status < 500 and error_type in REJECT_TYPES:  # a 2xx error envelope reads as a 400
        if error_type == "GeneralException" and status in (404, 405):
            return BrokerProtocolError(said)  # a route we got wrong, not an order problem
        return rejection_class(message, error_type)(BROKER, error_type, message)
    return BrokerProtocolError(said)


def unreadable(where: str, *, changes_state: bool) -> TradingError:
    """A success status whose body is not Kite's envelope."""
    said = f"zerodha {where}: the answer does not match Kite's envelope"
    if changes_state:
        return OutcomeUnknown(said + "; Kite may have acted")
    return BrokerProtocolError(said)
