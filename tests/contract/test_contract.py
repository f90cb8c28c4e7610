"""The broker contract: every adapter behaves the same way against its paper broker, over real sockets.

Scenarios from the adapters issue: market and limit orders, partial fills, cancel, look-up by
client id, open orders, positions and balance after fills, each rejection class, 429 with
Retry-After, expired credentials, a timeout after the broker accepted, a stream that drops.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from decimal import Decimal

import pytest

from boltztrader.brokers.base import Broker
from boltztrader.brokers.transport import Timeouts
from boltztrader.domain.enums import OrderType
from boltztrader.domain.ids import client_order_id, kite_tag
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import OrderAck, OrderReport, OrderUpdate, StreamGap
from boltztrader.errors import (
    BrokerAuthError,
    DuplicateOrder,
    InsufficientFunds,
    InvalidOrder,
    MarketClosed,
    OrderNotFound,
    OutcomeUnknown,
    RateLimited,
)

from ..paper.conftest import RunningPaper
from .conftest import load
from .harness import Harness, order, price_of, set_faults, set_price

_ids = itertools.count(1)


def new_cid() -> str:
    return client_order_id(f"signal-{next(_ids)}", "contract-account")


def same_order(report: OrderReport, cid: str) -> bool:
    """Kite carries our id in a 20-character tag; the others carry it whole."""
    return report.client_order_id in (cid, kite_tag(cid))


async def settled(broker: Broker, symbol: str, cid: str, *, want: set[OrderStatus],
                  seconds: float = 5) -> OrderReport:
    """Poll get_order by client id until its status is one of ``want``."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        report = await broker.get_order(symbol, client_order_id=cid)
        if report.status in want or asyncio.get_running_loop().time() > deadline:
            return report
        await asyncio.sleep(0.05)


def below(harness: Harness, fraction: str) -> Decimal:
    """A price ``fraction`` below the current one, on the tick."""
    price = price_of(harness.paper, harness.spot.symbol) * (1 - Decimal(fraction))
    return (price / harness.spot.tick).to_integral_value() * harness.spot.tick


async def test_market_order_fills(harness: Harness) -> None:
    """A market buy is acknowledged with a broker id and fills in full at a positive price."""
    broker = await harness.broker()
    try:
        cid = new_cid()
        ack = await broker.place_order(order(harness.spot, cid))
        assert ack.broker_order_id
        report = await settled(broker, harness.spot.symbol, cid, want={OrderStatus.FILLED})
        assert report.status is OrderStatus.FILLED
        assert report.filled_quantity == harness.spot.quantity
        assert report.average_price is not None
        assert report.average_price > 0
        assert same_order(report, cid)
    finally:
        await broker.close()


async def test_limit_order_rests_then_fills_when_the_price_crosses(harness: Harness) -> None:
    """A limit buy below the market rests open, shows among open orders, and fills once the price crosses."""
    broker = await harness.broker()
    try:
        cid, limit = new_cid(), below(harness, "0.02")
        await broker.place_order(order(harness.spot, cid, order_type=OrderType.LIMIT, limit_price=limit))
        rest = await settled(broker, harness.spot.symbol, cid, want={OrderStatus.OPEN})
        assert rest.status is OrderStatus.OPEN
        assert rest.limit_price == limit
        assert any(same_order(o, cid) for o in await broker.list_open_orders(harness.spot.symbol))
        set_price(harness.paper, harness.spot.symbol, limit - harness.spot.tick)
        filled = await settled(broker, harness.spot.symbol, cid, want={OrderStatus.FILLED})
        assert filled.status is OrderStatus.FILLED
        assert not any(same_order(o, cid) for o in await broker.list_open_orders(harness.spot.symbol))
    finally:
        await broker.close()


async def test_partial_fill_is_reported(harness: Harness) -> None:
    """A resting order that meets only part of its quantity is partially_filled with that quantity."""
    broker = await harness.broker()
    try:
        cid, limit, quantity = new_cid(), below(harness, "0.02"), harness.spot.quantity * 2
        await broker.place_order(order(harness.spot, cid, order_type=OrderType.LIMIT, limit_price=limit,
                                       quantity=quantity))
        await settled(broker, harness.spot.symbol, cid, want={OrderStatus.OPEN})
        cross = limit - harness.spot.tick
        set_price(harness.paper, harness.spot.symbol, cross, liquidity=harness.spot.quantity)
        partial = await settled(broker, harness.spot.symbol, cid, want={OrderStatus.PARTIALLY_FILLED})
        assert partial.status is OrderStatus.PARTIALLY_FILLED
        assert partial.filled_quantity == harness.spot.quantity
        assert partial.quantity == quantity
    finally:
        await broker.close()


