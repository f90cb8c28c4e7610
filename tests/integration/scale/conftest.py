"""Several workers on one database: accounts to lease, and workers built from the real parts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.brokers.base import Broker
from boltztrader.brokers.binance import BinanceBroker
from boltztrader.db import leases as leases_repo
from boltztrader.db import orders as repo
from boltztrader.db.tables import account_leases, broker_accounts, order_events, users
from boltztrader.domain.clock import SystemClock
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.targets import AccountRef
from boltztrader.orders.approvals import Approvals
from boltztrader.orders.balances import Balances
from boltztrader.orders.execution import Execution, ExecutionPolicy
from boltztrader.orders.intake import Intake
from boltztrader.orders.leases import LeaseKeeper
from boltztrader.orders.manager import OrderManager, StepHook, SubmitPolicy
from boltztrader.orders.reconcile import Reconciler
from boltztrader.orders.resolve import ResolvePolicy, Resolver
from boltztrader.paper.binance import SPEC
from boltztrader.paper.venue import VenueConfig
from boltztrader.router import Router

from ...contract.harness import admin
from ...contract.harness_binance import config_for
from ...paper import conftest as paper_conftest
from ...paper.conftest import RunningPaper
from ..orders.helpers import NOW, seed_account

paper_factory = paper_conftest.paper_factory
ACCOUNTS = ("acct-a", "acct-b")  # the venue's two accounts

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
FAST_SUBMIT = SubmitPolicy(max_send_attempts=6, backoff_initial=0.05, backoff_max=0.4, max_retry_after=2)
# Passes off but dispatch (fast, so that a missing gate would show at once) and the wake-ups.
WORKER_POLICY = ExecutionPolicy(dispatch_interval=0.1, approvals_interval=0, sweep_interval=0,
                                positions_interval=0, balances_interval=0, streams=False, drain_seconds=2)


async def seed_accounts(engine: AsyncEngine, count: int) -> list[str]:
    """``count`` users with one paper Binance account each (no credentials: nothing is traded)."""
    ids = []
    async with engine.begin() as conn:
        for n in range(count):
            _user, account_id = await seed_account(conn, account_id=f"acct-{n:03d}")
            ids.append(account_id)
    return ids


async def seed_many(engine: AsyncEngine, count: int) -> list[str]:
    """``count`` users with one paper Binance account each, inserted in bulk (nothing is traded)."""
    ids = [f"bulk-{n:06d}" for n in range(count)]
    async with engine.begin() as conn:
        await conn.execute(insert(users), [
            {"id": f"user-{a}", "email": f"{a}@example.com", "display_name": "T", "role": "user",
             "created_at": NOW} for a in ids])
        await conn.execute(insert(broker_accounts), [
            {"id": a, "user_id": f"user-{a}", "broker": "binance", "label": "main", "mode": "paper",
             "region": "crypto", "api_key": "k", "execution_mode": "automated", "trading_state": "active",
             "settings": {}, "created_at": NOW, "updated_at": NOW} for a in ids])
    return ids


async def lease_rows(engine: AsyncEngine) -> dict[str, leases_repo.Lease]:
    async with engine.connect() as conn:
        return await leases_repo.leases(conn)


async def expire_lease(engine: AsyncEngine, account_id: str) -> None:
    """Make the account's lease look expired (its holder stalled past the TTL)."""
    async with engine.begin() as conn:
        await conn.execute(update(account_leases).where(account_leases.c.account_id == account_id)
                           .values(expires_at=LONG_AGO))


async def unlink(engine: AsyncEngine, account_id: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(broker_accounts).where(broker_accounts.c.id == account_id)
                           .values(unlinked_at=NOW))


class Directory(dict[str, Broker]):
    """Adapters by account id, with each account's owner."""

    def __init__(self, brokers: dict[str, Broker], owners: dict[str, str]) -> None:
        super().__init__(brokers)
        self._owners = owners

    def owner(self, account_id: str) -> str:
        return self._owners[account_id]


@dataclass
class Worker:
    """A worker's trading parts as ``boltz worker`` wires them, in this process."""

    keeper: LeaseKeeper
    manager: OrderManager
    execution: Execution

    async def aclose(self) -> None:
        await self.keeper.stop(release=False)
        await self.execution.stop()


