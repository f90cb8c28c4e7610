"""The pipeline's shared world: a paper Binance with three linked, funded accounts on both engines."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.brokers.base import Broker
from boltztrader.brokers.binance import BinanceBroker
from boltztrader.db import orders as repo
from boltztrader.db.tables import audit_ledger, broker_accounts, users
from boltztrader.domain.clock import SystemClock
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.targets import AccountRef
from boltztrader.orders.intake import Intake
from boltztrader.orders.manager import OrderManager
from boltztrader.paper.binance import SPEC
from boltztrader.paper.venue import VenueConfig
from boltztrader.router import Router

from ...contract.harness import admin
from ...contract.harness_binance import config_for
from ...paper import conftest as paper_conftest
from ...paper.conftest import RunningPaper

paper_factory = paper_conftest.paper_factory


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class World:
    engine: AsyncEngine
    paper: RunningPaper
    brokers: dict[str, Broker]
    intake: Intake
    manager: OrderManager
    paper_ids: dict[str, str]  # our account id -> paper account id

    def broker_orders_at_paper(self, account_id: str, client_order_id: str) -> int:
        paper_id = self.paper_ids[account_id]

        def count() -> int:
            orders = self.paper.venue.engine.orders(paper_id)
            return sum(1 for o in orders if o.request.client_order_id == client_order_id)

        result = self.paper.call(count)
        assert isinstance(result, int)
        return result

    def paper_states(self, account_id: str, client_order_id: str) -> list[str]:
        """The paper engine's state of each order it holds with this client order id."""
        paper_id = self.paper_ids[account_id]

        def states() -> list[str]:
            orders = self.paper.venue.engine.orders(paper_id)
            return [str(o.state) for o in orders if o.request.client_order_id == client_order_id]

        result = self.paper.call(states)
        assert isinstance(result, list)
        return result


@pytest.fixture
async def world(engine: AsyncEngine, paper_factory: Callable[..., RunningPaper]) -> AsyncIterator[World]:
    """A paper Binance with three funded accounts (alice, bob, carol: semi-manual) linked in the database."""
    paper = paper_factory(SPEC, VenueConfig(tick_seconds=0))
    brokers: dict[str, Broker] = {}
    paper_ids: dict[str, str] = {}
    async with engine.begin() as conn:
        for user, mode in (("alice", "automated"), ("bob", "automated"), ("carol", "semi_manual")):
            creds = admin(paper, "POST", "/_paper/accounts", json={"cash": {"USDT": "100000"}})
            await conn.execute(insert(users).values(id=user, email=f"{user}@example.com", display_name=user,
                                                    role="user", created_at=now()))
            account_id = f"acct-{user}"
            await conn.execute(insert(broker_accounts).values(
                id=account_id, user_id=user, broker="binance", label="main", mode="paper", region="crypto",
                api_key=creds["api_key"], execution_mode=mode, trading_state="active", settings={},
                created_at=now(), updated_at=now()))
            brokers[account_id] = BinanceBroker(config_for(paper, creds["api_key"], creds["api_secret"]))
            paper_ids[account_id] = creds["account_id"]

    def broker_for(account: AccountRef) -> Broker:
        return brokers[account.account_id]

    intake = Intake(engine, Router(BrokerName.BINANCE), broker_for, SystemClock())
    manager = OrderManager(engine, brokers, SystemClock())
    yield World(engine, paper, brokers, intake, manager, paper_ids)
    for broker in brokers.values():
        await broker.close()


def signal(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": "sig-1", "model_id": "trend-v1", "symbol": "BTCUSDT", "market": "crypto",
                            "side": "buy", "quantity": "0.01", "confidence": "0.9",
                            "created_at": now().isoformat(), "account_id": "acct-alice"}
    body.update(overrides)
    return body


async def row(world: World, order_id: str) -> repo.OrderRecord:
    async with world.engine.connect() as conn:
        return await repo.get(conn, order_id)


async def audit_actions(world: World, entity_id: str) -> dict[str, dict[str, Any]]:
    """The audit entries about ``entity_id`` by action (the last of each): actor, chain and payload."""
    async with world.engine.connect() as conn:
        rows = await conn.execute(
            select(audit_ledger.c.action, audit_ledger.c.actor, audit_ledger.c.chain, audit_ledger.c.payload)
            .where(audit_ledger.c.entity_id == entity_id).order_by(audit_ledger.c.recorded_at))
        return {r.action: {"actor": r.actor, "chain": r.chain, **json.loads(r.payload)} for r in rows}
