"""The 10,000-account fan-out with the API in one process and 1, 2 or 3 `boltz worker` processes.

For each worker count: a fresh PostgreSQL database with the same N paper accounts linked (their
credentials sealed by the vault, as the API would store them) and subscribed to one model;
`boltz serve --api-only` and the workers start and take their leases (start-up reconciliation
included, not timed); then one signal per market goes to the API as an admin's model fan-out,
and the time is taken until every order is acknowledged and persisted (polled in the database).
CPU seconds used by each process during the fan-out are reported, to show what bounds it.

    .venv/bin/python bench/workers.py [--accounts 10000] [--workers 1,2,3]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, insert, select, text

from _common import database, free_port, start_paper
from boltztrader.accounts import users as users_service
from boltztrader.accounts.keyring import generate_master_key
from boltztrader.db.tables import broker_accounts, broker_orders, model_subscriptions, users
from boltztrader.domain.secrets import Secret
from boltztrader.settings import load_settings
from boltztrader.wiring.runtime import vault_for

BROKERS = ("kite", "alpaca", "binance")
NAMES = {"kite": "zerodha", "alpaca": "alpaca", "binance": "binance"}
REGION = {"kite": "india", "alpaca": "us", "binance": "crypto"}
SIGNALS = {"kite": ("INFY", "nse", "1"), "alpaca": ("AAPL", "us", "1"),
           "binance": ("BTCUSDT", "crypto", "0.001")}
SETTLED = ("open", "partially_filled", "filled", "rejected", "denied", "cancelled", "expired")


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu() -> float:
    total = 0.0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    total += _cpu(int(pid))
            except OSError:
                continue
    return total


async def _open_accounts(urls: dict[str, str], count: int) -> list[dict[str, Any]]:
    cash = {"kite": {"INR": "100000000"}, "alpaca": {"USD": "100000000"}, "binance": {"USDT": "100000000"}}
    gate = asyncio.Semaphore(32)

    async def one(i: int, http: aiohttp.ClientSession) -> dict[str, Any]:
        broker = BROKERS[i % 3]
        async with gate:
            async with http.post(urls[broker] + "/_paper/accounts", json={"cash": cash[broker]}) as resp:
                account = dict(await resp.json())
            if broker == "kite":
                checksum = hashlib.sha256((account["api_key"] + account["request_token"]
                                           + account["api_secret"]).encode()).hexdigest()
                form = {"api_key": account["api_key"], "request_token": account["request_token"],
                        "checksum": checksum}
                async with http.post(urls["kite"] + "/session/token", data=form,
                                     headers={"X-Kite-Version": "3"}) as resp:
                    account["access_token"] = (await resp.json())["data"]["access_token"]
        account |= {"broker": broker, "our_id": f"acct-{i:06d}", "user_id": f"user-{i:06d}"}
        return account

    async with aiohttp.ClientSession() as http:
        return list(await asyncio.gather(*(one(i, http) for i in range(count))))


async def _link(engine: Any, env: dict[str, str], accounts: list[dict[str, Any]]) -> None:
    """Every account as the API stores it (secrets sealed by the vault), in bulk."""
    vault = vault_for(load_settings({k: v for k, v in env.items() if k.startswith("BOLTZ_")}))
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        for start in range(0, len(accounts), 1000):
            chunk = accounts[start:start + 1000]
            await conn.execute(insert(users), [{"id": a["user_id"], "email": f"{a['user_id']}@bench",
                                                "display_name": "", "role": "user", "created_at": now}
                                               for a in chunk])
            rows = []
            for a in chunk:
                secret = a.get("api_secret") or a["secret_key"]
                token = a.get("access_token")
                rows.append({
                    "id": a["our_id"], "user_id": a["user_id"], "broker": NAMES[a["broker"]], "label": "main",
                    "mode": "paper", "region": REGION[a["broker"]],
                    "api_key": a.get("api_key") or a["key_id"],
                    "api_secret_ciphertext": vault.encrypt(Secret(secret), owner=a["user_id"],
                                                           account_id=a["our_id"], field="api_secret"),
                    "access_token_ciphertext": None if token is None else vault.encrypt(
                        Secret(token), owner=a["user_id"], account_id=a["our_id"], field="access_token"),
                    "execution_mode": "automated", "trading_state": "active", "settings": {},
                    "created_at": now, "updated_at": now})
            await conn.execute(insert(broker_accounts), rows)
            await conn.execute(insert(model_subscriptions), [
                {"id": f"sub-{a['our_id']}", "user_id": a["user_id"], "model_id": "bench", "sizing": "signal",
                 "active": True, "created_at": now} for a in chunk])


async def _one_run(workers: int, urls: dict[str, str], accounts: list[dict[str, Any]], home: Path) -> str:
    async with database("postgresql", pool_size=10) as engine:
        port = free_port()
        env = {**os.environ, "BOLTZ_DATABASE_URL": engine.url.render_as_string(hide_password=False),
               "BOLTZ_MASTER_KEY": generate_master_key(), "BOLTZ_PAPER_KITE_URL": urls["kite"],
               "BOLTZ_PAPER_BINANCE_URL": urls["binance"], "BOLTZ_PAPER_ALPACA_URL": urls["alpaca"],
               "BOLTZ_RATE_LIMIT": "0", "BOLTZ_PORT": str(port), "BOLTZ_BALANCE_MAX_AGE": "600"}
        env.pop("BOLTZ_DEMO", None)
        await _link(engine, env, accounts)
        _admin, token = await users_service.create_user(engine, "bench-admin@example.com", "admin")
        procs = {"api": _start(env, home, "serve", "--api-only", "--port", str(port))}
        for n in range(workers):
            procs[f"worker{n + 1}"] = _start(env, home, "worker")
        try:
            await _until_leased(engine, len(accounts))
            # Leases are taken before each account's start-up reconciliation ends (and shift while
            # the workers balance their shares): time the fan-out from a quiet system only.
            settle = await _until_quiet([p.pid for p in procs.values()])
            print(f"  {workers} worker(s): every account leased and reconciled, quiet after {settle:.0f} s",
                  flush=True)
            cpu_before = {name: _cpu(p.pid) for name, p in procs.items()} | {"postgres": _postgres_cpu()}
            started = time.perf_counter()
            async with aiohttp.ClientSession() as http:
                async def post(broker: str) -> None:
                    async with http.post(f"http://127.0.0.1:{port}/v1/signals",
                                         headers={"Authorization": f"Bearer {token.reveal()}"},
                                         json=_signal(broker, f"fan-{workers}-{broker}")) as resp:
                        if resp.status != 201:
                            raise RuntimeError(f"the signal answered {resp.status}: {await resp.text()}")
                await asyncio.gather(*(post(b) for b in BROKERS))
            written = time.perf_counter() - started
            await _until_settled(engine, len(accounts))
            done = time.perf_counter() - started
            cpu = {name: _cpu(p.pid) - cpu_before[name] for name, p in procs.items()} | {
                "postgres": _postgres_cpu() - cpu_before["postgres"]}
            use = ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())
            async with engine.connect() as conn:
                statuses = ", ".join(f"{status} {n}" for status, n in (await conn.execute(text(
                    "SELECT status, count(*) FROM broker_orders GROUP BY status ORDER BY 2 DESC"))).all())
            return (f"{workers} worker(s)  {len(accounts)} accounts  intents written {written:5.1f} s  "
                    f"all acknowledged {done:5.1f} s  CPU s: {use}  ({statuses})")
        finally:
            for proc in procs.values():
                proc.terminate()
            for proc in procs.values():
                proc.wait(30)


def _start(env: dict[str, str], home: Path, *args: str) -> subprocess.Popen[bytes]:
    """A boltz process; its output goes to ``home/<command>-<n>.log`` (printed if the run fails)."""
    log = home / f"{args[0]}-{len(list(home.glob(args[0] + '-*.log'))) + 1}.log"
    with log.open("w") as sink:
        return subprocess.Popen([sys.executable, "-m", "boltztrader.cli.main", *args], env=env, cwd=home,
                                stdout=sink, stderr=subprocess.STDOUT)


def _signal(broker: str, signal_id: str) -> dict[str, Any]:
    symbol, market, quantity = SIGNALS[broker]
    return {"id": signal_id, "model_id": "bench", "symbol": symbol, "market": market, "side": "buy",
            "quantity": quantity, "confidence": "0.9", "created_at": datetime.now(UTC).isoformat()}


async def _until_quiet(pids: list[int], *, cores: float = 0.15, within: float = 600) -> float:
    """Wait until these processes together use less than ``cores`` over 3 s (start-up done)."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        before = sum(_cpu(pid) for pid in pids)
        await asyncio.sleep(3)
        if (sum(_cpu(pid) for pid in pids) - before) / 3 < cores:
            return time.monotonic() - started
    raise RuntimeError("the processes never went quiet")


