"""Binance's error answers classified ONCE, from an exact table of HTTP statuses and codes.

Errors are ``{"code": <negative int>, "msg": "..."}``. The table (spot and USD-M share it):

=============================================  ===============================================
HTTP 429 (-1003 weight, -1015 orders)          ``RateLimited`` (retry_after from Retry-After)
HTTP 418 (-1003 "IP banned until ...")         ``RateLimited``; the client also records the ban
                                               (``BinanceClient.banned_until``)
HTTP 5xx, or -1006 / -1007 / -1000 anywhere    state change: ``OutcomeUnknown``; read: ``BrokerDown``
-1021 timestamp outside recvWindow / ahead     ``TimestampRejected`` (a ``BrokerUnavailable``: nothing
                                               was done; the client re-syncs its clock first)
-1022 bad signature, -2014 key format,         ``BrokerAuthError``
-2015 key / IP / permissions, HTTP 401,
-2010 "Rest API trading is not enabled."
-2010 "Account has insufficient balance ..."   ``InsufficientFunds``
-2019 "Margin is insufficient." (futures)      ``InsufficientFunds``
-2010 / -1013 "Duplicate order sent."          ``DuplicateOrder``
-4116 "ClientOrderId is duplicated." (futures) ``DuplicateOrder``
-1013 / -2010 "Market is closed."              ``MarketClosed``
-1013 "Filter failure: ...", other -2010,      ``InvalidOrder``
-11xx parameter errors, -2021/-2022/-2027,
-40xx/-41xx/-5022 futures order errors, -4120
-2011 unknown order (cancel), -2013 no such    ``OrderNotFound``
order, -2026 archived
HTTP 403 (WAF)                                 ``BrokerDown`` (refused before reaching the engine)
any other 4xx with a code                      state change: ``BrokerRejected``; read: ``BrokerProtocolError``
4xx without a JSON code                        ``BrokerProtocolError``
=============================================  ===============================================

Messages carry the operation, the code and Binance's own text (which names parameters, never
their values); never URLs, query strings, headers or signatures.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from boltztrader.brokers.transport import retry_after
from boltztrader.errors import (
    BrokerAuthError,
    BrokerDown,
    BrokerProtocolError,
    BrokerRejected,
    BrokerUnavailable,
    DuplicateOrder,
    InsufficientFunds,
    InvalidOrder,
    MarketClosed,
    OrderNotFound,
    OutcomeUnknown,
    RateLimited,
    TradingError,
)

BROKER = "binance"

INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
DUPLICATE_ORDER = "Duplicate order sent."
MARKET_CLOSED = "Market is closed."
TRADING_DISABLED = "Rest API trading is not enabled."


class TimestampRejected(BrokerUnavailable):
    """-1021: the request's timestamp fell outside recvWindow. Nothing was done (for an order:
    nothing was placed); the clock offset has been re-synced, so sending again is safe."""


UNKNOWN_OUTCOME_CODES = frozenset({-1000, -1006, -1007})
RATE_CODES = frozenset({-1003, -1015})
AUTH_CODES = frozenset({-1022, -2014, -2015})
NOT_FOUND_CODES = frozenset({-2011, -2013, -2026})
INSUFFICIENT_CODES = frozenset({-2019})
DUPLICATE_CODES = frozenset({-4116})
INVALID_CODES = frozenset(
    {
        -1100, -1101, -1102, -1103, -1104, -1105, -1106, -1111, -1112, -1114, -1115, -1116, -1117,
        -1118, -1119, -1120, -1121, -1125, -1127, -1128, -1130, -1131, -1134, -1145, -2021, -2022,
        -2027, -2039, -4003, -4004, -4005, -4013, -4014, -4015, -4016, -4023, -4028, -4061, -4120,
        -4131, -4164, -5022,
    }
)
# -2010 NEW_ORDER_REJECTED and -1013 INVALID_MESSAGE carry the reason in their text.
MESSAGE_TABLE: Mapping[str, type[BrokerRejected]] = {
    INSUFFICIENT_BALANCE: InsufficientFunds,
    DUPLICATE_ORDER: DuplicateOrder,
    MARKET_CLOSED: MarketClosed,
}
_MAX_MSG = 200


def parse_error(body: bytes) -> tuple[int | None, str]:
    """(code, msg) of an error body; (None, "") when it is not Binance's JSON error shape."""
    try:
        data = json.loads(body)
    except ValueError:
        return None, ""
    if not isinstance(data, dict):
        return None, ""
    code = data.get("code")
    msg = data.get("msg")
    if isinstance(code, bool) or not isinstance(code, int):
        return None, ""
    return code, (msg if isinstance(msg, str) else "")[:_MAX_MSG]


def classify(status: int, body: bytes, headers: Mapping[str, str], *, changes_state: bool,
             op: str) -> TradingError:
    """The one exception for a non-2xx answer (see the module's table)."""
    code, msg = parse_error(body)
    where = f"{BROKER} {op}"
    if status in (418, 429) or code in RATE_CODES:
        wait = retry_after(headers)
        kind = "IP banned" if status == 418 else "rate limited"
        return RateLimited(f"{where}: {kind} ({code}): {msg}", retry_after=wait)
    if status >= 500 or code in UNKNOWN_OUTCOME_CODES:
        text = f"{where}: HTTP {status} ({code}): {msg}"
        if changes_state:
            return OutcomeUnknown(text + "; the broker may have acted")
        return BrokerDown(text)
    if code is None:
        if status == 401:
            return BrokerAuthError(f"{where}: HTTP 401 (key refused)")
        if status == 403:
            return BrokerDown(f"{where}: HTTP 403 (refused by the web application firewall)")
        return BrokerProtocolError(f"{where}: HTTP {status} without a Binance error body")
    if code == -1021:
        return TimestampRejected(f"{where}: timestamp rejected (-1021): {msg}; nothing done, safe to resend")
    if code in AUTH_CODES or status == 401 or (code == -2010 and msg == TRADING_DISABLED):
        return BrokerAuthError(f"{where}: credentials refused ({code}): {msg}")
    if code in NOT_FOUND_CODES:
        return OrderNotFound(f"{where}: no such order ({code}): {msg}")
    if code in (-2010, -1013):
        cls = MESSAGE_TABLE.get(msg, InvalidOrder)
        return cls(BROKER, code, msg)
    if code in INSUFFICIENT_CODES:
        return InsufficientFunds(BROKER, code, msg)
    if code in DUPLICATE_CODES:
        return DuplicateOrder(BROKER, code, msg)
    if code in INVALID_CODES:
        return InvalidOrder(BROKER, code, msg)
    if status == 403:
        return BrokerDown(f"{where}: HTTP 403 ({code}): {msg}")
    if changes_state:
        return BrokerRejected(BROKER, code, msg)
    return BrokerProtocolError(f"{where}: unexpected error HTTP {status} ({code}): {msg}")


def local_reject(message: str) -> InvalidOrder:
    """An order we refuse before sending, because Binance would refuse it for its shape."""
    return InvalidOrder(BROKER, None, message)

