"""Alpaca's error answers, classified once, from one table.

Alpaca answers ``{"code": <8 digits>, "message": "..."}``; its codes are overloaded (40310000
covers buying power, short selling, wash trades and unchanged replaces), so the reference advises
classifying by message within each HTTP status. Messages here carry the method and path only (no
query string) and Alpaca's own message, truncated; never a header, key or body of ours.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from decimal import Decimal

from boltztrader.brokers.transport import retry_after
from boltztrader.errors import (
    BrokerAuthError,
    BrokerDown,
    BrokerProtocolError,
    BrokerRejected,
    ConfigError,
    DuplicateOrder,
    InsufficientFunds,
    InvalidOrder,
    MarketClosed,
    OrderNotFound,
    OutcomeUnknown,
    RateLimited,
    TradingError,
)

BROKER = "alpaca"
_MAX_MESSAGE = 200


class AlpacaConfigError(ConfigError, ValueError):
    """An ``AlpacaConfig`` that must not be used (a paper key for the live host, a bad URL ...)."""


class NotCancelable(InvalidOrder):
    """422 ``order is already in "<status>" state``: the order is final and cannot be cancelled."""


# (HTTP status, lower-case message fragment) -> class; the first match wins, per status.
_FORBIDDEN: tuple[tuple[str, type[BrokerRejected]], ...] = (
    ("buying power", InsufficientFunds),  # insufficient (day trading) buying power
    ("insufficient qty", InsufficientFunds),  # selling shares held by other orders or not owned
    ("not allowed to short", InsufficientFunds),  # a sell with no position in a cash account
    ("insufficient balance", InsufficientFunds),
    ("wash trade", InvalidOrder),
    ("pattern day trad", InvalidOrder),
    ("parameters are not changed", InvalidOrder),
)
_UNPROCESSABLE: tuple[tuple[str, type[BrokerRejected]], ...] = (
    ("client_order_id must be unique", DuplicateOrder),
    ("is already in", NotCancelable),  # order is already in "filled" state
    ("only accepted before", MarketClosed),  # opg outside its window
    ("not accepted between", MarketClosed),  # cls in its blackout
    ("market is closed", MarketClosed),
    ("halted", MarketClosed),  # trading in the asset is halted
    ("insufficient buying power", InsufficientFunds),
)


def decode_error(body: bytes) -> tuple[int | str | None, str]:
    """Alpaca's (code, message) from an error body; (None, "") when it is not the usual JSON."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, ""
    if not isinstance(data, dict):
        return None, ""
    code = data.get("code")
    if not isinstance(code, (int, str)) or isinstance(code, bool):
        code = None
    message = data.get("message")
    return code, (message[:_MAX_MESSAGE] if isinstance(message, str) else "")


def error_for(status: int, body: bytes, headers: Mapping[str, str], *, changes_state: bool, where: str,
              symbol_lookup: bool = False) -> TradingError:
    """The exception for a non-2xx answer. ``where`` is "METHOD /path" (never a query string);
    ``symbol_lookup``: a 404 means the symbol is unknown (assets, market data), not an order."""
    code, message = decode_error(body)
    text = f"{BROKER} {where}: HTTP {status} ({code}) {message}".rstrip()
    lowered = message.lower()
    if status == 401:
        return BrokerAuthError(text)
    if status == 403:
        if code is None or not changes_state:
            return BrokerAuthError(text)  # "forbidden." (bad or missing keys), or a plan without access
        return _match(_FORBIDDEN, lowered, BrokerRejected)(BROKER, code, message or "forbidden")
    if status == 404:
        if "endpoint not found" in lowered:
            return BrokerProtocolError(text)
        if symbol_lookup:
            return InvalidOrder(BROKER, code, message or "symbol not found")
        return OrderNotFound(text)
    if status == 429:
        return RateLimited(text, retry_after=_retry_after(headers))
    if status in (400, 422):
        return _match(_UNPROCESSABLE, lowered, InvalidOrder)(BROKER, code, message or f"HTTP {status}")
    if status >= 500:
        if changes_state:
            return OutcomeUnknown(text + "; the broker may have acted")
        return BrokerDown(text)
    return BrokerProtocolError(text)


def _match(table: tuple[tuple[str, type[BrokerRejected]], ...], lowered: str,
           default: type[BrokerRejected]) -> type[BrokerRejected]:
    for fragment, cls in table:
        if fragment in lowered:
            return cls
    return default


def _retry_after(headers: Mapping[str, str]) -> Decimal | None:
    """Retry-After when sent; else the seconds until ``X-Ratelimit-Reset`` (unix seconds)."""
    explicit = retry_after(headers)
    if explicit is not None:
        return explicit
    raw = headers.get("X-Ratelimit-Reset")
    if raw is None:
        return None
    try:
        reset = int(raw.strip())
    except ValueError:
        return None
    return Decimal(max(reset - int(time.time()), 0))
