"""Chaos: an API process and N workers on one PostgreSQL, workers SIGKILLed while signals pour in.

Starts the three paper brokers (each its own process, with a fault plan on: 5xx before and after
acting, dropped answers, 429s, duplicated and reordered stream events), a fresh PostgreSQL
database, `boltz serve --api-only` and N `boltz worker` processes; links the accounts; sends
the signals over HTTP at a fixed rate, one per account in turn; every few seconds SIGKILLs a
random worker and starts a new one. Then it stops killing, clears the faults and drains, and
checks against the paper brokers' own books:

- no lost signal: every signal answered 201 is stored, with exactly one order row per signal;
- no duplicate: at every paper account the broker holds exactly as many orders as we have rows
  that reached it (rows with a broker order id), so no intent was ever sent twice;
- nothing stuck: no row left pending_submit, submitting, unknown or pending_cancel;
- the audit ledger verifies (`boltz audit verify`).

Figures: signals, kills, the recovery time after each kill (until every account is leased by a
live worker again), and the drain time.

    .venv/bin/python bench/chaos.py [--accounts 2000] [--signals 20000] [--workers 3]
                                    [--rate 200] [--kill-every 5] [--lease-ttl 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from _common import database, free_port, start_paper
from boltztrader.accounts import users as users_service
from boltztrader.accounts.keyring import generate_master_key
from boltztrader.accounts.linking import link_account
from boltztrader.accounts.paper import open_paper_account
from boltztrader.db.tables import broker_orders, signals
from boltztrader.domain.enums import AccountMode
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.settings import load_settings
from boltztrader.wiring.runtime import vault_for

BROKERS = (("kite", BrokerName.ZERODHA, "INFY", "nse", "1"),
           ("binance", BrokerName.BINANCE, "BTCUSDT", "crypto", "0.001"),
           ("alpaca", BrokerName.ALPACA, "AAPL", "us", "1"))
UNSETTLED = ("pending_submit", "submitting", "unknown", "pending_cancel")
FAULTS = {
    "seed": 7,
    "rules": [
        {"op": "place_order", "action": "error_before", "probability": 0.01, "status": 503},
        {"op": "place_order", "action": "error_after", "probability": 0.005, "status": 500},
        {"op": "place_order", "action": "drop_after", "probability": 0.005},
        {"op": "place_order", "action": "rate_limit", "probability": 0.01, "retry_after_s": 0},
    ],
    "stream": {"duplicate": 0.05, "reorder": 0.05},
}


@dataclass
class Account:
    id: str
    broker: str
    paper_id: str
    symbol: str
    market: str
    quantity: str


@dataclass
class Chaos:
    env: dict[str, str]
    home: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    kills: list[float] = field(default_factory=list)  # recovery seconds after each kill
    started: int = 0
    logs: dict[int, Path] = field(default_factory=dict)  # pid -> its log


def _boltz(*args: str) -> list[str]:
    return [sys.executable, "-m", "boltztrader.cli.main", *args]


def _spawn(chaos: Chaos, name: str, *args: str) -> subprocess.Popen[bytes]:
    chaos.started += 1
    path = chaos.home / f"{name}-{chaos.started}.log"
    proc = subprocess.Popen(_boltz(*args), env=chaos.env, cwd=chaos.home, stdout=path.open("w"),
                            stderr=subprocess.STDOUT)
    chaos.logs[proc.pid] = path
    return proc


async def _worker_id(engine: AsyncEngine, proc: subprocess.Popen[bytes]) -> str | None:
    """The worker id a worker process registered under (its label ends with its pid)."""
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT worker_id FROM workers WHERE label LIKE :pid"),
                                   {"pid": f"%:{proc.pid}"})).scalar()


async def _link_accounts(engine: AsyncEngine, settings_env: dict[str, str], urls: dict[str, str],
                         count: int) -> list[Account]:
    vault = vault_for(load_settings({k: v for k, v in settings_env.items() if k.startswith("BOLTZ_")}))
    owners = [(await users_service.create_user(engine, f"chaos-{i}@example.com"))[0].id
              for i in range(max(1, count // 10))]
    gate = asyncio.Semaphore(16)

    async def one(i: int, http: aiohttp.ClientSession) -> Account:
        name, broker, symbol, market, quantity = BROKERS[i % 3]
        async with gate:
            opened = await open_paper_account(http, urls[name], broker)
            account_id = await link_account(
                engine, vault, user_id=owners[i % len(owners)], broker=broker, mode=AccountMode.PAPER,
                label=f"chaos-{i}", api_key=opened.api_key, api_secret=opened.api_secret,
                access_token=opened.access_token, access_token_expires_at=opened.access_token_expires_at,
                now=datetime.now(UTC))
        return Account(account_id, name, opened.paper_account_id, symbol, market, quantity)

    async with aiohttp.ClientSession() as http:
        return list(await asyncio.gather(*(one(i, http) for i in range(count))))


async def _wait_http(url: str, proc: subprocess.Popen[bytes], within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{url} exited with {proc.returncode}")
            try:
                async with http.get(url + "/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


async def _send(api: str, token: str, accounts: list[Account], total: int, rate: float) -> tuple[int, int]:
    """Open-loop: signal i leaves at i / rate seconds; returns (acknowledged, failed)."""
    headers = {"Authorization": f"Bearer {token}"}
    started = time.monotonic()
    done = [0, 0]
    gate = asyncio.Semaphore(64)

    async def one(i: int, http: aiohttp.ClientSession) -> None:
        account = accounts[i % len(accounts)]
        body = {"id": f"chaos-{i}", "model_id": "chaos", "symbol": account.symbol, "market": account.market,
                "side": "buy", "quantity": account.quantity, "confidence": "0.9", "account_id": account.id}
        async with gate:
            body["created_at"] = datetime.now(UTC).isoformat()  # made when it can be sent, not queued here
            for _ in range(5):  # the API process is never killed; a retry of the same signal is a replay
                try:
                    async with http.post(api + "/v1/signals", json=body, headers=headers) as resp:
                        if resp.status in (200, 201):
                            done[0] += 1
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.5)
            done[1] += 1

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        tasks = []
        for i in range(total):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(i, http)))
        await asyncio.gather(*tasks)
    return done[0], done[1]


async def _leased(engine: AsyncEngine, dead: str | None) -> int:
    """Accounts whose lease is live and held by a worker other than the one just killed."""
    async with engine.connect() as conn:
        return int((await conn.execute(text(
            "SELECT count(*) FROM account_leases WHERE expires_at > now() AND worker_id <> :dead"),
            {"dead": dead or ""})).scalar_one())


async def _killer(chaos: Chaos, engine: AsyncEngine, accounts: int, every: float,
                  stop: asyncio.Event) -> None:
    rng = random.Random(11)
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), every)
            return
        except TimeoutError:
            pass
        victim = rng.randrange(len(chaos.workers))
        dead = await _worker_id(engine, chaos.workers[victim])
        chaos.workers[victim].send_signal(signal.SIGKILL)
        chaos.workers[victim].wait()
        killed = time.monotonic()
        chaos.workers[victim] = _spawn(chaos, "worker", "worker")
        while await _leased(engine, dead) < accounts and time.monotonic() - killed < 120:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        chaos.kills.append(time.monotonic() - killed)
        if os.environ.get("CHAOS_DEBUG"):
            print(f"killed {dead}: recovered in {chaos.kills[-1]:.2f} s", flush=True)


async def _drain(engine: AsyncEngine, within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        async with engine.connect() as conn:
            left = (await conn.execute(select(func.count()).select_from(broker_orders).where(
                broker_orders.c.status.in_(UNSETTLED)))).scalar_one()
        if left == 0:
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    async with engine.connect() as conn:
        stuck = (await conn.execute(text(
            "SELECT o.status, count(*), count(DISTINCT o.account_id), "
            "sum(CASE WHEN l.expires_at > now() THEN 1 ELSE 0 END) FROM broker_orders o "
            "LEFT JOIN account_leases l ON l.account_id = o.account_id "
            "WHERE o.status IN ('pending_submit', 'submitting', 'unknown', 'pending_cancel') "
            "GROUP BY o.status"))).all()
    detail = "; ".join(f"{status}: {n} rows over {accounts} accounts, {leased} leased"
                       for status, n, accounts, leased in stuck)
    raise RuntimeError(f"{left} orders still unsettled after {within:.0f} s ({detail})")


async def _check(engine: AsyncEngine, urls: dict[str, str], accounts: list[Account],
                 sent: int) -> tuple[list[str], dict[str, int]]:
    """What breaks an invariant (empty when none does), and the orders' final statuses."""
    problems = []
    async with engine.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(signals))).scalar_one()
        per_signal = (await conn.execute(text(
            "SELECT count(*) FROM (SELECT signal_id FROM broker_orders GROUP BY signal_id "
            "HAVING count(*) <> 1) AS x"))).scalar_one()
        ordered = (await conn.execute(
            select(func.count(func.distinct(broker_orders.c.signal_id))))).scalar_one()
        statuses = {str(row[0]): int(row[1]) for row in (await conn.execute(text(
            "SELECT status, count(*) FROM broker_orders GROUP BY status"))).all()}
        reached = {str(row[0]): int(row[1]) for row in (await conn.execute(text(
            "SELECT account_id, count(*) FROM broker_orders WHERE broker_order_id IS NOT NULL "
            "GROUP BY account_id"))).all()}
    if stored != sent or ordered != sent:
        problems.append(f"lost signals: {sent} acknowledged, {stored} stored, {ordered} with an order")
    if per_signal:
        problems.append(f"{per_signal} signals without exactly one order row")
    async with aiohttp.ClientSession() as http:
        for account in accounts:
            async with http.get(f"{urls[account.broker]}/_paper/accounts/{account.paper_id}") as resp:
                at_broker = int((await resp.json())["orders"])
            if at_broker != reached.get(account.id, 0):
                problems.append(f"account {account.id}: {at_broker} broker orders, "
                                f"{reached.get(account.id, 0)} rows sent")
    return problems, statuses


