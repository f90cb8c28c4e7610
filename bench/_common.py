"""Helpers shared by the benchmarks (not a benchmark itself: run_all skips files starting with _)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db import migrate
from boltztrader.db.engine import create_engine

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@asynccontextmanager
async def database(kind: str, *, pool_size: int = 10) -> AsyncIterator[AsyncEngine]:
    """A migrated, throw-away database: a temporary SQLite file, or a PostgreSQL database that is
    created for the run and dropped after it (admin URL from BOLTZ_BENCH_POSTGRES_URL)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
            try:
                await migrate.upgrade(engine)
                yield engine
            finally:
                await engine.dispose()
        return
    raw = os.environ.get("BOLTZ_BENCH_POSTGRES_URL", DEFAULT_PG)
    admin_url = make_url(raw).set(drivername="postgresql+asyncpg")
    name = "boltz_bench_" + uuid.uuid4().hex[:12]
    admin = create_engine(admin_url)
    try:
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = create_engine(admin_url.set(database=name), pool_size=pool_size)
        try:
            await migrate.upgrade(engine)
            yield engine
        finally:
            await engine.dispose()
            async with admin.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_paper(broker: str, tick_seconds: float = 0) -> tuple[subprocess.Popen[bytes], str]:
    """``boltz paper serve`` for one broker in its own process (rate limits off; no price walk by default)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "boltztrader.cli.main", "paper", "serve", "--broker", broker,
         "--port", str(port), "--tick-seconds", str(tick_seconds), "--no-rate-limits"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(url + "/_paper/prices", timeout=1)
            return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"paper {broker} did not start")


def peak_rss_mib(pid: int) -> float:
    """The peak resident memory (VmHWM) of a live process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0