async def test_fills_split_in_parts_add_up(partial_harness: Harness) -> None:
    """With fills split in three, a market order still ends filled for its whole quantity."""
    harness = partial_harness
    broker = await harness.broker()
    try:
        cid, quantity = new_cid(), harness.spot.quantity * 3
        await broker.place_order(order(harness.spot, cid, quantity=quantity))
        report = await settled(broker, harness.spot.symbol, cid, want={OrderStatus.FILLED})
        assert (report.status, report.filled_quantity) == (OrderStatus.FILLED, quantity)
    finally:
        await broker.close()


async def test_cancel_ends_cancelled_and_leaves_open_orders(harness: Harness) -> None:
    """Cancelling a resting order ends it cancelled; it is gone from the open orders."""
    broker = await harness.broker()
    try:
        cid = new_cid()
        await broker.place_order(order(harness.spot, cid, order_type=OrderType.LIMIT,
                                       limit_price=below(harness, "0.05")))
        await settled(broker, harness.spot.symbol, cid, want={OrderStatus.OPEN})
        answer = await broker.cancel_order(harness.spot.symbol, client_order_id=cid)
        assert answer.status in (OrderStatus.CANCELLED, OrderStatus.PENDING_CANCEL)
        final = await settled(broker, harness.spot.symbol, cid, want={OrderStatus.CANCELLED})
        assert final.status is OrderStatus.CANCELLED
        assert not any(same_order(o, cid) for o in await broker.list_open_orders())
    finally:
        await broker.close()


async def test_get_order_by_client_id_and_by_broker_id_agree(harness: Harness) -> None:
    """Looking an order up by our client id or by the broker's id gives the same order; unknown ids raise."""
    broker = await harness.broker()
    try:
        cid = new_cid()
        ack = await broker.place_order(order(harness.spot, cid))
        by_client = await broker.get_order(harness.spot.symbol, client_order_id=cid)
        by_broker = await broker.get_order(harness.spot.symbol, broker_order_id=ack.broker_order_id)
        assert by_client.broker_order_id == by_broker.broker_order_id == ack.broker_order_id
        with pytest.raises(OrderNotFound):
            await broker.get_order(harness.spot.symbol, client_order_id=new_cid())
    finally:
        await broker.close()


async def test_positions_and_balance_follow_fills(harness: Harness) -> None:
    """After a filled buy the position holds the bought quantity and cash is lower by about its cost."""
    broker = await harness.broker()
    try:
        before = await broker.get_balance()
        held_before = {p.symbol: p.quantity for p in await broker.get_positions()}
        cid = new_cid()
        await broker.place_order(order(harness.spot, cid))
        filled = await settled(broker, harness.spot.symbol, cid, want={OrderStatus.FILLED})
        after = await broker.get_balance()
        held_after = {p.symbol: p.quantity for p in await broker.get_positions()}
        symbol = harness.position_symbol
        bought = held_after.get(symbol, Decimal(0)) - held_before.get(symbol, Decimal(0))
        assert bought == harness.spot.quantity
        assert filled.average_price is not None
        cost = filled.average_price * harness.spot.quantity
        assert before.cash - after.cash >= cost * Decimal("0.99")
        assert before.cash - after.cash <= cost * Decimal("1.01")
    finally:
        await broker.close()


async def test_insufficient_funds_is_a_definitive_rejection(harness: Harness) -> None:
    """A buy the account cannot pay for is refused as InsufficientFunds (Kite: a REJECTED order)."""
    broker = await harness.broker_for(**harness.poor_account_broker_kwargs())
    try:
        cid = new_cid()
        outcome: OrderAck | InsufficientFunds
        try:
            too_big = order(harness.spot, cid, quantity=harness.spot.quantity * 1000)
            outcome = await broker.place_order(too_big)
        except InsufficientFunds as refused:
            outcome = refused
        if isinstance(outcome, InsufficientFunds):
            assert outcome.broker_message
        else:  # Kite accepts the request and its RMS rejects the order
            report = await settled(broker, harness.spot.symbol, cid, want={OrderStatus.REJECTED})
            assert report.status is OrderStatus.REJECTED
            assert report.reject_reason
    finally:
        await broker.close()


async def test_a_price_off_the_tick_is_an_invalid_order(harness: Harness) -> None:
    """A limit price that is not a multiple of the tick is refused as InvalidOrder."""
    broker = await harness.broker()
    try:
        off_tick = below(harness, "0.02") + harness.spot.tick / 3
        with pytest.raises(InvalidOrder):
            await broker.place_order(order(harness.spot, new_cid(), order_type=OrderType.LIMIT,
                                           limit_price=off_tick))
    finally:
        await broker.close()


async def test_duplicate_client_id_follows_the_declared_capability(harness: Harness) -> None:
    """A second order with an open order's client id is refused where the broker de-duplicates it."""
    broker = await harness.broker()
    try:
        cid, limit = new_cid(), below(harness, "0.05")
        again = order(harness.spot, cid, order_type=OrderType.LIMIT, limit_price=limit)
        first = await broker.place_order(again)
        if broker.capabilities.duplicate_client_id_rejected == "never":
            second = await broker.place_order(again)
            assert second.broker_order_id != first.broker_order_id
        else:
            with pytest.raises(DuplicateOrder):
                await broker.place_order(again)
    finally:
        await broker.close()