async def _until_leased(engine: Any, count: int) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        async with engine.connect() as conn:
            leased = (await conn.execute(text(
                "SELECT count(*) FROM account_leases WHERE expires_at > now()"))).scalar_one()
        if leased >= count:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError("the workers did not lease every account")


async def _until_settled(engine: Any, count: int) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        async with engine.connect() as conn:
            settled = (await conn.execute(select(func.count()).select_from(broker_orders).where(
                broker_orders.c.status.in_(SETTLED)))).scalar_one()
        if settled >= count:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the fan-out did not settle")


async def run(args: argparse.Namespace) -> None:
    # Prices walk a step a second, so that the equity quotes stay fresh for the risk guard.
    papers = {b: start_paper(b, tick_seconds=1) for b in BROKERS}
    urls = {b: url for b, (_, url) in papers.items()}
    try:
        accounts = await _open_accounts(urls, args.accounts)
        with tempfile.TemporaryDirectory() as tmp:
            for workers in [int(n) for n in args.workers.split(",")]:
                home = Path(tmp) / f"{workers}-workers"
                home.mkdir()
                try:
                    print(await _one_run(workers, urls, accounts, home), flush=True)
                except Exception:
                    for log in sorted(home.glob("*.log")):
                        print(f"--- {log.name}:\n" + "\n".join(log.read_text().splitlines()[-30:]),
                              file=sys.stderr)
                    raise
    finally:
        for proc, _ in papers.values():
            proc.terminate()
            proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10000)
    parser.add_argument("--workers", default="1,2,3")
    asyncio.run(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
