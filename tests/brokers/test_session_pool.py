"""A session pool lets many accounts share one connection pool per broker host."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from boltztrader.brokers.binance import BinanceBroker
from boltztrader.brokers.transport import SessionPool
from boltztrader.domain.order_states import OrderStatus
from boltztrader.paper.binance import SPEC
from boltztrader.paper.venue import VenueConfig

from ..contract.harness import admin
from ..contract.harness_binance import config_for
from ..paper import conftest as paper_conftest
from ..paper.conftest import RunningPaper
from .binance.conftest import spot_order

paper_factory = paper_conftest.paper_factory


async def test_accounts_share_the_pools_session_and_leave_it_open(
        paper_factory: Callable[..., RunningPaper]) -> None:
    """Two accounts on one pool use one session; closing the adapters leaves it to the pool to close."""
    paper = paper_factory(SPEC, VenueConfig(tick_seconds=0))
    pool = SessionPool()
    brokers = []
    for _ in range(2):
        creds = admin(paper, "POST", "/_paper/accounts", json={})
        brokers.append(BinanceBroker(config_for(paper, creds["api_key"], creds["api_secret"], sessions=pool)))
    balances = [await b.get_balance() for b in brokers]
    assert all(b.cash > 0 for b in balances)
    sessions = list(pool._sessions.values())
    assert len(sessions) == 1
    for broker in brokers:
        await broker.close()
    assert not sessions[0].closed
    await pool.close()
    assert sessions[0].closed


async def test_streams_never_hold_the_connections_orders_are_sent_on(
        paper_factory: Callable[..., RunningPaper]) -> None:
    """Three accounts streaming through a pool of two connections still send an order at once."""
    paper = paper_factory(SPEC, VenueConfig(tick_seconds=0))
    pool = SessionPool(limit=2)
    accounts = [admin(paper, "POST", "/_paper/accounts", json={}) for _ in range(3)]
    brokers = [BinanceBroker(config_for(paper, a["api_key"], a["api_secret"], sessions=pool))
               for a in accounts]

    async def consume(broker: BinanceBroker) -> None:
        async for _event in broker.events():
            pass

    streams = [asyncio.create_task(consume(b)) for b in brokers]
    try:
        def subscribed() -> bool:
            return all(paper.venue._subscriptions.get(a["account_id"]) for a in accounts)

        for _ in range(100):  # every stream is open at the paper broker, each holding a WebSocket
            if paper.call(subscribed):
                break
            await asyncio.sleep(0.05)
        assert paper.call(subscribed)
        ack = await asyncio.wait_for(brokers[0].place_order(spot_order("pool-streams-1")), 10)
        assert ack.broker_order_id
        assert ack.status is OrderStatus.FILLED
    finally:
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
        for broker in brokers:
            await broker.close()
        await pool.close()