async def run(args: argparse.Namespace) -> int:
    # Prices walk a step a second: with still prices the equity quotes age past the risk guard's
    # freshness limit and every Kite and Alpaca signal would be denied instead of reaching a broker.
    papers = {name: start_paper(name, tick_seconds=1) for name, *_ in BROKERS}
    urls = {name: url for name, (_, url) in papers.items()}
    api_port = free_port()
    api = f"http://127.0.0.1:{api_port}"
    procs: list[subprocess.Popen[bytes]] = []
    chaos: Chaos | None = None
    try:
        async with database("postgresql", pool_size=10) as engine:
            db_url = engine.url.render_as_string(hide_password=False)
            with tempfile.TemporaryDirectory() as tmp:
                env = {**os.environ, "BOLTZ_DATABASE_URL": db_url, "BOLTZ_MASTER_KEY": generate_master_key(),
                       "BOLTZ_PAPER_KITE_URL": urls["kite"], "BOLTZ_PAPER_BINANCE_URL": urls["binance"],
                       "BOLTZ_PAPER_ALPACA_URL": urls["alpaca"], "BOLTZ_RATE_LIMIT": "0",
                       "BOLTZ_LEASE_TTL": str(args.lease_ttl), "BOLTZ_PORT": str(api_port)}
                env.pop("BOLTZ_DEMO", None)
                chaos = Chaos(env, Path(tmp))
                t0 = time.monotonic()
                accounts = await _link_accounts(engine, env, urls, args.accounts)
                _admin, token = await users_service.create_user(engine, "chaos-admin@example.com", "admin")
                print(f"linked {len(accounts)} accounts in {time.monotonic() - t0:.1f} s", flush=True)
                serve = _spawn(chaos, "api", "serve", "--api-only", "--port", str(api_port))
                procs.append(serve)
                chaos.workers = [_spawn(chaos, "worker", "worker") for _ in range(args.workers)]
                await _wait_http(api, serve)
                async with aiohttp.ClientSession() as http:
                    for url in urls.values():
                        async with http.put(url + "/_paper/faults", json=FAULTS) as resp:
                            resp.raise_for_status()
                stop = asyncio.Event()
                killer = asyncio.ensure_future(_killer(chaos, engine, len(accounts), args.kill_every, stop))
                t1 = time.monotonic()
                acked, failed = await _send(api, token.reveal(), accounts, args.signals, args.rate)
                sending = time.monotonic() - t1
                stop.set()
                await killer
                async with aiohttp.ClientSession() as http:
                    for url in urls.values():
                        async with http.delete(url + "/_paper/faults") as resp:
                            resp.raise_for_status()
                drained = await _drain(engine, args.drain_timeout)
                problems, statuses = await _check(engine, urls, accounts, acked)
                verify = await asyncio.to_thread(subprocess.run, _boltz("audit", "verify"), env=env, cwd=tmp,
                                                 capture_output=True, text=True, check=False)
                if verify.returncode != 0:
                    problems.append("audit verify failed: " + (verify.stdout + verify.stderr).strip()[-500:])
                if failed:
                    problems.append(f"{failed} signals never acknowledged")
                recovery = sorted(chaos.kills)
                summary = {
                    "signals": args.signals, "acknowledged": acked, "accounts": len(accounts),
                    "workers": args.workers, "kills": len(chaos.kills),
                    "recovery_s_p50": round(recovery[len(recovery) // 2], 2) if recovery else None,
                    "recovery_s_max": round(recovery[-1], 2) if recovery else None,
                    "sending_s": round(sending, 1), "achieved_rate": round(acked / sending, 1),
                    "drain_s": round(drained, 1), "statuses": statuses, "problems": problems,
                }
                print("RESULT " + json.dumps(summary), flush=True)
                for proc in [*chaos.workers, serve]:
                    proc.terminate()
                for proc in [*chaos.workers, serve]:
                    proc.wait(30)
                return 1 if problems else 0
    finally:
        for proc in [*procs, *(chaos.workers if chaos else [])]:
            if proc.poll() is None:
                proc.kill()
        for proc, _ in papers.values():
            proc.terminate()
            proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--signals", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--rate", type=float, default=200.0, help="signals per second sent to the API")
    parser.add_argument("--kill-every", type=float, default=5.0, help="seconds between worker kills")
    parser.add_argument("--lease-ttl", type=float, default=5.0)
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
