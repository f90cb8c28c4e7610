"""Real processes on one PostgreSQL: ``boltz serve --api-only`` writes intents, ``boltz worker``s send them.

The paper Binance runs in this test process; the service and the workers are subprocesses started
as an operator would start them, configured only through their environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.accounts import users as users_service
from boltztrader.accounts.keyring import generate_master_key
from boltztrader.accounts.linking import link_account
from boltztrader.accounts.paper import open_paper_account
from boltztrader.audit import verify_ledger
from boltztrader.db.tables import broker_orders, order_events, weight_budgets, workers
from boltztrader.domain.enums import AccountMode
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.paper.binance import SPEC
from boltztrader.paper.venue import VenueConfig
from boltztrader.settings import load_settings
from boltztrader.wiring.runtime import vault_for

from ...paper import conftest as paper_conftest
from ...paper.conftest import RunningPaper, free_port
from .conftest import lease_rows, until

pytestmark = pytest.mark.postgres

paper_factory = paper_conftest.paper_factory
TTL = 3.0
ACCOUNTS = 10
SIGNALS_EACH = 5  # 5 per account: under the open-orders and repeated-fills limits of the risk guard


@dataclass
class Process:
    """A ``boltz`` subprocess with its output in a log file."""

    name: str
    proc: subprocess.Popen[str]
    log: Path
    first_line: str = ""

    def output(self) -> str:
        return f"--- {self.name} ---\n{self.first_line}\n{self.log.read_text()}"

    async def terminate(self, within: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.to_thread(self.proc.wait, within)
        finally:
            self._close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._close()

    def _close(self) -> None:
        if self.proc.stdout is not None and not self.proc.stdout.closed:
            self.proc.stdout.close()


@dataclass
class Deployment:
    engine: AsyncEngine
    paper: RunningPaper
    env: dict[str, str]
    tmp: Path
    accounts: dict[str, str]  # our account id -> the paper's account id
    admin_token: str
    processes: list[Process] = field(default_factory=list)

    def start(self, name: str, *args: str) -> Process:
        log = self.tmp / f"{name}.log"
        sink = log.open("w")
        proc = subprocess.Popen([sys.executable, "-m", "boltztrader.cli.main", *args], cwd=self.tmp,
                                env=self.env, stdout=subprocess.PIPE, stderr=sink, text=True)
        sink.close()
        process = Process(name, proc, log)
        self.processes.append(process)
        return process

    async def worker(self, name: str) -> tuple[Process, str]:
        """A ``boltz worker``; its worker id, as it prints it."""
        process = self.start(name, "worker")
        assert process.proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(process.proc.stdout.readline), 60)
        process.first_line = line
        assert line.startswith("worker "), process.output()
        return process, line.split()[1]

    async def api(self) -> tuple[Process, str]:
        """``boltz serve --api-only`` on a free port; its base URL once it answers."""
        port = free_port()
        process = self.start("api", "serve", "--api-only", "--port", str(port))
        url = f"http://127.0.0.1:{port}"

        async def up() -> bool:
            assert process.proc.poll() is None, process.output()
            try:
                async with aiohttp.ClientSession() as http, http.get(url + "/healthz") as answer:
                    return answer.status == 200
            except aiohttp.ClientError:
                return False

        assert await until(up, within=60, every=0.2), process.output()
        return process, url

    def orders_at_paper(self, account_id: str) -> Counter[str]:
        """Client order id -> how many orders the paper broker holds with it, for one account."""
        paper_id = self.accounts[account_id]

        def count() -> Counter[str]:
            return Counter(o.request.client_order_id for o in self.paper.venue.engine.orders(paper_id))

        result = self.paper.call(count)
        assert isinstance(result, Counter)
        return result

    def logs(self) -> str:
        return "\n".join(p.output() for p in self.processes)


@pytest.fixture
async def deployment(pg_engine: AsyncEngine, tmp_path: Path,
                     paper_factory: Callable[..., RunningPaper]) -> AsyncIterator[Deployment]:
    """A PostgreSQL database with ten users' paper Binance accounts linked, and an admin token."""
    paper = paper_factory(SPEC, VenueConfig(tick_seconds=0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOLTZ_")}
    env.update({
        "BOLTZ_DATABASE_URL": pg_engine.url.render_as_string(hide_password=False),
        "BOLTZ_MASTER_KEY": generate_master_key(), "BOLTZ_PAPER_BINANCE_URL": paper.url,
        "BOLTZ_LEASE_TTL": str(TTL), "BOLTZ_RATE_LIMIT": "0", "BOLTZ_LOG_LEVEL": "warning",
    })
    vault = vault_for(load_settings({k: v for k, v in env.items() if k.startswith("BOLTZ_")}))
    accounts: dict[str, str] = {}
    async with aiohttp.ClientSession() as http:
        for n in range(ACCOUNTS):
            user, _token = await users_service.create_user(pg_engine, f"trader{n}@example.com")
            opened = await open_paper_account(http, paper.url, BrokerName.BINANCE)
            account_id = await link_account(pg_engine, vault, user_id=user.id, broker=BrokerName.BINANCE,
                                            mode=AccountMode.PAPER, api_key=opened.api_key,
                                            api_secret=opened.api_secret, now=datetime.now(UTC))
            accounts[account_id] = opened.paper_account_id
    _admin, token = await users_service.create_user(pg_engine, "admin@example.com", "admin")
    deployment = Deployment(pg_engine, paper, env, tmp_path, accounts, token.reveal())
    try:
        yield deployment
    finally:
        for process in deployment.processes:
            process.kill()


def _signal(n: int, account_id: str, quantity: Decimal) -> dict[str, Any]:
    return {"id": f"sig-scale-{n:03d}", "model_id": "scale-v1", "symbol": "BTCUSDT", "market": "crypto",
            "side": "buy", "quantity": str(quantity), "confidence": "0.9",
            "created_at": datetime.now(UTC).isoformat(), "account_id": account_id}


async def _post(d: Deployment, url: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    gate = asyncio.Semaphore(4)
    headers = {"Authorization": f"Bearer {d.admin_token}"}

    async def one(http: aiohttp.ClientSession, body: dict[str, Any]) -> dict[str, Any]:
        async with gate, http.post(url + "/v1/signals", json=body, headers=headers) as answer:
            assert answer.status == 201, (await answer.text(), d.logs())
            result: dict[str, Any] = await answer.json()
            return result

    async with aiohttp.ClientSession() as http:
        return list(await asyncio.gather(*(one(http, b) for b in bodies)))


async def _holders(engine: AsyncEngine) -> Counter[str | None]:
    return Counter(lease.worker_id for lease in (await lease_rows(engine)).values())


async def _statuses(engine: AsyncEngine, order_ids: list[str]) -> Counter[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(broker_orders.c.status).where(broker_orders.c.id.in_(order_ids)))
        return Counter(rows.scalars())


async def _senders(engine: AsyncEngine, order_ids: list[str]) -> Counter[str]:
    """Who marked each order ``submitting``: one entry per send."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(order_events.c.actor).where(
            order_events.c.order_id.in_(order_ids), order_events.c.event == "submit_started"))
        return Counter(rows.scalars())


async def test_two_workers_send_each_intent_of_an_api_only_service_once(deployment: Deployment) -> None:
    """50 signals into an API-only service: two workers send each intent once, all fill; SIGTERM hands off."""
    d = deployment
    w1, id1 = await d.worker("worker-1")
    w2, id2 = await d.worker("worker-2")
    half = ACCOUNTS // 2
    assert await until(lambda: _split(d.engine, {id1: half, id2: half}), within=30), (
        await _holders(d.engine), d.logs())
    api, url = await d.api()

    ids = sorted(d.accounts)
    bodies = [_signal(n, ids[n % ACCOUNTS], Decimal("0.001") + Decimal("0.0001") * (n // ACCOUNTS))
              for n in range(ACCOUNTS * SIGNALS_EACH)]
    answers = await _post(d, url, bodies)
    outcomes = [o for a in answers for o in a["outcomes"]]
    assert [o["status"] for o in outcomes] == ["pending_submit"] * len(bodies), outcomes
    order_ids = [o["order_id"] for o in outcomes]

    async def all_filled() -> bool:
        return await _statuses(d.engine, order_ids) == Counter({"filled": len(order_ids)})

    assert await until(all_filled, within=60), (await _statuses(d.engine, order_ids), d.logs())
    senders = await _senders(d.engine, order_ids)
    assert sum(senders.values()) == len(order_ids)  # one send per intent, none from the API
    assert set(senders) == {f"order-manager@{id1}", f"order-manager@{id2}"}
    async with d.engine.connect() as conn:
        client_ids = dict((await conn.execute(select(broker_orders.c.id, broker_orders.c.client_order_id)
                                              .where(broker_orders.c.id.in_(order_ids)))).all())
        weight = (await conn.execute(select(func.sum(weight_budgets.c.used))
                                     .where(weight_budgets.c.key == "binance"))).scalar_one()
    at_paper = Counter[str]()
    for account_id in d.accounts:
        at_paper += d.orders_at_paper(account_id)
    assert at_paper == Counter(client_ids.values())  # each intent exactly once at the broker, nothing else
    assert weight >= len(order_ids)  # every send took its weight from the shared budget
    assert (await verify_ledger(d.engine)).ok

    # SIGTERM: worker 1 stops its work, frees its leases (not waiting for their TTL) and unregisters.
    assert await w1.terminate() == 0, d.logs()
    assert id1 not in await _holders(d.engine)
    async with d.engine.connect() as conn:
        assert (await conn.execute(select(workers.c.worker_id))).scalars().all() == [id2]
    assert await until(lambda: _split(d.engine, {id2: ACCOUNTS}), within=TTL * 2), await _holders(d.engine)
    (late,) = [o["order_id"] for a in await _post(d, url, [
        _signal(999, ids[0], Decimal("0.002"))]) for o in a["outcomes"]]

    async def late_filled() -> bool:
        return await _statuses(d.engine, [late]) == Counter({"filled": 1})

    assert await until(late_filled, within=30), d.logs()
    assert await _senders(d.engine, [late]) == Counter({f"order-manager@{id2}": 1})
    await api.terminate()
    assert await w2.terminate() == 0, d.logs()


async def _split(engine: AsyncEngine, want: dict[str, int]) -> bool:
    holders = await _holders(engine)
    return {k: v for k, v in holders.items() if k is not None} == want


async def test_a_worker_stopped_with_sigterm_releases_its_leases(deployment: Deployment) -> None:
    """``boltz worker`` prints its id, takes every lease alone, and on SIGTERM exits 0, its leases free."""
    d = deployment
    process, worker_id = await d.worker("worker")
    assert await until(lambda: _split(d.engine, {worker_id: ACCOUNTS}), within=30), d.logs()
    assert await process.terminate() == 0, d.logs()
    assert await _holders(d.engine) == Counter({None: ACCOUNTS})
    async with d.engine.connect() as conn:
        assert (await conn.execute(select(workers.c.worker_id))).scalars().all() == []
    with contextlib.suppress(FileNotFoundError):
        assert "Traceback" not in process.log.read_text()
