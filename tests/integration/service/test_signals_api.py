"""The service end to end: signals over HTTP become orders at the paper brokers; Kite postbacks land."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import uvicorn
from sqlalchemy import select

from boltztrader.accounts import users as users_service
from boltztrader.accounts.keyring import generate_master_key
from boltztrader.accounts.linking import link_account
from boltztrader.accounts.paper import open_paper_account
from boltztrader.api.app import create_app
from boltztrader.audit import verify_ledger
from boltztrader.db.tables import audit_ledger, broker_orders
from boltztrader.domain.enums import AccountMode
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.orders.execution import ExecutionPolicy
from boltztrader.paper.alpaca import SPEC as ALPACA
from boltztrader.paper.binance import SPEC as BINANCE
from boltztrader.paper.kite import SPEC as KITE
from boltztrader.paper.venue import VenueConfig
from boltztrader.settings import load_settings
from boltztrader.wiring import build_container
from boltztrader.wiring.runtime import vault_for

from ...contract.harness import admin
from ...paper import conftest as paper_conftest
from ...paper.conftest import RunningPaper, free_port

paper_factory = paper_conftest.paper_factory


@dataclass
class Service:
    url: str
    token: str
    other_token: str
    accounts: dict[str, str]  # broker -> account id
    kite: RunningPaper
    engine: Any

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


def _signal(signal_id: str, **extra: Any) -> dict[str, Any]:
    body = {"id": signal_id, "model_id": "m1", "symbol": "BTCUSDT", "market": "crypto", "side": "buy",
            "quantity": "0.001", "confidence": "0.9", "created_at": datetime.now(UTC).isoformat()}
    return body | extra


@pytest.fixture
async def service(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                  paper_factory: Callable[..., RunningPaper]) -> AsyncIterator[Service]:
    """The real service on a loopback port, trading at paper Kite, Binance and Alpaca for one user."""
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
    user, token = await users_service.create_user(container.engine, "trader@example.com")
    _other, other_token = await users_service.create_user(container.engine, "other@example.com")
    accounts = {}
    async with aiohttp.ClientSession() as http:
        for name, broker in (("kite", BrokerName.ZERODHA), ("binance", BrokerName.BINANCE)):
            opened = await open_paper_account(http, papers[name].url, broker)
            accounts[name] = await link_account(
                container.engine, vault, user_id=user.id, broker=broker, mode=AccountMode.PAPER,
                api_key=opened.api_key, api_secret=opened.api_secret, access_token=opened.access_token,
                access_token_expires_at=opened.access_token_expires_at, now=datetime.now(UTC))
            if name == "kite":
                admin(papers["kite"], "PUT", f"/_paper/accounts/{opened.api_key}/postback",
                      json={"url": f"http://127.0.0.1:{port}/v1/postbacks/kite/{accounts['kite']}"})
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
        yield Service(f"http://127.0.0.1:{port}", token.reveal(), other_token.reveal(), accounts,
                      papers["kite"], container.engine)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 20)


async def _until(check: Callable[[], Any], within: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.1)


async def test_a_signal_over_http_is_acknowledged_then_filled_once(service: Service) -> None:
    """POST answers 201 with the intent written; the order then fills; the same POST replays with 200."""
    body = _signal("http-1", account_id=service.accounts["binance"])
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        first = await client.post("/v1/signals", json=body)
        assert first.status_code == 201, first.text
        assert [o["status"] for o in first.json()["outcomes"]] == ["pending_submit"]

        async def filled() -> bool:
            got = (await client.get("/v1/signals/http-1")).json()
            return [o["status"] for o in got["outcomes"]] == ["filled"]

        assert await _until(filled)
        again = await client.post("/v1/signals", json=body)
        assert again.status_code == 200
        assert again.json()["replay"] is True
        assert again.json()["outcomes"][0]["order_id"] == first.json()["outcomes"][0]["order_id"]
    async with service.engine.connect() as conn:
        assert len((await conn.execute(select(broker_orders))).all()) == 1
    assert (await verify_ledger(service.engine)).ok


async def test_bad_signals_are_refused_with_problems_and_write_nothing(service: Service) -> None:
    """A reused id with new content is 409, a malformed one 422, a foreign account 404, no token 401."""
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        binance = service.accounts["binance"]
        assert (await client.post("/v1/signals", json=_signal("bad-1", account_id=binance,
                                                               confidence="0.8"))).status_code == 201
        changed = _signal("bad-1", account_id=binance, confidence="0.95")
        conflict = await client.post("/v1/signals", json=changed)
        assert conflict.status_code == 409
        assert conflict.headers["content-type"].startswith("application/problem+json")
        malformed = await client.post("/v1/signals", json=_signal("bad-2", confidence="1.5"))
        assert malformed.status_code == 422
        assert "confidence" in malformed.text
        unknown_field = await client.post("/v1/signals", json=_signal("bad-3", user_id_override="x"))
        assert unknown_field.status_code == 422
        anonymous = await client.post("/v1/signals", json=_signal("bad-4"), headers={"Authorization": ""})
        assert anonymous.status_code == 401
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers(service.other_token)) as other:
        foreign = await other.post("/v1/signals",
                                   json=_signal("bad-5", account_id=service.accounts["binance"]))
        assert foreign.status_code == 404
        assert (await other.get("/v1/signals/bad-1")).status_code == 404
    async with service.engine.connect() as conn:
        ids = {r.signal_id for r in await conn.execute(select(broker_orders.c.signal_id))}
    assert ids == {"bad-1"}


async def test_a_kite_order_learns_its_fill_from_the_postback(service: Service) -> None:
    """With no stream running, Kite's postback to our endpoint fills the row; a forged one is 400."""
    body = _signal("kite-1", symbol="INFY", market="nse", quantity="1", account_id=service.accounts["kite"])
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        assert (await client.post("/v1/signals", json=body)).status_code == 201

        async def filled() -> bool:
            got = (await client.get("/v1/signals/kite-1")).json()
            return [o["status"] for o in got["outcomes"]] == ["filled"]

        assert await _until(filled)
        order_id = (await client.get("/v1/signals/kite-1")).json()["outcomes"][0]["order_id"]
        forged = json.dumps({"order_id": "1", "order_timestamp": "2026-01-01 09:15:00", "checksum": "0" * 64,
                             "status": "COMPLETE"}).encode()
        refused = await client.post(f"/v1/postbacks/kite/{service.accounts['kite']}", content=forged)
        assert refused.status_code == 400
    async with service.engine.connect() as conn:
        actors = {r.actor for r in await conn.execute(select(audit_ledger.c.actor).where(
            audit_ledger.c.entity_id == order_id, audit_ledger.c.action.like("order.%fill%")))}
    assert "postback" in actors
