"""A running service for API tests: the real app on a loopback port, trading at three paper brokers.

``service`` gives a user (``token``) with a linked paper account at Kite and at Binance, a second
user (``other_token``) with a Binance account of their own, and an admin (``admin_token``); the
Kite account's postbacks are registered to the service. Streams are off and the background passes
run fast, so tests see what they cause and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.accounts import users as users_service
from boltztrader.accounts.keyring import generate_master_key
from boltztrader.accounts.linking import link_account
from boltztrader.accounts.paper import open_paper_account
from boltztrader.accounts.vault import Vault
from boltztrader.api.app import create_app
from boltztrader.domain.enums import AccountMode
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.orders.execution import ExecutionPolicy
from boltztrader.paper.alpaca import SPEC as ALPACA
from boltztrader.paper.binance import SPEC as BINANCE
from boltztrader.paper.kite import SPEC as KITE
from boltztrader.paper.venue import VenueConfig
from boltztrader.settings import load_settings
from boltztrader.wiring import Container, build_container
from boltztrader.wiring.runtime import vault_for

from ...contract.harness import admin
from ...paper import conftest as paper_conftest
from ...paper.conftest import RunningPaper, free_port

paper_factory = paper_conftest.paper_factory


@dataclass
class Service:
    url: str
    token: str  # the trader: accounts["kite"], accounts["binance"]
    other_token: str  # another user: other_account (Binance)
    admin_token: str
    user_id: str
    other_user_id: str
    accounts: dict[str, str]  # broker -> the trader's account id
    other_account: str
    papers: dict[str, RunningPaper]  # "kite", "binance", "alpaca"
    engine: AsyncEngine
    container: Container
    vault: Vault
    app: FastAPI

    @property
    def kite(self) -> RunningPaper:
        return self.papers["kite"]

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


async def _link_paper(engine: AsyncEngine, vault: Vault, paper: RunningPaper, broker: BrokerName,
                      user_id: str, **extra: Any) -> tuple[str, str]:
    async with aiohttp.ClientSession() as http:
        opened = await open_paper_account(http, paper.url, broker)
    account_id = await link_account(engine, vault, user_id=user_id, broker=broker, mode=AccountMode.PAPER,
                                    api_key=opened.api_key, api_secret=opened.api_secret,
                                    access_token=opened.access_token,
                                    access_token_expires_at=opened.access_token_expires_at,
                                    now=datetime.now(UTC), **extra)
    return account_id, opened.api_key


@pytest.fixture
async def service(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                  paper_factory: Callable[..., RunningPaper]) -> AsyncIterator[Service]:
    """The real service on a loopback port, trading at paper Kite, Binance and Alpaca."""
    monkeypatch.chdir(tmp_path)
    papers = {name: paper_factory(spec, VenueConfig(tick_seconds=0))
              for name, spec in (("kite", KITE), ("binance", BINANCE), ("alpaca", ALPACA))}
    port = free_port()
    settings = load_settings({
        "BOLTZ_DATABASE_URL": db_url, "BOLTZ_MASTER_KEY": generate_master_key(),
        "BOLTZ_PAPER_KITE_URL": papers["kite"].url, "BOLTZ_PAPER_BINANCE_URL": papers["binance"].url,
        "BOLTZ_PAPER_ALPACA_URL": papers["alpaca"].url, "BOLTZ_PORT": str(port)})
    container = build_container(settings)
    vault = vault_for(settings)
    engine = container.engine
    user, token = await users_service.create_user(engine, "trader@example.com")
    other, other_token = await users_service.create_user(engine, "other@example.com")
    _admin, admin_token = await users_service.create_user(engine, "admin@example.com", "admin")
    accounts = {}
    accounts["kite"], kite_key = await _link_paper(engine, vault, papers["kite"], BrokerName.ZERODHA, user.id)
    admin(papers["kite"], "PUT", f"/_paper/accounts/{kite_key}/postback",
          json={"url": f"http://127.0.0.1:{port}/v1/postbacks/kite/{accounts['kite']}"})
    accounts["binance"], _ = await _link_paper(engine, vault, papers["binance"], BrokerName.BINANCE, user.id)
    other_account, _ = await _link_paper(engine, vault, papers["binance"], BrokerName.BINANCE, other.id)
    # No streams: a Kite order can then only learn its fill from the postback.
    policy = ExecutionPolicy(streams=False, dispatch_interval=0.5, sweep_interval=0, positions_interval=0)
    app = create_app(container, trading=True, announce=lambda _line: None, policy=policy)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    task = asyncio.ensure_future(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started
    try:
        yield Service(f"http://127.0.0.1:{port}", token.reveal(), other_token.reveal(), admin_token.reveal(),
                      user.id, other.id, accounts, other_account, papers, engine, container, vault, app)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 20)


async def until(check: Callable[[], Any], within: float = 15.0) -> Any:
    """Poll ``check`` (a coroutine function) until it returns something true, or ``within`` seconds pass."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.1)
