"""Benchmark: audit-ledger appends, one transaction per append, on SQLite and PostgreSQL.

Three shapes per engine: (a) one writer; (b) 8 concurrent writers on one chain (they queue on the
chain's head lock); (c) 8 concurrent writers each on its own chain (partitioned ledger). Every
run is verified afterwards. PostgreSQL runs in a fresh temporary database that is dropped after.

    .venv/bin/python bench/ledger_append.py [--entries 10000] [--engines sqlite,postgresql]

The admin URL for PostgreSQL comes from BOLTZ_BENCH_POSTGRES_URL
(default postgresql+asyncpg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from _common import database as shared_database
from boltztrader.audit import verify_ledger
from boltztrader.db.audit import log_audit
from boltztrader.ledger import canonical_bytes

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
WRITERS = 8


@dataclass
class Row:
    engine: str
    shape: str
    entries: int
    seconds: float
    cpu_seconds: float
    verify_seconds: float
    verified_entries: int
    verified: bool


def payload(i: int) -> dict[str, object]:
    """A realistic order-placed payload, about 300 bytes of canonical JSON."""
    return {
        "client_order_id": f"bt-{uuid.UUID(int=i).hex[:20]}",
        "signal_id": f"sig-{i:012d}",
        "account_id": "5f0c6a3e-2b1d-4c8e-9a7f-1d2e3f4a5b6c",
        "broker": "zerodha",
        "symbol": "RELIANCE",
        "market": "NSE",
        "side": "buy" if i % 2 else "sell",
        "order_type": "limit",
        "quantity": Decimal(10 + i % 90),
        "price": Decimal("2950.05") + Decimal(i % 100) / 20,
        "status": "pending_submit",
        "at": datetime(2024, 6, 3, 9, 15, tzinfo=UTC),
    }


async def writer(engine: AsyncEngine, chain: str, count: int, offset: int) -> None:
    for i in range(offset, offset + count):
        async with engine.begin() as conn:
            await log_audit(conn, "order", f"o-{i}", "order.placed", "bench", payload(i), chain=chain)


async def run_shape(engine: AsyncEngine, kind: str, shape: str, entries: int) -> Row:
    tag = uuid.uuid4().hex[:6]
    if shape == "1 writer":
        jobs = [writer(engine, f"bench-{tag}", entries, 0)]
    else:
        per = entries // WRITERS
        shared = shape.endswith("one chain")
        chains = [f"bench-{tag}" if shared else f"bench-{tag}:{w}" for w in range(WRITERS)]
        jobs = [writer(engine, chains[w], per, w * per) for w in range(WRITERS)]
        entries = per * WRITERS
    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*jobs)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    v0 = time.perf_counter()
    report = await verify_ledger(engine)
    return Row(kind, shape, entries, seconds, cpu, time.perf_counter() - v0, report.entries, report.ok)


@asynccontextmanager
async def database(kind: str) -> AsyncIterator[AsyncEngine]:
    async with shared_database(kind, pool_size=WRITERS) as engine:
        yield engine


async def main_async(entries: int, engines: list[str]) -> list[Row]:
    rows = []
    for kind in engines:
        async with database(kind) as engine:
            for shape in ("1 writer", f"{WRITERS} writers, one chain", f"{WRITERS} writers, own chains"):
                row = await run_shape(engine, kind, shape, entries)
                print_row(row)
                rows.append(row)
    return rows


def print_header(entries: int) -> None:
    size = len(canonical_bytes(payload(12345)))
    print(f"audit ledger appends: {entries} entries per run, one transaction per append, "
          f"payload {size} bytes; {os.cpu_count()} CPUs; {datetime.now(UTC):%Y-%m-%d}")
    print(f"{'engine':<11} {'shape':<24} {'entries/s':>10} {'ms/append':>10} {'CPU µs/entry':>13} "
          f"{'verify/s':>9} verified")
    print("(verify/s: whole ledger re-verified after each run, entries per second)")


def print_row(row: Row) -> None:
    writers = 1 if row.shape == "1 writer" else WRITERS
    print(f"{row.engine:<11} {row.shape:<24} {row.entries / row.seconds:>10,.0f} "
          f"{1000 * row.seconds * writers / row.entries:>10.2f} {1e6 * row.cpu_seconds / row.entries:>13.0f} "
          f"{row.verified_entries / row.verify_seconds:>9,.0f} {'yes' if row.verified else 'NO'}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=10_000, help="entries per run (default 10000)")
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - {"sqlite", "postgresql"}
    if unknown or args.entries < WRITERS:
        parser.error(f"unknown engine(s) {sorted(unknown)}" if unknown else f"--entries must be >= {WRITERS}")
    print_header(args.entries)
    rows = asyncio.run(main_async(args.entries, engines))
    return 0 if all(r.verified for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
