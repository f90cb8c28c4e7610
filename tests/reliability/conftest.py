"""Fixtures for the fault tests: a paper broker per test, our adapter for it, and a seeded database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.brokers.base import Broker
from boltztrader.brokers.transport import Timeouts
from boltztrader.db import orders as repo
from boltztrader.domain.clock import SystemClock
from boltztrader.orders.manager import OrderManager, SubmitPolicy
from boltztrader.orders.resolve import ResolvePolicy, Resolver
from boltztrader.paper.engine import EngineConfig
from boltztrader.paper.venue import VenueConfig

from ..contract.conftest import BROKERS, load
from ..contract.harness import Harness
from ..integration.orders.helpers import intent, seed_account
from ..paper import conftest as paper_conftest
from ..paper.conftest import RunningPaper

paper_factory = paper_conftest.paper_factory

OUR_BROKER = {"kite": "zerodha", "binance": "binance", "alpaca": "alpaca"}
READ_TIMEOUT = 1.0
ACCEPTANCE_WINDOW = timedelta(seconds=1)
FAST_RESOLVE = ResolvePolicy(acceptance_window=ACCEPTANCE_WINDOW, backoff_initial=0.05, backoff_max=0.4,
                             give_up_after=30)
FAST_SUBMIT = SubmitPolicy(max_send_attempts=6, backoff_initial=0.05, backoff_max=0.4, max_retry_after=2)


@dataclass
class Rig:
    """One paper broker, our adapter for its account, the matching account in our database, the services."""

    harness: Harness
    broker: Broker
    engine: AsyncEngine
    user_id: str
    account_id: str
    manager: OrderManager

    @property
    def paper(self) -> RunningPaper:
        return self.harness.paper

    @property
    def paper_account(self) -> str:
        return str(self.harness.account["account_id"])

    async def new_intent(self, *, quantity: Decimal | None = None, order_type: str = "market",
                         price: Decimal | None = None) -> str:
        """Insert a market (or limit) buy intent for the harness's instrument; return the order id."""
        spot = self.harness.spot
        tif = spot.limit_tif if order_type == "limit" else spot.market_tif
        product = spot.extra.get("product")
        async with self.engine.begin() as conn:
            return await repo.insert_intent(conn, intent(
                self.user_id, self.account_id, broker=OUR_BROKER[self.harness.name], symbol=spot.symbol,
                market=str(spot.market), quantity=quantity or spot.quantity, order_type=order_type,
                price=price, time_in_force=str(tif), product=None if product is None else str(product),
            ), actor="test")


async def _rig(name: str, factory: Callable[..., RunningPaper], engine: AsyncEngine,
               config: VenueConfig) -> AsyncIterator[Rig]:
    harness = load(name)
    harness.start(factory, config)
    broker = await harness.broker(timeouts=Timeouts(connect=2, read=READ_TIMEOUT))
    async with engine.begin() as conn:
        user_id, account_id = await seed_account(conn, broker=OUR_BROKER[name])
    clock = SystemClock()
    brokers = {account_id: broker}
    resolver = Resolver(engine, brokers, clock, policy=FAST_RESOLVE)
    manager = OrderManager(engine, brokers, clock, policy=FAST_SUBMIT, resolver=resolver)
    try:
        yield Rig(harness, broker, engine, user_id, account_id, manager)
    finally:
        await broker.close()


@pytest.fixture(params=BROKERS)
async def rig(request: pytest.FixtureRequest, paper_factory: Callable[..., RunningPaper],
              engine: AsyncEngine) -> AsyncIterator[Rig]:
    """A rig on each paper broker whose orders fill whole at once."""
    async for value in _rig(request.param, paper_factory, engine, VenueConfig(tick_seconds=0)):
        yield value


@pytest.fixture(params=BROKERS)
async def split_rig(request: pytest.FixtureRequest, paper_factory: Callable[..., RunningPaper],
                    engine: AsyncEngine) -> AsyncIterator[Rig]:
    """A rig on each paper broker that splits every fill into three executions."""
    config = VenueConfig(tick_seconds=0, engine=EngineConfig(fill_parts=3))
    async for value in _rig(request.param, paper_factory, engine, config):
        yield value
