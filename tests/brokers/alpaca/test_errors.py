"""The error table: each Alpaca status/code/message maps onto exactly one class of ours."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from boltztrader.brokers.alpaca.errors import NotCancelable, error_for
from boltztrader.errors import (
    BrokerAuthError,
    BrokerDown,
    BrokerProtocolError,
    BrokerRejected,
    DuplicateOrder,
    InsufficientFunds,
    InvalidOrder,
    MarketClosed,
    OrderNotFound,
    OutcomeUnknown,
    RateLimited,
)


def body(code: int | None, message: str, **extra: object) -> bytes:
    data: dict[str, object] = dict(extra)
    if code is not None:
        data["code"] = code
    data["message"] = message
    return json.dumps(data).encode()


CASES = [
    (401, body(40110000, "request is not authorized"), True, BrokerAuthError),
    (403, body(None, "forbidden."), True, BrokerAuthError),
    (403, body(None, "forbidden."), False, BrokerAuthError),
    (403, body(40310000, "insufficient buying power", buying_power="1", cost_basis="2"), True,
     InsufficientFunds),
    (403, body(40310000, "insufficient day trading buying power"), True, InsufficientFunds),
    (403, body(40310000, "insufficient qty available for order (requested: 2, available: 0)"), True,
     InsufficientFunds),
    (403, body(40310000, "account is not allowed to short"), True, InsufficientFunds),
    (403, body(40310000, "potential wash trade detected. use complex orders"), True, InvalidOrder),
    (403, body(40310100, "trade denied due to pattern day trading protection"), True, InvalidOrder),
    (403, body(40310000, "something new"), True, BrokerRejected),
    (404, body(40410000, "order not found"), False, OrderNotFound),
    (404, body(40410000, "endpoint not found"), False, BrokerProtocolError),
    (422, body(40010001, "client_order_id must be unique"), True, DuplicateOrder),
    (422, body(40010001, "could not find us_equity 'ZZZZ'"), True, InvalidOrder),
    (422, body(42210000, "invalid limit_price 290.123. sub-penny increment does not fulfill minimum pricing "
                         "criteria"), True, InvalidOrder),
    (422, body(42210000, "fractional orders must be DAY orders"), True, InvalidOrder),
    (422, body(42210000, 'order is already in "filled" state'), True, NotCancelable),
    (422, body(42210000, "opg orders are only accepted before 09:28 ET or after 19:00 ET"), True,
     MarketClosed),
    (400, body(40010000, "only one of qty or notional may be set"), True, InvalidOrder),
    (429, body(42910000, "rate limit exceeded"), True, RateLimited),
    (500, body(50000000, "internal server error"), True, OutcomeUnknown),
    (503, b"<html>bad gateway</html>", True, OutcomeUnknown),
    (504, body(50400000, "gateway timeout"), False, BrokerDown),
    (302, b"", False, BrokerProtocolError),
]


@pytest.mark.parametrize(("status", "raw", "changes_state", "expected"), CASES)
def test_each_answer_maps_to_its_class(status: int, raw: bytes, changes_state: bool, expected: type) -> None:
    """The table gives exactly the expected class (not merely a parent of it)."""
    error = error_for(status, raw, {}, changes_state=changes_state, where="POST /v2/orders")
    assert type(error) is expected
    if not isinstance(error, BrokerRejected):  # rejections carry (broker, code, message) instead
        assert "POST /v2/orders" in str(error)


def test_rejections_carry_broker_code_and_message() -> None:
    """A BrokerRejected keeps Alpaca's code and message for the audit trail."""
    message = "insufficient buying power"
    error = error_for(403, body(40310000, message), {}, changes_state=True, where="POST /x")
    assert isinstance(error, InsufficientFunds)
    assert (error.broker, error.code, error.broker_message) == ("alpaca", 40310000, message)


def test_a_404_on_a_symbol_lookup_is_an_invalid_symbol_not_a_missing_order() -> None:
    """Assets and market data 404s mean an unknown symbol: InvalidOrder, not OrderNotFound."""
    error = error_for(404, body(40410000, "asset not found for ZZZZ"), {}, changes_state=False,
                      where="GET /v2/assets/ZZZZ", symbol_lookup=True)
    assert type(error) is InvalidOrder


def test_429_prefers_retry_after() -> None:
    """With a Retry-After header, retry_after is exactly its value."""
    error = error_for(429, body(42910000, "rate limit exceeded"), {"Retry-After": "3",
                                                                    "X-Ratelimit-Reset": "1"},
                      changes_state=True, where="POST /v2/orders")
    assert isinstance(error, RateLimited)
    assert error.retry_after == Decimal(3)


def test_429_falls_back_to_the_rate_limit_reset() -> None:
    """Without Retry-After, retry_after counts down to X-Ratelimit-Reset (unix seconds)."""
    reset = int(time.time()) + 20
    error = error_for(429, body(42910000, "rate limit exceeded"), {"X-Ratelimit-Reset": str(reset)},
                      changes_state=False, where="GET /v2/account")
    assert isinstance(error, RateLimited)
    assert error.retry_after is not None
    assert Decimal(18) <= error.retry_after <= Decimal(20)


def test_429_with_a_past_reset_waits_zero_and_without_headers_has_none() -> None:
    """A reset already past gives 0 seconds; no header at all gives None."""
    past = error_for(429, b"{}", {"X-Ratelimit-Reset": "1"}, changes_state=False, where="GET /x")
    bare = error_for(429, b"{}", {}, changes_state=False, where="GET /x")
    assert isinstance(past, RateLimited)
    assert isinstance(bare, RateLimited)
    assert past.retry_after == Decimal(0)
    assert bare.retry_after is None


def test_long_broker_messages_are_truncated() -> None:
    """A huge error message is cut to 200 characters in our exception."""
    error = error_for(422, body(40010001, "x" * 5000), {}, changes_state=True, where="POST /v2/orders")
    assert isinstance(error, InvalidOrder)
    assert len(error.broker_message) == 200
