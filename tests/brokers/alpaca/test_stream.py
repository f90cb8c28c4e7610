"""events(): the trade_updates stream mapped to OrderUpdate / FillReport, gaps after outages, auth, close."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest

from boltztrader.brokers.alpaca import AlpacaBroker
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import BrokerEvent, FillReport, OrderUpdate, StreamGap
from boltztrader.errors import BrokerAuthError
from boltztrader.paper.engine import EngineConfig
from boltztrader.paper.venue import VenueConfig
from tests.paper.conftest import free_port

from .conftest import SYMBOL, Paper, market


def cid() -> str:
    return "bz" + uuid.uuid4().hex[:30]


class Collector:
    """Runs ``events()`` in a task and queues whatever it yields (or the exception that ended it)."""

    def __init__(self, broker: AlpacaBroker) -> None:
        self.queue: asyncio.Queue[BrokerEvent | BaseException] = asyncio.Queue()
        self.task = asyncio.create_task(self._run(broker.events()))

    async def _run(self, events: AsyncIterator[BrokerEvent]) -> None:
        try:
            async for event in events:
                self.queue.put_nowait(event)
        except Exception as exc:
            self.queue.put_nowait(exc)

    async def next(self, want: Callable[[BrokerEvent], bool], seconds: float = 10) -> BrokerEvent:
        async with asyncio.timeout(seconds):
            while True:
                item = await self.queue.get()
                if isinstance(item, BaseException):
                    raise item
                if want(item):
                    return item

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def update_for(client_id: str, *, fill: bool = False) -> Callable[[BrokerEvent], bool]:
    def matches(event: BrokerEvent) -> bool:
        return (isinstance(event, OrderUpdate) and event.order.client_order_id == client_id
                and (event.fill is not None or not fill))
    return matches


async def listening(broker: AlpacaBroker, events: Collector) -> None:
    """Place orders until one comes back over the stream (the listen has then taken effect)."""
    for _ in range(20):
        client_id = cid()
        await broker.place_order(market(client_id))
        with contextlib.suppress(TimeoutError):
            await events.next(update_for(client_id, fill=True), seconds=1)
            return
    raise AssertionError("the stream never delivered")


async def test_a_fill_arrives_as_an_order_update_with_its_execution(alpaca_paper: Paper) -> None:
    """A market buy's fill event carries the filled order and a FillReport keyed by execution_id."""
    broker = alpaca_paper.broker()
    events = Collector(broker)
    try:
        await listening(broker, events)
        client_id = cid()
        ack = await broker.place_order(market(client_id, "2"))
        update = await events.next(update_for(client_id, fill=True))
        assert isinstance(update, OrderUpdate)
        fill = update.fill
        assert isinstance(fill, FillReport)
        assert str(uuid.UUID(fill.broker_trade_id)) == fill.broker_trade_id
        assert (fill.broker_order_id, fill.client_order_id) == (ack.broker_order_id, client_id)
        assert fill.symbol == SYMBOL
        assert fill.quantity == Decimal(2)
        assert fill.price > 0
        assert update.order.status is OrderStatus.FILLED
        assert update.order.filled_quantity == Decimal(2)
    finally:
        await events.stop()


async def test_split_fills_arrive_as_partial_fills_with_distinct_ids(
        start_paper: Callable[[VenueConfig], Paper]) -> None:
    """With fills in three parts, three FillReports with distinct trade ids add up to the order."""
    world = start_paper(VenueConfig(tick_seconds=0, engine=EngineConfig(fill_parts=3)))
    broker = world.broker()
    events = Collector(broker)
    try:
        await listening(broker, events)
        client_id = cid()
        await broker.place_order(market(client_id, "3"))
        fills = [await events.next(update_for(client_id, fill=True)) for _ in range(3)]
        reports = [f.fill for f in fills if isinstance(f, OrderUpdate) and f.fill is not None]
        assert len({r.broker_trade_id for r in reports}) == 3
        assert sum(r.quantity for r in reports) == Decimal(3)
        statuses = [f.order.status for f in fills if isinstance(f, OrderUpdate)]
        assert statuses == [OrderStatus.PARTIALLY_FILLED, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED]
    finally:
        await events.stop()
        await broker.close()


async def test_a_dropped_stream_yields_a_gap_and_recovers(alpaca_paper: Paper) -> None:
    """When the server drops the stream, a StreamGap follows, and later orders' updates still arrive."""
    broker = alpaca_paper.broker()
    events = Collector(broker)
    try:
        await listening(broker, events)
        alpaca_paper.faults({"stream": {"disconnect_every": 1}})
        await broker.place_order(market(cid()))
        gap = await events.next(lambda e: isinstance(e, StreamGap))
        assert isinstance(gap, StreamGap)
        assert gap.since <= gap.until
        assert gap.reason
        alpaca_paper.faults({})
        await listening(broker, events)  # raises if nothing arrives again
    finally:
        await events.stop()


async def test_fills_missed_while_down_are_found_by_reconciling(alpaca_paper: Paper) -> None:
    """After a gap, the order whose fill was missed shows filled over REST (what the gap asks for)."""
    broker = alpaca_paper.broker()
    events = Collector(broker)
    try:
        await listening(broker, events)
        alpaca_paper.faults({"stream": {"disconnect_every": 1}})
        client_id = cid()
        await broker.place_order(market(client_id))
        await events.next(lambda e: isinstance(e, StreamGap))
        report = await broker.get_order(SYMBOL, client_order_id=client_id)
        assert report.status is OrderStatus.FILLED
    finally:
        await events.stop()


async def test_a_bad_key_ends_the_stream_with_an_auth_error(alpaca_paper: Paper) -> None:
    """An unauthorized answer to the stream's authenticate raises BrokerAuthError from events()."""
    broker = alpaca_paper.broker(secret="0" * 48)

    async def drain() -> None:
        async with asyncio.timeout(10):
            async for _ in broker.events():
                pass

    with pytest.raises(BrokerAuthError):
        await drain()


async def test_an_unreachable_stream_keeps_retrying_until_closed(alpaca_paper: Paper) -> None:
    """With nothing listening, events() retries quietly (no exception) and close() ends it."""
    broker = alpaca_paper.broker(stream_url=f"ws://127.0.0.1:{free_port()}/stream")
    events = Collector(broker)
    await asyncio.sleep(0.4)
    assert not events.task.done()
    assert events.queue.empty()
    await broker.close()
    await asyncio.wait_for(events.task, timeout=5)
    assert events.queue.empty()


async def test_close_ends_a_live_stream(alpaca_paper: Paper) -> None:
    """close() while listening ends the iteration instead of reconnecting."""
    broker = alpaca_paper.broker()
    events = Collector(broker)
    await listening(broker, events)
    await broker.close()
    await asyncio.wait_for(events.task, timeout=5)
    while not events.queue.empty():
        assert not isinstance(events.queue.get_nowait(), BaseException)
