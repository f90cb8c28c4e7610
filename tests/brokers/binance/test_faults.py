"""Transport and broker faults: which failures are unknown outcomes, which are safe, and bans."""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal

import pytest

from boltztrader.brokers.transport import Timeouts
from boltztrader.domain.order_states import OrderStatus
from boltztrader.errors import BrokerDown, ConnectionFailed, OrderNotFound, OutcomeUnknown, RateLimited
from tests.paper.conftest import free_port

from .conftest import SYMBOL, Paper, cid, spot_order


def rule(op: str, action: str, **extra: object) -> dict[str, object]:
    return {"rules": [{"op": op, "action": action, "count": 1, **extra}]}


async def test_429_is_rate_limited_with_retry_after_and_nothing_placed(paper: Paper) -> None:
    """A 429 on placement is RateLimited(retry_after from Retry-After); no order exists afterwards."""
    broker = paper.broker()
    paper.faults(rule("place_order", "rate_limit", retry_after_s=4))
    client_id = cid()
    with pytest.raises(RateLimited) as caught:
        await broker.place_order(spot_order(client_id))
    assert caught.value.retry_after == Decimal(4)
    assert broker.banned_until is None
    with pytest.raises(OrderNotFound):
        await broker.get_order(SYMBOL, client_order_id=client_id)


async def test_418_ban_is_rate_limited_and_later_calls_fail_fast(paper: Paper) -> None:
    """An HTTP 418 is RateLimited, sets banned_until, and calls during the ban never reach the network."""
    broker = paper.broker()
    await broker.get_balance()
    paper.faults(rule("place_order", "ban", retry_after_s=2))
    with pytest.raises(RateLimited) as caught:
        await broker.place_order(spot_order(cid()))
    assert caught.value.retry_after == Decimal(2)
    banned = broker.banned_until
    assert banned is not None
    assert 0 < banned.timestamp() - time.time() <= 2.1
    used = broker.rate_budgets()[0].used
    with pytest.raises(RateLimited, match="not sent"):
        await broker.get_balance()
    assert broker.rate_budgets()[0].used == used


async def test_5xx_after_acting_is_outcome_unknown_and_the_order_exists(paper: Paper) -> None:
    """A 500 (-1007) after the broker acted is OutcomeUnknown; a look-up by client id finds the order."""
    broker = paper.broker()
    paper.faults(rule("place_order", "error_after", status=500))
    client_id = cid()
    with pytest.raises(OutcomeUnknown):
        await broker.place_order(spot_order(client_id))
    found = await broker.get_order(SYMBOL, client_order_id=client_id)
    assert found.status is OrderStatus.FILLED


async def test_5xx_before_acting_is_still_unknown_and_never_resent(paper: Paper) -> None:
    """A 503 on placement is OutcomeUnknown (not knowable), and the adapter did not resend it."""
    broker = paper.broker()
    paper.faults(rule("place_order", "error_before", status=503))
    client_id = cid()
    with pytest.raises(OutcomeUnknown):
        await broker.place_order(spot_order(client_id))
    with pytest.raises(OrderNotFound):
        await broker.get_order(SYMBOL, client_order_id=client_id)


async def test_5xx_on_a_read_is_broker_down(paper: Paper) -> None:
    """A 503 on get_order is BrokerDown (a read changes nothing)."""
    broker = paper.broker()
    paper.faults(rule("get_order", "error_before", status=503))
    with pytest.raises(BrokerDown):
        await broker.get_order(SYMBOL, client_order_id="x")


async def test_read_timeout_after_acceptance_is_outcome_unknown(paper: Paper) -> None:
    """An answer held past the read timeout is OutcomeUnknown; the order was placed."""
    broker = paper.broker(timeouts=Timeouts(connect=2, read=0.3))
    paper.faults(rule("place_order", "hold_after", hold_ms=1500))
    client_id = cid()
    with pytest.raises(OutcomeUnknown):
        await broker.place_order(spot_order(client_id))
    assert (await broker.get_order(SYMBOL, client_order_id=client_id)).status is OrderStatus.FILLED


async def test_dropped_connection_after_acting_is_outcome_unknown(paper: Paper) -> None:
    """A connection dropped after the broker acted is OutcomeUnknown."""
    broker = paper.broker()
    paper.faults(rule("place_order", "drop_after"))
    client_id = cid()
    with pytest.raises(OutcomeUnknown):
        await broker.place_order(spot_order(client_id))
    assert (await broker.get_order(SYMBOL, client_order_id=client_id)).client_order_id == client_id


async def test_connection_refused_is_connection_failed(paper: Paper) -> None:
    """A closed port is ConnectionFailed: nothing left this machine, so sending again is safe."""
    config = paper.config(sync_time=False)
    closed = f"http://127.0.0.1:{free_port()}"
    broker = paper.broker(replace(config, base_url=closed))
    with pytest.raises(ConnectionFailed):
        await broker.place_order(spot_order(cid()))
