"""Transport and server failures: what the adapter raises for each, and what the broker then holds."""

from __future__ import annotations

import uuid

import pytest

from boltztrader.brokers.transport import Timeouts
from boltztrader.domain.order_states import OrderStatus
from boltztrader.errors import (
    BrokerAuthError,
    BrokerDown,
    ConnectionFailed,
    OrderNotFound,
    OutcomeUnknown,
    RateLimited,
)
from tests.paper.conftest import free_port

from .conftest import SYMBOL, Paper, admin, limit, market


def cid() -> str:
    return "bz" + uuid.uuid4().hex[:30]


def rule(op: str, action: str, **extra: object) -> dict[str, object]:
    return {"rules": [{"op": op, "action": action, "count": 1, **extra}]}


async def test_an_injected_429_carries_retry_after_and_places_nothing(alpaca_paper: Paper) -> None:
    """A 429 on placement is RateLimited with the Retry-After seconds, and no order exists."""
    broker = alpaca_paper.broker()
    alpaca_paper.faults(rule("place_order", "rate_limit", retry_after_s=4))
    client_id = cid()
    with pytest.raises(RateLimited) as caught:
        await broker.place_order(market(client_id))
    assert caught.value.retry_after == 4
    with pytest.raises(OrderNotFound):
        await broker.get_order(SYMBOL, client_order_id=client_id)


async def test_a_5xx_before_acting_on_placement_is_outcome_unknown(alpaca_paper: Paper) -> None:
    """A 503 on POST /v2/orders cannot be told apart from one after acting: OutcomeUnknown, never a retry."""
    broker = alpaca_paper.broker()
    alpaca_paper.faults(rule("place_order", "error_before", status=503))
    client_id = cid()
    with pytest.raises(OutcomeUnknown):
        await broker.place_order(market(client_id))
    with pytest.raises(OrderNotFound):  # the look-up is how the caller resolves it
        await broker.get_order(SYMBOL, client_order_id=client_id)


async def test_a_5xx_after_acting_is_outcome_unknown_and_the_order_exists(alpaca_paper: Paper) -> None:
    """A 500 after the broker placed the order is OutcomeUnknown; the order is then found by client id."""
    broker = alpaca_paper.broker()
    alpaca_paper.faults(rule("place_order", "error_after", status=500))
    client_id = cid()
    with pytest.raises(OutcomeUnknown):
        await broker.place_order(market(client_id))
    assert (await broker.get_order(SYMBOL, client_order_id=client_id)).client_order_id == client_id


async def test_a_dropped_answer_on_placement_is_outcome_unknown(alpaca_paper: Paper) -> None:
    """The server closing the connection after acting is OutcomeUnknown, and the order exists."""
    broker = alpaca_paper.broker()
    alpaca_paper.faults(rule("place_order", "drop_after"))
    client_id = cid()
    with pytest.raises(OutcomeUnknown):
        await broker.place_order(market(client_id))
    assert (await broker.get_order(SYMBOL, client_order_id=client_id)).client_order_id == client_id


async def test_a_read_timeout_on_placement_is_outcome_unknown(alpaca_paper: Paper) -> None:
    """An answer held past the read timeout is OutcomeUnknown; the order filled meanwhile."""
    broker = alpaca_paper.broker(timeouts=Timeouts(connect=3, read=0.2))
    alpaca_paper.faults(rule("place_order", "hold_after", hold_ms=1000))
    client_id = cid()
    with pytest.raises(OutcomeUnknown):
        await broker.place_order(market(client_id))
    assert (await broker.get_order(SYMBOL, client_order_id=client_id)).status is OrderStatus.FILLED


async def test_a_dropped_answer_on_cancel_never_hides_the_outcome(alpaca_paper: Paper) -> None:
    """A cancel whose answer is lost is OutcomeUnknown, or (aiohttp resends an idempotent DELETE on a
    reused connection, and Alpaca answers 422 'already canceled') the cancelled order's report."""
    broker = alpaca_paper.broker()
    ack = await broker.place_order(limit(cid(), "100.00"))
    alpaca_paper.faults(rule("cancel_order", "drop_after"))
    try:
        report = await broker.cancel_order(SYMBOL, broker_order_id=ack.broker_order_id)
    except OutcomeUnknown:
        report = await broker.get_order(SYMBOL, broker_order_id=ack.broker_order_id)
    assert report.status is OrderStatus.CANCELLED


async def test_a_5xx_on_a_read_is_broker_down(alpaca_paper: Paper) -> None:
    """A 503 on GET /v2/account is BrokerDown (retryable), not OutcomeUnknown."""
    broker = alpaca_paper.broker()
    alpaca_paper.faults(rule("account", "error_before", status=503))
    with pytest.raises(BrokerDown):
        await broker.get_balance()
    assert (await broker.get_balance()).cash > 0  # the fault fired once


async def test_a_read_timeout_on_a_read_is_broker_down(alpaca_paper: Paper) -> None:
    """A GET held past the read timeout is BrokerDown."""
    broker = alpaca_paper.broker(timeouts=Timeouts(connect=3, read=0.2))
    alpaca_paper.faults(rule("get_order", "hold_after", hold_ms=1000))
    ack = await broker.place_order(market(cid()))
    with pytest.raises(BrokerDown):
        await broker.get_order(SYMBOL, broker_order_id=ack.broker_order_id)


async def test_connection_refused_is_connection_failed(alpaca_paper: Paper) -> None:
    """Nothing listening: placement and reads raise ConnectionFailed (nothing was sent)."""
    broker = alpaca_paper.broker(base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ConnectionFailed):
        await broker.place_order(market(cid()))
    with pytest.raises(ConnectionFailed):
        await broker.get_positions()


async def test_a_revoked_key_is_an_auth_error(alpaca_paper: Paper) -> None:
    """After the key is revoked every call is BrokerAuthError, placement included."""
    broker = alpaca_paper.broker()
    await broker.get_balance()
    admin(alpaca_paper.paper, "POST", f"/_paper/accounts/{alpaca_paper.account['account_id']}/revoke")
    with pytest.raises(BrokerAuthError):
        await broker.get_balance()
    with pytest.raises(BrokerAuthError):
        await broker.place_order(market(cid()))
