"""The Kite order-update WebSocket through KiteBroker.events(), and postbacks from the paper Kite."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import web

from boltztrader.brokers.kite import KiteBroker, verify_postback
from boltztrader.brokers.kite.login import InvalidPostback
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import BrokerEvent, OrderUpdate, StreamGap
from boltztrader.domain.secrets import Secret
from boltztrader.errors import BrokerAuthError
from tests.paper.conftest import RunningPaper, free_port

from .conftest import Account, admin, set_clock, venue_now
from .test_broker import cid, order

Events = asyncio.Queue[BrokerEvent]


@contextlib.asynccontextmanager
async def consuming(broker: KiteBroker) -> AsyncIterator[tuple[Events, asyncio.Task[None]]]:
    received: Events = asyncio.Queue()

    async def consume() -> None:
        async for event in broker.events():
            received.put_nowait(event)

    task = asyncio.create_task(consume())
    try:
        yield received, task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def update_for(broker: KiteBroker, received: Events, *, seconds: float = 10) -> tuple[str, OrderUpdate]:
    """Place market orders until the stream delivers a final update for one of them."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        coid = cid()
        await broker.place_order(order(coid))
        with contextlib.suppress(TimeoutError):
            while True:
                event = await asyncio.wait_for(received.get(), timeout=1)
                if isinstance(event, OrderUpdate) and event.order.client_order_id == coid:
                    return coid, event
    pytest.fail("no order update arrived")


async def next_gap(received: Events, seconds: float = 10) -> StreamGap:
    async with asyncio.timeout(seconds):
        while True:
            event = await received.get()
            if isinstance(event, StreamGap):
                return event


async def test_a_fill_arrives_as_an_order_update_with_our_id_and_no_fill_report(broker: KiteBroker) -> None:
    """A filled market order's update carries our client id, its cumulative fill, and fill None."""
    async with consuming(broker) as (received, _):
        _, update = await update_for(broker, received)
    assert update.order.status is OrderStatus.FILLED
    assert update.order.filled_quantity == 1
    assert update.order.average_price
    assert update.fill is None


async def test_a_dropped_stream_yields_a_gap_and_recovers(broker: KiteBroker, paper: RunningPaper) -> None:
    """After the server closes the stream, a StreamGap comes first and updates flow again."""
    async with consuming(broker) as (received, _):
        await update_for(broker, received)
        admin(paper, "PUT", "/_paper/faults", json={"stream": {"disconnect_every": 1}})
        await broker.place_order(order(cid()))
        gap = await next_gap(received)
        assert gap.since <= gap.until
        assert "closed" in gap.reason
        admin(paper, "PUT", "/_paper/faults", json={})
        _, update = await update_for(broker, received)
        assert update.order.status is OrderStatus.FILLED


async def test_an_expired_token_ends_the_stream_with_an_auth_error(broker: KiteBroker,
                                                                   account: Account) -> None:
    """A stream whose token Kite refuses raises BrokerAuthError instead of retrying, and marks needs_login."""
    set_clock(account.paper, venue_now(account.paper) + timedelta(days=1, hours=1))
    async with consuming(broker) as (_, task):
        await asyncio.wait({task}, timeout=10)
        assert task.done()
        with pytest.raises(BrokerAuthError):
            task.result()
    assert broker.needs_login


async def test_a_paper_postback_verifies_with_the_secret(account: Account, broker: KiteBroker) -> None:
    """The paper Kite's postback for a fill passes verify_postback with our secret, and fails with another."""
    bodies: asyncio.Queue[bytes] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        bodies.put_nowait(await request.read())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/postback", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        admin(account.paper, "PUT", f"/_paper/accounts/{account.api_key}/postback",
              json={"url": f"http://127.0.0.1:{port}/postback"})
        ack = await broker.place_order(order(cid()))
        body = await asyncio.wait_for(bodies.get(), timeout=10)
    finally:
        await runner.cleanup()
    row = verify_postback(body, Secret(account.api_secret))
    assert (row["order_id"], row["status"]) == (ack.broker_order_id, "COMPLETE")
    with pytest.raises(InvalidPostback):
        verify_postback(body, Secret("another secret"))
