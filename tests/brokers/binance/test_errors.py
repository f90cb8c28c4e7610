"""The error table: every Binance status and code lands in exactly one class of ours."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from boltztrader.brokers.binance.errors import TimestampRejected, classify
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
)


def body(code: int, msg: str) -> bytes:
    return json.dumps({"code": code, "msg": msg}).encode()


NO_HEADERS: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())

TABLE = [
    (400, -2010, "Account has insufficient balance for requested action.", InsufficientFunds),
    (400, -2010, "Duplicate order sent.", DuplicateOrder),
    (400, -1013, "Duplicate order sent.", DuplicateOrder),
    (400, -1013, "Market is closed.", MarketClosed),
    (400, -2010, "Market is closed.", MarketClosed),
    (400, -1013, "Filter failure: LOT_SIZE", InvalidOrder),
    (400, -1013, "Filter failure: NOTIONAL", InvalidOrder),
    (400, -2010, "Order would immediately match and take.", InvalidOrder),
    (400, -2010, "Rest API trading is not enabled.", BrokerAuthError),
    (400, -1100, "Illegal characters found in parameter 'quantity'", InvalidOrder),
    (400, -1111, "Parameter 'quantity' has too much precision.", InvalidOrder),
    (400, -1121, "Invalid symbol.", InvalidOrder),
    (400, -2011, "Unknown order sent.", OrderNotFound),
    (400, -2013, "Order does not exist.", OrderNotFound),
    (400, -2026, "Order was canceled or expired with no executed qty over 90 days ago", OrderNotFound),
    (401, -2014, "API-key format invalid.", BrokerAuthError),
    (401, -2015, "Invalid API-key, IP, or permissions for action.", BrokerAuthError),
    (400, -1022, "Signature for this request is not valid.", BrokerAuthError),
    (400, -1021, "Timestamp for this request is outside of the recvWindow.", TimestampRejected),
    (400, -2019, "Margin is insufficient.", InsufficientFunds),
    (400, -4116, "ClientOrderId is duplicated.", DuplicateOrder),
    (400, -4120, "Order type not supported for this endpoint.", InvalidOrder),
    (400, -4164, "Order's notional must be no smaller than 100", InvalidOrder),
    (400, -2022, "ReduceOnly Order is rejected.", InvalidOrder),
    (400, -4061, "Order's position side does not match user's setting.", InvalidOrder),
    (400, -5022, "Due to the order could not be executed as maker", InvalidOrder),
]


@pytest.mark.parametrize(("status", "code", "msg", "expected"), TABLE)
def test_placement_errors_map_by_code_and_message(status: int, code: int, msg: str, expected: type) -> None:
    """Each row of the reference's table gives its class, with Binance's code kept on rejections."""
    error = classify(status, body(code, msg), NO_HEADERS, changes_state=True, op="place_order")
    assert type(error) is expected
    if isinstance(error, BrokerRejected):
        assert error.code == code
        assert error.broker_message == msg


def test_timestamp_rejection_is_retryable() -> None:
    """-1021 is a BrokerUnavailable (nothing was done), never OutcomeUnknown."""
    error = classify(400, body(-1021, "x"), NO_HEADERS, changes_state=True, op="place_order")
    assert isinstance(error, BrokerUnavailable)
    assert not isinstance(error, OutcomeUnknown)


@pytest.mark.parametrize("status", [429, 418])
def test_429_and_418_are_rate_limited_with_retry_after(status: int) -> None:
    """A 429 or an IP ban (418) is RateLimited carrying the Retry-After seconds."""
    headers = CIMultiDictProxy(CIMultiDict({"Retry-After": "7"}))
    error = classify(status, body(-1003, "Too much request weight used"), headers, changes_state=True,
                     op="place_order")
    assert isinstance(error, RateLimited)
    assert error.retry_after == Decimal(7)


def test_order_rate_limit_code_is_rate_limited() -> None:
    """-1015 (too many new orders) is RateLimited even without a 429 status."""
    assert isinstance(classify(400, body(-1015, "Too many new orders"), NO_HEADERS, changes_state=True,
                               op="place_order"), RateLimited)


@pytest.mark.parametrize(("status", "code"), [(500, -1007), (503, -1008), (502, -1006), (504, None),
                                              (400, -1007), (400, -1006), (400, -1000)])
def test_5xx_and_unknown_codes_are_outcome_unknown_on_state_changes(status: int, code: int | None) -> None:
    """A 5xx, -1006/-1007 or -1000 is OutcomeUnknown for a placement and BrokerDown for a read."""
    raw = body(code, "Timeout waiting for response") if code is not None else b"<html>bad gateway</html>"
    assert isinstance(classify(status, raw, NO_HEADERS, changes_state=True, op="place_order"), OutcomeUnknown)
    assert isinstance(classify(status, raw, NO_HEADERS, changes_state=False, op="get_order"), BrokerDown)


def test_non_json_4xx_is_a_protocol_error_and_401_an_auth_error() -> None:
    """A 4xx without Binance's error body is a protocol error, except 401 (auth) and 403 (WAF: down)."""
    assert isinstance(classify(400, b"nope", NO_HEADERS, changes_state=True, op="x"), BrokerProtocolError)
    assert isinstance(classify(401, b"nope", NO_HEADERS, changes_state=True, op="x"), BrokerAuthError)
    assert isinstance(classify(403, b"nope", NO_HEADERS, changes_state=True, op="x"), BrokerDown)


def test_unknown_code_is_a_rejection_for_orders_and_protocol_error_for_reads() -> None:
    """An unlisted 4xx code is a definitive BrokerRejected on a state change, a protocol error on a read."""
    placed = classify(400, body(-9999, "new thing"), NO_HEADERS, changes_state=True, op="place_order")
    assert type(placed) is BrokerRejected
    read = classify(400, body(-9999, "new thing"), NO_HEADERS, changes_state=False, op="get_order")
    assert isinstance(read, BrokerProtocolError)


def test_long_messages_are_truncated() -> None:
    """Broker text is capped so an error can never carry a whole echoed request."""
    error = classify(400, body(-1013, "x" * 5000), NO_HEADERS, changes_state=True, op="place_order")
    assert isinstance(error, InvalidOrder)
    assert len(error.broker_message) <= 200
