"""events(): spot WebSocket API and futures listenKey streams, reconnects, gaps and auth failures."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

import pytest

from boltztrader.brokers.binance.stream import UserStream
from boltztrader.domain.enums import Market, OrderType
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import BrokerEvent, OrderUpdate, StreamGap
from boltztrader.errors import BrokerAuthError

from .conftest import SYMBOL, Paper, cid, futures_order, next_event, spot_order

D = Decimal


def update_for(client_id: str, status: OrderStatus | None = None):  # type: ignore[no-untyped-def]
    def want(event: BrokerEvent) -> bool:
        return (isinstance(event, OrderUpdate) and event.order.client_order_id == client_id
                and (status is None or event.order.status is status))
    return want


async def wait_subscribed(paper: Paper, account_id: str, seconds: float = 5) -> None:
    """Until the paper venue has a stream subscriber for the account (our subscription is live)."""
    venue = paper.paper.venue
    async with asyncio.timeout(seconds):
        while not paper.paper.call(lambda: bool(venue._subscriptions.get(account_id))):  # noqa: ASYNC110
            await asyncio.sleep(0.02)  # the venue lives on another thread's loop: poll it


async def test_spot_stream_delivers_order_updates_and_fills(paper: Paper) -> None:
    """A spot market order arrives as an OrderUpdate whose fill carries the trade id and price."""
    broker = paper.broker()
    async with contextlib.aclosing(broker.events()) as events:
        task = asyncio.create_task(next_event(events, update_for(client_id := cid(), OrderStatus.FILLED)))
        await wait_subscribed(paper, paper.account["account_id"])
        await broker.place_order(spot_order(client_id))
        event = await task
    assert isinstance(event, OrderUpdate)
    assert event.fill is not None
    assert event.fill.broker_trade_id.isdigit()
    assert event.fill.quantity == D("0.001")
    assert event.fill.price > 0
    assert event.order.filled_quantity == D("0.001")


async def test_spot_stream_reports_cancel_with_our_client_id(paper: Paper) -> None:
    """A cancelled order's update names our client id (``C``), not the cancel's own id."""
    broker = paper.broker()
    client_id = cid()
    async with contextlib.aclosing(broker.events()) as events:
        task = asyncio.create_task(next_event(events, update_for(client_id, OrderStatus.CANCELLED)))
        await wait_subscribed(paper, paper.account["account_id"])
        await broker.place_order(spot_order(client_id, order_type=OrderType.LIMIT, limit_price=D("50000")))
        await broker.cancel_order(SYMBOL, client_order_id=client_id)
        event = await task
    assert isinstance(event, OrderUpdate)
    assert event.fill is None


async def test_futures_stream_uses_a_listen_key(paper: Paper) -> None:
    """The futures stream (listenKey) delivers ORDER_TRADE_UPDATE fills as OrderUpdates."""
    broker = paper.broker(market=Market.CRYPTO_FUTURES)
    client_id = cid()
    async with contextlib.aclosing(broker.events()) as events:
        task = asyncio.create_task(next_event(events, update_for(client_id, OrderStatus.FILLED)))
        await wait_subscribed(paper, paper.account["account_id"] + ":F")
        await broker.place_order(futures_order(client_id))
        event = await task
    assert isinstance(event, OrderUpdate)
    assert event.fill is not None
    assert event.fill.quantity == D("0.01")


@pytest.mark.parametrize("market", [Market.CRYPTO, Market.CRYPTO_FUTURES])
async def test_disconnect_yields_a_gap_then_recovers(paper: Paper, market: Market) -> None:
    """When the server drops the stream a StreamGap follows the reconnect, and updates flow again."""
    broker = paper.broker(market=market)
    account = paper.account["account_id"] + (":F" if market is Market.CRYPTO_FUTURES else "")
    make = futures_order if market is Market.CRYPTO_FUTURES else spot_order
    async with contextlib.aclosing(broker.events()) as events:
        await_gap = asyncio.create_task(next_event(events, lambda e: isinstance(e, StreamGap)))
        await wait_subscribed(paper, account)
        paper.faults({"stream": {"disconnect_every": 1}})
        await broker.place_order(make(cid()))
        gap = await await_gap
        assert isinstance(gap, StreamGap)
        assert gap.until >= gap.since
        assert gap.reason == "stream disconnected"
        paper.faults({})
        await wait_subscribed(paper, account)
        client_id = cid()
        task = asyncio.create_task(next_event(events, update_for(client_id, OrderStatus.FILLED)))
        await broker.place_order(make(client_id))
        assert isinstance(await task, OrderUpdate)


async def test_stream_that_cannot_connect_reports_the_outage_once_up(paper: Paper) -> None:
    """While the WebSocket endpoint refuses, the stream retries; once subscribed, one gap covers it."""
    from dataclasses import replace

    good = paper.config()
    broker = paper.broker(replace(good, ws_api_url=good.ws_api_url + "-nope"))
    stream = UserStream(broker._client, broker._config)
    events = stream.run()
    first = asyncio.create_task(anext(events))
    await asyncio.sleep(0.3)  # a few failed attempts
    assert not first.done()
    stream._config = good  # the endpoint comes back
    gap = await asyncio.wait_for(first, 5)
    assert isinstance(gap, StreamGap)
    assert "could not connect" in gap.reason
    assert (gap.until - gap.since).total_seconds() >= 0.25
    await stream.close()
    await events.aclose()


@pytest.mark.parametrize("market", [Market.CRYPTO, Market.CRYPTO_FUTURES])
async def test_stream_with_a_refused_key_raises_auth_error(paper: Paper, market: Market) -> None:
    """A refused key ends the stream with BrokerAuthError instead of retrying forever."""
    broker = paper.broker(key="unknownKey42", market=market, sync_time=False)
    with pytest.raises(BrokerAuthError):
        async with asyncio.timeout(5):
            await anext(broker.events())


async def test_close_ends_a_waiting_stream(paper: Paper) -> None:
    """broker.close() ends an events() iterator that is waiting for the next event."""
    broker = paper.broker()
    events = broker.events()
    waiting = asyncio.create_task(anext(events))
    await wait_subscribed(paper, paper.account["account_id"])
    await broker.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, 5)


def test_malformed_event_becomes_a_zero_length_gap(paper: Paper) -> None:
    """An executionReport missing fields is skipped and reported as a zero-length StreamGap."""
    stream = UserStream(paper.broker()._client, paper.config())
    decoded = stream._decode({"subscriptionId": 0, "event": {"e": "executionReport", "X": "NEW"}}, False)
    assert len(decoded) == 1
    gap = decoded[0]
    assert isinstance(gap, StreamGap)
    assert gap.since == gap.until
    assert stream._decode({"subscriptionId": 0, "event": {"e": "eventStreamTerminated"}}, False) == [None]
    assert stream._decode({"id": 1, "status": 200, "result": {}}, False) == []


async def test_futures_keepalive_keeps_the_stream_and_a_revoked_key_ends_it(paper: Paper) -> None:
    """The listenKey is extended on schedule; once the key is revoked the keep-alive fails, the
    stream reconnects, and the refused key ends it with BrokerAuthError."""
    broker = paper.broker(market=Market.CRYPTO_FUTURES, listen_key_keepalive=0.1)
    account = paper.account["account_id"] + ":F"
    events = broker.events()
    try:
        client_id = cid()
        task = asyncio.create_task(next_event(events, update_for(client_id, OrderStatus.FILLED)))
        await wait_subscribed(paper, account)
        await asyncio.sleep(0.35)  # a few keep-alives went through without dropping the stream
        await broker.place_order(futures_order(client_id))
        assert isinstance(await task, OrderUpdate)
        paper.revoke()
        with pytest.raises(BrokerAuthError):
            await next_event(events, lambda _: False, seconds=5)
    finally:
        await events.aclose()