def make_worker(engine: AsyncEngine, brokers: dict[str, Broker], owners: dict[str, str], intake: Intake, *,
                ttl: float, acceptance_window: float = 1.0, policy: ExecutionPolicy = WORKER_POLICY,
                on_step: StepHook | None = None) -> Worker:
    clock = SystemClock()
    keeper = LeaseKeeper(engine, ttl=ttl)
    resolver = Resolver(engine, brokers, clock, policy=ResolvePolicy(
        acceptance_window=timedelta(seconds=acceptance_window), backoff_initial=0.05,
        backoff_max=0.2, give_up_after=30))
    manager = OrderManager(engine, brokers, clock, policy=FAST_SUBMIT, resolver=resolver,
                           actor=f"order-manager@{keeper.worker_id}", claim=keeper.claim_orders,
                           on_step=on_step)
    reconciler = Reconciler(engine, brokers, clock, manager)
    execution = Execution(engine, Directory(brokers, owners), clock, intake=intake, manager=manager,
                          reconciler=reconciler, approvals=Approvals(engine, intake, manager, clock),
                          balances=Balances(clock), policy=policy, owns=keeper.owns)
    keeper.on_gained = execution.accounts_gained
    keeper.on_lost = execution.accounts_lost
    return Worker(keeper, manager, execution)


async def events_of(engine: AsyncEngine, order_id: str) -> list[Any]:
    """The order's events, oldest first: (event, to_status, actor, created_at)."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(order_events.c.event, order_events.c.to_status, order_events.c.actor,
                                         order_events.c.created_at)
                                  .where(order_events.c.order_id == order_id).order_by(order_events.c.id))
        return list(rows.all())


async def until(check: Callable[[], Any], within: float = 20.0, every: float = 0.05) -> Any:
    """Poll ``check`` (a coroutine function) until it returns something true, or ``within`` seconds pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await check()
        if value or loop.time() > deadline:
            return value
        await asyncio.sleep(every)


@dataclass
class Venue:
    engine: AsyncEngine
    paper: RunningPaper
    brokers: dict[str, Broker]
    owners: dict[str, str]
    paper_ids: dict[str, str]
    intake: Intake

    def at_paper(self, account_id: str, client_order_id: str) -> int:
        paper_id = self.paper_ids[account_id]

        def count() -> int:
            return sum(1 for o in self.paper.venue.engine.orders(paper_id)
                       if o.request.client_order_id == client_order_id)

        result = self.paper.call(count)
        assert isinstance(result, int)
        return result

    def worker(self, *, ttl: float, **options: Any) -> Worker:
        return make_worker(self.engine, self.brokers, self.owners, self.intake, ttl=ttl, **options)

    async def intent(self, signal_id: str, account_id: str) -> str:
        """A signal for one account through the intake: its intent, ``pending_submit``."""
        result = await self.intake.process_signal(signal(signal_id, account_id))
        (order_id,) = result.to_submit
        return order_id

    async def row(self, order_id: str) -> repo.OrderRecord:
        async with self.engine.connect() as conn:
            return await repo.get(conn, order_id)


def signal(signal_id: str, account_id: str) -> dict[str, Any]:
    return {"id": signal_id, "model_id": "scale-v1", "symbol": "BTCUSDT", "market": "crypto", "side": "buy",
            "quantity": "0.001", "confidence": "0.9", "created_at": datetime.now(UTC).isoformat(),
            "account_id": account_id}


@pytest.fixture
async def venue(pg_engine: AsyncEngine, paper_factory: Callable[..., RunningPaper]) -> AsyncIterator[Venue]:
    """A paper Binance with two funded accounts linked in a PostgreSQL database."""
    paper = paper_factory(SPEC, VenueConfig(tick_seconds=0))
    brokers: dict[str, Broker] = {}
    owners: dict[str, str] = {}
    paper_ids: dict[str, str] = {}
    now = datetime.now(UTC)
    async with pg_engine.begin() as conn:
        for account_id in ACCOUNTS:
            user = account_id.removeprefix("acct-")
            creds = admin(paper, "POST", "/_paper/accounts", json={"cash": {"USDT": "100000"}})
            await conn.execute(insert(users).values(id=user, email=f"{user}@example.com", display_name=user,
                                                    role="user", created_at=now))
            await conn.execute(insert(broker_accounts).values(
                id=account_id, user_id=user, broker="binance", label="main", mode="paper", region="crypto",
                api_key=creds["api_key"], execution_mode="automated", trading_state="active", settings={},
                created_at=now, updated_at=now))
            brokers[account_id] = BinanceBroker(config_for(paper, creds["api_key"], creds["api_secret"]))
            owners[account_id] = user
            paper_ids[account_id] = creds["account_id"]

    def broker_for(account: AccountRef) -> Broker:
        return brokers[account.account_id]

    intake = Intake(pg_engine, Router(BrokerName.BINANCE), broker_for, SystemClock())
    yield Venue(pg_engine, paper, brokers, owners, paper_ids, intake)
    for broker in brokers.values():
        await broker.close()