async def test_closed_market_is_market_closed(paper_factory: Callable[..., RunningPaper]) -> None:
    """Where a market has hours, an order sent while it is closed is refused as MarketClosed."""
    checked = 0
    for name in ("kite", "binance", "alpaca"):
        harness = load(name)
        config = harness.closed_market_config()
        if config is None:
            continue
        harness.start(paper_factory, config)
        broker = await harness.broker()
        try:
            with pytest.raises(MarketClosed):
                await broker.place_order(order(harness.spot, new_cid()))
        finally:
            await broker.close()
        checked += 1
    assert checked >= 1  # crypto never closes; the equity brokers must have checked


async def test_bad_credentials_are_an_auth_error(harness: Harness) -> None:
    """A wrong secret or token is a BrokerAuthError, not a retryable failure."""
    broker = await harness.broker(bad_secret=True)
    try:
        with pytest.raises(BrokerAuthError):
            await broker.get_balance()
    finally:
        await broker.close()


async def test_expired_credentials_are_an_auth_error(harness: Harness) -> None:
    """Once the credentials expire (Kite's 06:00 IST, a revoked key) every call is a BrokerAuthError."""
    broker = await harness.broker()
    try:
        await broker.get_balance()
        harness.expire_credentials()
        with pytest.raises(BrokerAuthError):
            await broker.get_balance()
    finally:
        await broker.close()


async def test_429_is_rate_limited_with_retry_after_and_nothing_placed(harness: Harness) -> None:
    """A 429 on placement raises RateLimited carrying Retry-After, and no order exists."""
    broker = await harness.broker()
    try:
        set_faults(harness.paper, {"rules": [{"op": "place_order", "action": "rate_limit", "count": 1,
                                              "retry_after_s": 3}]})
        cid = new_cid()
        with pytest.raises(RateLimited) as caught:
            await broker.place_order(order(harness.spot, cid))
        assert caught.value.retry_after == Decimal(3)
        with pytest.raises(OrderNotFound):
            await broker.get_order(harness.spot.symbol, client_order_id=cid)
    finally:
        await broker.close()


async def test_timeout_after_acceptance_is_outcome_unknown_and_the_order_is_found(harness: Harness) -> None:
    """A response held past the read timeout is OutcomeUnknown, and a look-up by client id finds the order."""
    broker = await harness.broker(timeouts=Timeouts(connect=3, read=0.3))
    try:
        set_faults(harness.paper, {"rules": [{"op": "place_order", "action": "hold_after", "count": 1,
                                              "hold_ms": 1500}]})
        cid = new_cid()
        with pytest.raises(OutcomeUnknown):
            await broker.place_order(order(harness.spot, cid))
        found = await settled(broker, harness.spot.symbol, cid, want={OrderStatus.FILLED})
        assert found.status is OrderStatus.FILLED
        assert same_order(found, cid)
    finally:
        await broker.close()


async def test_stream_that_drops_reports_a_gap_and_keeps_delivering(harness: Harness) -> None:
    """When the stream drops, a StreamGap is reported and updates for later orders still arrive."""
    broker = await harness.broker()
    received: asyncio.Queue[OrderUpdate | StreamGap] = asyncio.Queue()

    async def consume() -> None:
        async for event in broker.events():
            received.put_nowait(event)

    task = asyncio.create_task(consume())
    try:
        await _await_update(broker, harness, received, deadline=15)  # the stream is up
        set_faults(harness.paper, {"stream": {"disconnect_every": 1}})
        await broker.place_order(order(harness.spot, new_cid()))
        gap = await _next_of(received, StreamGap, seconds=15)
        assert gap.until >= gap.since
        set_faults(harness.paper, {})
        await _await_update(broker, harness, received, deadline=15)  # and it is back
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await broker.close()


async def _await_update(broker: Broker, harness: Harness, received: asyncio.Queue[OrderUpdate | StreamGap],
                        *, deadline: float) -> None:
    """Place market orders until the stream delivers an update for one of them."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while loop.time() < end:
        cid = new_cid()
        await broker.place_order(order(harness.spot, cid))
        try:
            while True:
                event = await asyncio.wait_for(received.get(), timeout=2)
                if isinstance(event, OrderUpdate) and same_order(event.order, cid):
                    return
        except TimeoutError:
            continue
    pytest.fail("the stream delivered no update")


async def _next_of(received: asyncio.Queue[OrderUpdate | StreamGap], kind: type[StreamGap],
                   *, seconds: float) -> StreamGap:
    async with asyncio.timeout(seconds):
        while True:
            event = await received.get()
            if isinstance(event, kind):
                return event


def test_every_harness_declares_its_broker() -> None:
    """Each harness names the broker its adapter talks to, and the adapter agrees."""
    for name in ("kite", "binance", "alpaca"):
        assert load(name).name == name

