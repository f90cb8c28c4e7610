"""Load and soak test: signals open-loop into one ``boltz serve`` on PostgreSQL, gauges watched.

Starts a fresh PostgreSQL database (``--database-url`` to use a migrated one instead), the three
paper brokers as their own processes (rate limits off; prices walk a step a second, as quotes of a
live market do) and ``boltz serve`` as a subprocess on that database (``BOLTZ_RATE_LIMIT=0``: the
per-caller limit is not what is measured). A user is made with ``boltz users create`` (``--users``
for more, each with their own audit chain and event stream); ``--accounts`` paper accounts are
opened and linked through ``POST /v1/accounts/paper``, spread evenly over Kite, Binance and Alpaca,
and each gets one warm-up signal (not counted). Then signals go out on a fixed schedule, ``--rate``
per second for ``--duration`` seconds, whether or not earlier ones have been answered (open loop),
each to a random account: a buy of INFY 1 (Kite), BTCUSDT 0.001 (Binance) or AAPL 1 (Alpaca), or a
sell of the same when the account holds it (fills seen on the event stream), so that no account
runs out of cash however long the run.

Per signal: the POST latency (to the 201), and on the ``/v1/ws`` event stream the time until the
broker answered (``open``/``filled``/``rejected``) and until the order reached its final status; all
from the moment the schedule said to send it, so a slow answer cannot hide the requests queued
behind it. Orders the stream never showed settling are looked up with ``GET /v1/signals/{id}``.
Every 5 s ``/metrics`` is scraped: resident memory, open fds, asyncio tasks, pool connections
checked out, outbox depth. At the end: percentiles, achieved rate, errors, the risk guard's denials,
CPU per process, and per gauge the first-half and second-half means and the least-squares slope
after ``--warmup``.

Exit status 1 when the service fell behind (the outbox depth grew, or fewer than 95 % of the
scheduled signals per second were acknowledged), any request failed, an order never settled, or
the service logged a traceback; with ``--require-flat`` also when a gauge grew (``gauge_report``).

    .venv/bin/python bench/load.py [--rate 50] [--duration 60] [--accounts 60] [--users 1]
                                   [--workers N] [--json out.json] [--keep-log serve.log]
    .venv/bin/python bench/load.py --rate 30 --workers 2 --users 10    # the load test (CI)
    .venv/bin/python bench/load.py --rate 15 --workers 2 --users 10 --duration 1800   # the soak

``--workers N`` runs the service ``--api-only`` with N ``boltz worker`` processes sending the
orders (their memory and fds read from /proc, their logs searched for tracebacks too).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pwd
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

import _common
from _common import database, free_port

BOLTZ = [sys.executable, "-m", "boltztrader.cli.main"]
# paper broker -> (our broker name, symbol, market, quantity)
BROKERS: dict[str, tuple[str, str, str, Decimal]] = {
    "kite": ("zerodha", "INFY", "nse", Decimal("1")),
    "binance": ("binance", "BTCUSDT", "crypto", Decimal("0.001")),
    "alpaca": ("alpaca", "AAPL", "us", Decimal("1")),
}
TERMINAL = frozenset({"filled", "rejected", "denied", "cancelled", "expired", "declined"})
ANSWERED = TERMINAL | {"open", "partially_filled", "pending_cancel"}  # the broker has said something
# gauge -> (metric name, scale)
GAUGES: dict[str, tuple[str, float]] = {
    "rss_mib": ("process_resident_memory_bytes", 1 / 2**20),
    "open_fds": ("boltz_open_fds", 1.0),
    "asyncio_tasks": ("boltz_asyncio_tasks", 1.0),
    "pool_checked_out": ("boltz_db_pool_checked_out", 1.0),
    "outbox_depth": ("boltz_outbox_depth", 1.0),
}
WORKER_GAUGES = ("workers_rss_mib", "workers_open_fds")
SCRAPE_SECONDS = 5.0
DATABASE_TTL_SECONDS = 5.1
RSS_FLAT_MIB_PER_MIN = 1.0
OUTBOX_GROWING_PER_MIN = 10.0
MIN_ACHIEVED = 0.95
EXCEPTION_LINE = re.compile(r"^((?:\w+\.)*\w*(?:Error|Exception|Timeout)\w*):")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Account:
    id: str
    broker: str
    token: str  # its owner's
    held: Decimal = Decimal(0)  # bought and seen filled, less what we have sold since


@dataclass
class Sent:
    """One scheduled signal; times are time.monotonic()."""

    index: int
    account: Account
    side: str
    quantity: Decimal
    scheduled: float
    started: float = 0.0
    acked: float | None = None
    http_status: int | None = None
    error: str | None = None
    order_id: str | None = None
    answered: float | None = None
    settled: float | None = None
    status: str | None = None
    filled: Decimal = Decimal(0)
    polled: bool = False
    reasons: tuple[str, ...] = ()


@dataclass
class Sample:
    at: float  # seconds since the schedule started
    values: dict[str, float]


@dataclass
class State:
    url: str
    tokens: list[str]
    accounts: list[Account] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    by_order: dict[str, Sent] = field(default_factory=dict)
    early: dict[str, list[tuple[float, dict[str, Any]]]] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    pids: dict[str, int] = field(default_factory=dict)
    started: float = 0.0
    ws_reconnects: int = 0
    warmup_orders: dict[str, Sent] = field(default_factory=dict)


# -- the service -----------------------------------------------------------------------------------


def start_paper(broker: str) -> tuple[subprocess.Popen[bytes], str]:
    """``boltz paper serve`` for one broker in its own process, rate limits off. Unlike the other
    benchmarks' brokers the prices walk (one step a second): a still price makes the equity quotes
    older than the risk guard's 5 s, and it denies the orders (STALE_REFERENCE)."""
    return _common.start_paper(broker, tick_seconds=1)


