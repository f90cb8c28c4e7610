"""A chain's committed audit entries wake its subscribers: PostgreSQL NOTIFY at commit, SQLite polling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.bus import APPLICATION_NAME, CHANNEL, Bus
from boltztrader.db import migrate
from boltztrader.db.audit import Pending, log_audit, log_audit_many
from boltztrader.db.engine import create_engine

QUIET = 0.6  # seconds in which nothing may arrive: more than two SQLite polls


async def _append(engine: AsyncEngine, chain: str, action: str = "test.event") -> None:
    async with engine.begin() as conn:
        await log_audit(conn, "test", "e1", action, "tester", {"n": 1}, chain=chain, now=datetime.now(UTC))


@pytest.fixture
async def listener(pg_engine: AsyncEngine) -> AsyncIterator[asyncio.Queue[str]]:
    """A plain asyncpg connection LISTENing on the bus's channel; payloads land in the queue."""
    url = pg_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(url)
    received: asyncio.Queue[str] = asyncio.Queue()
    await connection.add_listener(CHANNEL, lambda _c, _pid, _channel, payload: received.put_nowait(payload))
    yield received
    await connection.close()


async def _drain(queue: asyncio.Queue[str], within: float) -> list[str]:
    got: list[str] = []
    deadline = asyncio.get_running_loop().time() + within
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            got.append(await asyncio.wait_for(queue.get(), left))
        except TimeoutError:
            break
    return got


async def test_a_committed_entry_notifies_its_chain_at_commit_and_never_before(
        pg_engine: AsyncEngine, listener: asyncio.Queue[str]) -> None:
    """log_audit notifies 'boltz_audit' with the chain's name when its transaction commits, not before."""
    async with pg_engine.begin() as conn:
        await log_audit(conn, "test", "e1", "test.event", "tester", {"n": 1}, chain="user:u1")
        await log_audit(conn, "test", "e2", "test.event", "tester", {"n": 2}, chain="user:u1")
        assert await _drain(listener, QUIET) == []
    assert await _drain(listener, 2.0) == ["user:u1"]  # two entries of one chain: one notification


async def test_a_rolled_back_entry_notifies_nobody(pg_engine: AsyncEngine,
                                                   listener: asyncio.Queue[str]) -> None:
    """An entry whose transaction rolls back produces no notification."""
    async with pg_engine.connect() as conn:
        await log_audit(conn, "test", "e1", "test.event", "tester", {"n": 1}, chain="user:u2")
        await conn.rollback()
    assert await _drain(listener, QUIET) == []


async def test_a_group_commit_notifies_each_chain_once(pg_engine: AsyncEngine,
                                                      listener: asyncio.Queue[str]) -> None:
    """log_audit_many over three chains (first use and later) notifies each of them exactly once."""
    for _round in range(2):  # the first round creates the heads (INSERT), the second moves them (UPDATE)
        async with pg_engine.begin() as conn:
            await log_audit_many(conn, [Pending("test", f"e{i}", "test.event", "tester", {"i": i},
                                                chain=f"user:g{i % 3}") for i in range(9)])
        got = await _drain(listener, 1.0)
        assert sorted(got) == ["user:g0", "user:g1", "user:g2"]


async def test_the_migration_adds_the_trigger_on_postgresql_only(engine: AsyncEngine) -> None:
    """On PostgreSQL audit_heads carries the notify trigger; on SQLite revision 0006 adds no trigger to it."""
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            found = (await conn.execute(text(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_heads'::regclass AND NOT tgisinternal"
            ))).scalars().all()
            assert found == ["audit_heads_notify"]
        else:
            found = (await conn.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_heads'"
            ))).scalars().all()
            assert found == []
    assert await migrate.current_revision(engine) == migrate.head_revision()


async def test_the_bus_wakes_a_subscriber_when_its_chain_commits(engine: AsyncEngine) -> None:
    """The bus (NOTIFY on PostgreSQL, polling on SQLite) wakes a chain's subscriber after its commit only."""
    bus = Bus(engine)
    try:
        async with bus.subscribe("user:a") as mine, bus.subscribe("user:b") as theirs:
            await asyncio.wait_for(bus.live.wait(), 5)
            assert bus.mode == ("listen" if engine.dialect.name == "postgresql" else "poll")
            await mine.wait(within=QUIET)  # a first look may wake everyone once: harmless, and spent here
            await theirs.wait(within=0)
            writing = asyncio.create_task(_append_after(engine, "user:a", QUIET))
            assert await mine.wait(within=QUIET / 2) is False  # the transaction is still open
            assert await mine.wait(within=5) is True
            await writing
            assert await theirs.wait(within=QUIET) is False  # another chain moved, not this one
            await _append(engine, "user:b")
            assert await theirs.wait(within=5) is True
            assert bus.subscriber_count() == 2
        assert bus.subscriber_count() == 0
    finally:
        await bus.stop()


async def _append_after(engine: AsyncEngine, chain: str, hold: float) -> None:
    """Append to ``chain`` in a transaction that stays open ``hold`` seconds before it commits."""
    async with engine.begin() as conn:
        await log_audit(conn, "test", "e1", "test.event", "tester", {"n": 1}, chain=chain)
        await asyncio.sleep(hold)


async def test_the_listener_comes_back_after_its_connection_is_killed(pg_engine: AsyncEngine) -> None:
    """When PostgreSQL drops the bus's connection it listens again, wakes everyone, and new commits arrive."""
    bus = Bus(pg_engine)
    try:
        async with bus.subscribe("user:k") as subscription:
            await asyncio.wait_for(bus.live.wait(), 5)
            await subscription.wait(within=0)
            killed = await _kill_listener(pg_engine)
            assert killed == 1
            assert await subscription.wait(within=10) is True  # woken after listening again
            await asyncio.wait_for(bus.live.wait(), 10)
            await subscription.wait(within=0)
            await _append(pg_engine, "user:k")
            assert await subscription.wait(within=5) is True
    finally:
        await bus.stop()
    assert await _listeners(pg_engine) == 0  # stop closed the connection


async def _kill_listener(engine: AsyncEngine) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = :name AND datname = current_database()"), {"name": APPLICATION_NAME},
        )).scalar_one()


async def _listeners(engine: AsyncEngine) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name "
            "AND datname = current_database()"), {"name": APPLICATION_NAME})).scalar_one()


async def test_a_stopped_bus_polls_no_more(tmp_path: Any) -> None:
    """After stop() the SQLite bus's poller is gone and subscribing does not restart it."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bus.db'}")
    try:
        await migrate.upgrade(engine)
        bus = Bus(engine)
        await bus.start()
        await asyncio.wait_for(bus.live.wait(), 5)
        await bus.stop()
        async with bus.subscribe("user:s") as subscription:
            await _append(engine, "user:s")
            assert await subscription.wait(within=QUIET) is False
            assert not bus.live.is_set()
    finally:
        await engine.dispose()