def _env(database_url: str, papers: dict[str, str], port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOLTZ_")}
    env.update({
        "BOLTZ_DATABASE_URL": database_url, "BOLTZ_HOST": "127.0.0.1", "BOLTZ_PORT": str(port),
        "BOLTZ_PAPER_KITE_URL": papers["kite"], "BOLTZ_PAPER_BINANCE_URL": papers["binance"],
        "BOLTZ_PAPER_ALPACA_URL": papers["alpaca"], "BOLTZ_RATE_LIMIT": "0", "COLUMNS": "300",
    })
    return env


def _wait_for(log: Path, proc: subprocess.Popen[bytes], marks: tuple[str, ...], what: str) -> None:
    deadline = time.monotonic() + 60
    while not any(mark in log.read_text() for mark in marks):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start:\n" + log.read_text()[-3000:])
        time.sleep(0.2)


def _log_lines(home: Path) -> list[str]:
    """The lines of the service's log and the workers'."""
    return [line for path in sorted(home.glob("*.log")) for line in path.read_text().splitlines()]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@contextlib.contextmanager
def serve(home: Path, env: dict[str, str], workers: int = 0) -> Any:
    """``boltz serve`` in its own process, until it says it trades; its log is ``home/serve.log``.

    With ``workers``, the service runs ``--api-only`` and that many ``boltz worker`` processes send
    the orders (logs ``home/worker-<n>.log``); yields the service's process and the workers'."""
    log = home / "serve.log"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with log.open("w") as sink:
            procs.append(subprocess.Popen([*BOLTZ, "serve", *(["--api-only"] if workers else [])], cwd=home,
                                          env=env, stdout=sink, stderr=subprocess.STDOUT))
        _wait_for(log, procs[0], ("trading:", "API only:"), "boltz serve")
        for n in range(1, workers + 1):
            path = home / f"worker-{n}.log"
            with path.open("w") as sink:
                procs.append(subprocess.Popen([*BOLTZ, "worker"], cwd=home, env=env, stdout=sink,
                                              stderr=subprocess.STDOUT))
            _wait_for(path, procs[-1], ("BoltzTrader worker",), f"worker {n}")
        yield procs[0], procs[1:]
    finally:
        for proc in reversed(procs):
            _stop(proc)


async def create_users(home: Path, env: dict[str, str], count: int) -> list[str]:
    """``boltz users create`` ``count`` times (two at a time); each user's API token."""
    gate = asyncio.Semaphore(2)

    async def one(i: int) -> str:
        email = f"load-{uuid.uuid4().hex[:8]}-{i}@bench.example"
        async with gate:
            proc = await asyncio.create_subprocess_exec(
                *BOLTZ, "users", "create", "--email", email, "--name", "load test", cwd=home, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
            out, _ = await proc.communicate()
        found = re.search(r"^token: (btz_\S+)$", out.decode(), re.MULTILINE)
        if proc.returncode != 0 or found is None:
            raise RuntimeError("boltz users create failed: " + out.decode()[-2000:])
        return found.group(1)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


# -- traffic ---------------------------------------------------------------------------------------


async def link_accounts(http: aiohttp.ClientSession, state: State, count: int) -> None:
    gate = asyncio.Semaphore(6)
    names = list(BROKERS)

    async def one(i: int) -> Account:
        broker = names[i % 3]
        token = state.tokens[(i // 3) % len(state.tokens)]  # each user's accounts spread over the brokers
        body = {"broker": BROKERS[broker][0], "label": f"load-{i:04d}"}
        async with gate, http.post(state.url + "/v1/accounts/paper", headers=bearer(token),
                                   json=body) as resp:
            answer = await resp.json()
            if resp.status != 201:
                raise RuntimeError(f"linking a {broker} paper account answered {resp.status}: {answer}")
        return Account(str(answer["id"]), broker, token)

    state.accounts = list(await asyncio.gather(*(one(i) for i in range(count))))


def signal_body(run_id: str, sent: Sent) -> dict[str, Any]:
    _, symbol, market, _ = BROKERS[sent.account.broker]
    return {"id": f"load-{run_id}-{sent.index}", "model_id": "load", "symbol": symbol, "market": market,
            "side": sent.side, "quantity": str(sent.quantity), "confidence": "0.9",
            "created_at": datetime.now(UTC).isoformat(), "account_id": sent.account.id}


def choose(account: Account, index: int, scheduled: float) -> Sent:
    quantity = BROKERS[account.broker][3]
    side = "sell" if account.held >= quantity else "buy"
    if side == "sell":
        account.held -= quantity
    return Sent(index, account, side, quantity, scheduled)


async def send(http: aiohttp.ClientSession, state: State, run_id: str, sent: Sent) -> None:
    sent.started = time.monotonic()
    try:
        async with http.post(state.url + "/v1/signals", headers=bearer(sent.account.token),
                             json=signal_body(run_id, sent)) as resp:
            body = await resp.json(content_type=None)
            sent.http_status = resp.status
    except Exception as exc:  # a refused or dropped connection is a failed request like a 5xx
        sent.error = f"{type(exc).__name__}: {exc}"
        return
    finally:
        sent.acked = time.monotonic()
    if not 200 <= resp.status < 300:
        sent.error = f"HTTP {resp.status}: {str(body)[:200]}"
        return
    outcome = body["outcomes"][0]
    sent.order_id = str(outcome["order_id"])
    sent.status = str(outcome["status"])
    sent.reasons = tuple(outcome.get("reasons") or ())
    if sent.status in TERMINAL:  # denied at intake: nothing goes to the broker
        sent.answered = sent.settled = sent.acked
    state.by_order[sent.order_id] = sent
    for at, data in state.early.pop(sent.order_id, []):
        apply_event(sent, at, data)


def apply_event(sent: Sent, at: float, data: dict[str, Any]) -> None:
    status = data.get("to")
    if not isinstance(status, str):
        return
    if status in ANSWERED and sent.answered is None:
        sent.answered = at
    if status in TERMINAL and sent.settled is None:
        sent.settled = at
    if "filled_quantity" in data:
        filled = Decimal(str(data["filled_quantity"]))
        if filled > sent.filled:
            if sent.side == "buy":
                sent.account.held += filled - sent.filled
            sent.filled = filled
    sent.status = status


async def events(http: aiohttp.ClientSession, state: State, token: str, ready: asyncio.Event) -> None:
    """Follow one user's /v1/ws for the whole run; reconnect and resume after the last seq if it drops."""
    last: int | None = None
    url = state.url.replace("http://", "ws://") + "/v1/ws"
    while True:
        try:
            async with http.ws_connect(url, headers=bearer(token), max_msg_size=0) as ws:
                resume = {"type": "resume", "from": "now"} if last is None else \
                    {"type": "resume", "after_seq": last}
                await ws.send_json(resume)
                async for message in ws:
                    if message.type is not aiohttp.WSMsgType.TEXT:
                        break
                    frame = json.loads(message.data)
                    if frame["type"] == "ready":
                        last = frame["head_seq"] if last is None else last
                        ready.set()
                    elif frame["type"] == "event":
                        last = frame["seq"]
                        if frame["entity"] == "order":
                            on_order_event(state, frame["entity_id"], frame["data"])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            print(f"  event stream dropped ({type(exc).__name__}); resuming", flush=True)
        state.ws_reconnects += 1
        await asyncio.sleep(0.5)


def on_order_event(state: State, order_id: str, data: dict[str, Any]) -> None:
    now = time.monotonic()
    sent = state.by_order.get(order_id) or state.warmup_orders.get(order_id)
    if sent is None:
        state.early.setdefault(order_id, []).append((now, data))
    else:
        apply_event(sent, now, data)


async def scrape(http: aiohttp.ClientSession, state: State) -> dict[str, float]:
    async with http.get(state.url + "/metrics") as resp:
        text = await resp.text()
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.labels:
                found[sample.name] = sample.value
            elif sample.name == "boltz_orders":
                found["orders:" + sample.labels["status"]] = sample.value
    values = {name: found[metric] * scale for name, (metric, scale) in GAUGES.items() if metric in found}
    values.update({k: v for k, v in found.items() if k.startswith("orders:")})
    return values


async def watch(http: aiohttp.ClientSession, state: State) -> None:
    """Scrape /metrics every 5 s, with the CPU the machine and the service used since the last one
    (a backlog that comes with a busy machine is not the service's alone)."""
    workers = {name: pid for name, pid in state.pids.items() if name.startswith("worker")}
    watched = {"serve": state.pids.get("serve", 0), **workers}
    before, at = cpu_snapshot(watched), time.monotonic()
    while True:
        values = await scrape(http, state)
        values.update(worker_gauges(list(workers.values())))
        now = cpu_snapshot(watched)
        wall = time.monotonic() - at
        if wall >= 1.0:  # too short an interval says nothing (clock ticks are 10 ms)
            values["machine_cores"] = (now["machine"] - before["machine"]) / wall
            values["serve_cores"] = (now["serve"] - before["serve"]) / wall
            if workers:
                values["workers_cores"] = sum(now[name] - before[name] for name in workers) / wall
        before, at = now, time.monotonic()
        sample = Sample(at - state.started, values)
        state.samples.append(sample)
        acked = sum(1 for s in state.sent if s.acked is not None and s.error is None)
        settled = sum(1 for s in state.sent if s.settled is not None)
        print(f"  {sample.at:7.1f} s  sent {len(state.sent):>6}  acked {acked:>6}  settled {settled:>6}  "
              f"rss {values.get('rss_mib', 0):6.1f} MiB  fds {values.get('open_fds', 0):4.0f}  "
              f"tasks {values.get('asyncio_tasks', 0):4.0f}  pool {values.get('pool_checked_out', 0):3.0f}  "
              f"outbox {values.get('outbox_depth', 0):4.0f}  cpu serve {values.get('serve_cores', 0):4.2f} "
              + (f"workers {values.get('workers_cores', 0):4.2f} (rss {values['workers_rss_mib']:6.1f} MiB, "
                 f"fds {values['workers_open_fds']:4.0f}) " if workers else "")
              + f"machine {values.get('machine_cores', 0):4.2f}", flush=True)
        await asyncio.sleep(SCRAPE_SECONDS)


async def warm_up(http: aiohttp.ClientSession, state: State, run_id: str) -> None:
    """One signal per account (start-up reconciliation done, balances fetched); waits until settled."""
    batch = [Sent(-1 - i, a, "buy", BROKERS[a.broker][3], time.monotonic()) for i, a in
             enumerate(state.accounts)]
    gate = asyncio.Semaphore(10)

    async def one(sent: Sent) -> None:
        async with gate:
            await send(http, state, f"{run_id}-warm", sent)
        if sent.order_id is not None:
            state.warmup_orders[sent.order_id] = state.by_order.pop(sent.order_id)

    await asyncio.gather(*(one(s) for s in batch))
    failed = [s.error for s in batch if s.error]
    if failed:
        raise RuntimeError(f"warm-up signals failed: {failed[:3]}")
    await until(lambda: all(s.settled is not None for s in batch), 90)
    statuses = Counter(s.status for s in batch)
    print(f"warm-up: {len(batch)} signals, one per account: {dict(statuses)}", flush=True)
    if statuses.get("filled", 0) != len(batch):
        reasons = Counter(r for s in batch for r in s.reasons)
        raise RuntimeError(f"warm-up orders did not all fill: {dict(statuses)}; reasons {dict(reasons)}")


async def until(done: Callable[[], bool], seconds: float) -> bool:
    """Wait until ``done()`` or for ``seconds``; whether it is done."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.2)
    return True


async def poll_unsettled(http: aiohttp.ClientSession, state: State, run_id: str) -> None:
    """Orders the stream never showed settling: ask GET /v1/signals/{id} for their status."""
    gate = asyncio.Semaphore(16)

    async def one(sent: Sent) -> None:
        async with gate, http.get(f"{state.url}/v1/signals/load-{run_id}-{sent.index}",
                                  headers=bearer(sent.account.token)) as resp:
            body = await resp.json()
        status = str(body["outcomes"][0]["status"]) if resp.status == 200 and body["outcomes"] else None
        if status is not None:
            sent.status, sent.polled = status, True
            if status in TERMINAL:
                sent.settled = sent.settled or time.monotonic()

    await asyncio.gather(*(one(s) for s in state.sent if s.order_id and s.settled is None))


async def run(args: argparse.Namespace, url: str, tokens: list[str], pids: dict[str, int]) -> dict[str, Any]:
    state = State(url=url, tokens=tokens, pids=pids)
    run_id = uuid.uuid4().hex[:8]
    # Idle connections are dropped before uvicorn's 5 s keep-alive ends: a request on a connection
    # the server is closing fails with a reset, which is the client's race, not the service's.
    connector = aiohttp.TCPConnector(limit=512, keepalive_timeout=2)
    timeout = aiohttp.ClientTimeout(total=60)
    background: list[asyncio.Task[None]] = []
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        try:
            started = time.monotonic()
            await link_accounts(http, state, args.accounts)
            print(f"linked {len(state.accounts)} paper accounts in {time.monotonic() - started:.1f} s",
                  flush=True)
            for token in tokens:
                ready = asyncio.Event()
                background.append(asyncio.create_task(events(http, state, token, ready)))
                await asyncio.wait_for(ready.wait(), 30)
            await warm_up(http, state, run_id)
            return await load(http, state, args, run_id, background)
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)


async def load(http: aiohttp.ClientSession, state: State, args: argparse.Namespace, run_id: str,
               background: list[asyncio.Task[None]]) -> dict[str, Any]:
    """The schedule: one signal every 1/rate s whatever the answers; then the drain and the figures."""
    rng = random.Random(args.seed)
    total = int(args.rate * args.duration)
    print(f"sending {total} signals at {args.rate:g}/s for {args.duration:g} s (open loop)", flush=True)
    tasks: set[asyncio.Task[None]] = set()
    cpu_before = cpu_snapshot(state.pids)
    state.started = time.monotonic()
    watcher = asyncio.create_task(watch(http, state))
    background.append(watcher)
    for i in range(total):
        scheduled = state.started + i / args.rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        sent = choose(rng.choice(state.accounts), i, scheduled)
        state.sent.append(sent)
        task = asyncio.create_task(send(http, state, run_id, sent))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    schedule_end = time.monotonic()
    await asyncio.gather(*tasks)
    await until(lambda: all(s.settled is not None for s in state.sent if s.order_id), args.drain)
    drained = time.monotonic()
    cpu_after = cpu_snapshot(state.pids)
    wall = max(1e-9, drained - state.started)
    cpu = {name: round((cpu_after[name] - cpu_before[name]) / wall, 3) for name in cpu_before}
    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)
    await poll_unsettled(http, state, run_id)
    await asyncio.sleep(DATABASE_TTL_SECONDS)  # the figures /metrics reads from the database are cached
    final = await scrape(http, state)
    return summarize(args, state, final, schedule_end, drained, cpu)


def _ticks(path: str, *, children: bool = False) -> float:
    """utime + stime of a process (and with ``children`` those of its children that have exited)."""
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    used = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return used / os.sysconf("SC_CLK_TCK")


def _postgres_pids() -> list[int]:
    try:
        uid = pwd.getpwnam("postgres").pw_uid
    except KeyError:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
    return found


def worker_gauges(pids: list[int]) -> dict[str, float]:
    """Resident memory and open fds of the worker processes together, read from /proc (a worker
    serves no /metrics); nothing when there are none."""
    if not pids:
        return {}
    rss = fds = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) / 1024
            fds += len(os.listdir(f"/proc/{pid}/fd"))
    return {"workers_rss_mib": rss, "workers_open_fds": fds}


def cpu_snapshot(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far: the machine (all cores, busy), each named process, PostgreSQL (every
    process of the server, and the backends that have exited, whose time the postmaster collects:
    other users of the server count too) and this process."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        machine = (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    except OSError:
        machine = 0.0
    snap = {"machine": machine, "load client": time.process_time()}
    snap.update({name: _ticks(f"/proc/{pid}/stat") for name, pid in pids.items()})
    snap["postgresql"] = sum(_ticks(f"/proc/{pid}/stat", children=True) for pid in _postgres_pids())
    return snap


# -- analysis --------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else float("nan")


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute."""
    if len(points) < 2:
        return 0.0
    mean_t = statistics.fmean(t for t, _ in points)
    mean_v = statistics.fmean(v for _, v in points)
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return 0.0 if var == 0 else 60 * sum((t - mean_t) * (v - mean_v) for t, v in points) / var


def gauge_report(name: str, points: list[tuple[float, float]]) -> dict[str, Any]:
    """First-half and second-half means, slope, and whether the gauge stayed flat.

    flat: resident memory grows by less than 1 MiB a minute; fds, tasks and pool connections keep
    their second-half mean within max(10, 10 %) of the first half's; the outbox depth is not
    growing (slope under 10 orders a minute, or second half within 10 of the first).
    """
    if len(points) < 2:
        return {"samples": len(points), "flat": True, "first_half": None, "second_half": None,
                "slope_per_min": 0.0, "min": None, "max": None}
    half = len(points) // 2
    first = statistics.fmean(v for _, v in points[:half])
    second = statistics.fmean(v for _, v in points[half:])
    slope = slope_per_minute(points)
    if name.endswith("rss_mib"):
        flat = slope < RSS_FLAT_MIB_PER_MIN
    elif name == "outbox_depth":
        flat = slope < OUTBOX_GROWING_PER_MIN or second <= first + 10
    else:
        flat = second <= first + max(10.0, 0.1 * first)
    return {"samples": len(points), "first_half": round(first, 2), "second_half": round(second, 2),
            "slope_per_min": round(slope, 3), "min": round(min(v for _, v in points), 2),
            "max": round(max(v for _, v in points), 2), "flat": flat}


def summarize(args: argparse.Namespace, state: State, final: dict[str, float], schedule_end: float,
              drained: float, cpu: dict[str, float]) -> dict[str, Any]:
    sent = state.sent
    ok = [s for s in sent if s.error is None and s.acked is not None]
    errors = Counter((s.error or "").split(":")[0] for s in sent if s.error is not None)
    last_ack = max((s.acked for s in ok if s.acked is not None), default=state.started)
    # acknowledged signals per second, from the first scheduled send to the last acknowledgement
    achieved = len(ok) / max(1e-9, last_ack - state.started) if ok else 0.0
    expected = args.rate
    ack_ms = [s.acked - s.scheduled for s in ok if s.acked is not None]
    answered = [s.answered - s.scheduled for s in ok if s.answered is not None]
    settled = [s.settled - s.scheduled for s in ok if s.settled is not None and not s.polled]
    unsettled = [s for s in ok if s.settled is None]
    lag = [s.started - s.scheduled for s in sent]
    warm = args.warmup if args.warmup is not None else min(300.0, max(10.0, args.duration / 6))
    window = [p for p in state.samples if warm <= p.at <= args.duration + 1]
    names = [*GAUGES, *(name for name in WORKER_GAUGES if any(name in p.values for p in window))]
    gauges = {name: gauge_report(name, [(p.at, p.values[name]) for p in window if name in p.values])
              for name in names}
    reasons = []
    if errors:
        reasons.append(f"{sum(errors.values())} requests failed: {dict(errors)}")
    if unsettled:
        reasons.append(f"{len(unsettled)} orders never settled")
    if achieved < MIN_ACHIEVED * expected:
        reasons.append(f"achieved {achieved:.1f}/s < {MIN_ACHIEVED:.0%} of {expected:g}/s")
    if not gauges["outbox_depth"]["flat"]:
        reasons.append("the outbox depth grew: sends fell behind the signals")
    if final.get("outbox_depth", 0) > 0:
        reasons.append(f"the outbox still held {final['outbox_depth']:.0f} orders after the drain")
    if args.require_flat:
        reasons += [f"{name} grew" for name, g in gauges.items() if not g["flat"]]
    return {
        "rate": args.rate, "duration": args.duration, "accounts": len(state.accounts),
        "users": len(state.tokens),
        "scheduled": len(sent), "acknowledged": len(ok), "errors": dict(errors),
        "settled": len(ok) - len(unsettled), "settled_by_poll": sum(1 for s in ok if s.polled),
        "unsettled": len(unsettled), "statuses": dict(Counter(s.status for s in ok)),
        "sides": dict(Counter(s.side for s in ok)),
        "denial_reasons": dict(Counter(r for s in ok for r in s.reasons)),
        "achieved_rate": round(achieved, 2), "achieved_fraction": round(achieved / expected, 4),
        "latency_ms": {name: {"p50": round(pct(v, 0.5), 1), "p95": round(pct(v, 0.95), 1),
                              "p99": round(pct(v, 0.99), 1), "max": round(max(v, default=0) * 1000, 1)}
                       for name, v in (("ack", ack_ms), ("broker_answer", answered), ("settled", settled))},
        "send_lag_ms": {"p99": round(pct(lag, 0.99), 1), "max": round(max(lag, default=0) * 1000, 1)},
        "drain_seconds": round(drained - schedule_end, 2), "warmup_seconds": warm,
        "gauges": gauges, "final": {k: final.get(k) for k in GAUGES},
        "cpu_cores": cpu, "cores": os.cpu_count(), "ws_reconnects": state.ws_reconnects,
        "samples": [{"at": round(p.at, 1), **{k: round(v, 2) for k, v in p.values.items()
                                                if k in GAUGES or k in WORKER_GAUGES
                                                or k.endswith("_cores")}}
                    for p in state.samples],
        "ok": not reasons, "reasons": reasons,
    }


def report(result: dict[str, Any]) -> None:
    lat = result["latency_ms"]
    print(f"\nsignals: {result['acknowledged']}/{result['scheduled']} acknowledged "
          f"({result['achieved_rate']}/s, {result['achieved_fraction']:.1%} of the schedule), "
          f"{result['settled']} settled ({result['settled_by_poll']} found by polling), "
          f"errors {result['errors']}")
    print(f"final statuses: {result['statuses']}; sides {result['sides']}; "
          f"drain {result['drain_seconds']} s")
    if result["denial_reasons"]:
        print(f"denied by the risk guard: {result['denial_reasons']}")
    for name, label in (("ack", "POST to 201"), ("broker_answer", "to broker answer"),
                        ("settled", "to settled")):
        v = lat[name]
        print(f"  {label:18} p50 {v['p50']:8.1f} ms  p95 {v['p95']:8.1f} ms  p99 {v['p99']:8.1f} ms  "
              f"max {v['max']:8.1f} ms")
    lag = result["send_lag_ms"]
    print(f"  client send lag    p99 {lag['p99']:.1f} ms, max {lag['max']:.1f} ms")
    cpu = result["cpu_cores"]
    print(f"CPU in cores (of {result['cores']}), schedule start to drained: "
          + ", ".join(f"{name} {value:.2f}" for name, value in cpu.items()))
    print(f"gauges after {result['warmup_seconds']:g} s of warm-up (first half -> second half, slope/min):")
    for name, g in result["gauges"].items():
        print(f"  {name:17} {g['first_half']!s:>9} -> {g['second_half']!s:>9}  "
              f"slope {g['slope_per_min']:>8}  range [{g['min']}, {g['max']}]  "
              f"{'flat' if g['flat'] else 'GROWING'}")
    print("verdict: " + ("ok" if result["ok"] else "FAILED: " + "; ".join(result["reasons"])), flush=True)


@contextlib.asynccontextmanager
async def _database(url: str | None) -> AsyncIterator[str]:
    if url is not None:
        yield url
        return
    async with database("postgresql") as engine:
        yield engine.url.render_as_string(hide_password=False)


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    # SIGTERM or SIGINT (even where a shell ignores it for background jobs) stops the run cleanly:
    # the service and the paper brokers are stopped and the database is dropped.
    task = asyncio.current_task()
    assert task is not None
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, task.cancel)
    papers = {b: start_paper(b) for b in BROKERS}
    try:
        async with _database(args.database_url) as db_url:
            with tempfile.TemporaryDirectory(prefix="boltz-load-") as tmp:
                home = Path(tmp)
                try:
                    return await _against(args, home, db_url, papers)
                finally:
                    log = home / "serve.log"
                    if args.keep_log and log.exists():
                        shutil.copyfile(log, args.keep_log)
    finally:
        for proc, _ in papers.values():
            proc.terminate()
            proc.wait(10)


async def _against(args: argparse.Namespace, home: Path, db_url: str,
                   papers: dict[str, tuple[subprocess.Popen[bytes], str]]) -> dict[str, Any]:
    port = free_port()
    env = _env(db_url, {b: u for b, (_, u) in papers.items()}, port)
    tokens = await create_users(home, env, args.users)
    with serve(home, env, args.workers) as (proc, workers):
        extra = f", {len(workers)} workers (pids {', '.join(str(w.pid) for w in workers)})" if workers else ""
        print(f"boltz serve (pid {proc.pid}) on {db_url.split('@')[-1]}{extra}", flush=True)
        pids = {"serve": proc.pid, **{f"worker {n}": w.pid for n, w in enumerate(workers, 1)},
                **{f"paper {b}": p.pid for b, (p, _) in papers.items()}}
        try:
            result = await run(args, f"http://127.0.0.1:{port}", tokens, pids)
        except Exception:
            tail = (home / "serve.log").read_text().splitlines()[-40:]
            print("the service's log ends:\n" + "\n".join(tail), file=sys.stderr, flush=True)
            raise
        alive = proc.poll() is None and all(w.poll() is None for w in workers)
    lines = _log_lines(home)
    tracebacks = sum(1 for line in lines if line.startswith("Traceback"))
    raised = Counter(m.group(1) for line in lines if (m := EXCEPTION_LINE.match(line)))
    result["serve_log"] = {"alive_at_end": alive, "tracebacks": tracebacks, "exceptions": dict(raised),
                           "not_info": sum(1 for line in lines if not line.startswith("INFO:")),
                           "tail": lines[-20:]}
    if tracebacks:
        result["ok"] = False
        result["reasons"].append(f"the service's log holds {tracebacks} tracebacks: {dict(raised)}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="signals per second (open loop)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (1800: the soak)")
    parser.add_argument("--accounts", type=int, default=60, help="paper accounts, a third per broker")
    parser.add_argument("--users", type=int, default=1,
                        help="users owning the accounts (each has its own audit chain and event stream)")
    parser.add_argument("--warmup", type=float, default=None,
                        help="seconds at the start left out of the gauge trends (default duration/6, "
                             "10 to 300)")
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to wait for the last orders")
    parser.add_argument("--database-url", default=None,
                        help="a migrated database to use (default: a fresh PostgreSQL database, admin URL "
                             "from BOLTZ_BENCH_POSTGRES_URL)")
    parser.add_argument("--require-flat", action="store_true", help="also fail when a gauge grew")
    parser.add_argument("--workers", type=int, default=0,
                        help="run the service --api-only with this many `boltz worker` processes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", default=None, help="write the result here as JSON")
    parser.add_argument("--keep-log", default=None, help="copy the service's log here")
    args = parser.parse_args()
    try:
        result = asyncio.run(_main(args))
    except asyncio.CancelledError:
        print("stopped by a signal: no verdict", file=sys.stderr)
        return 130
    report(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
