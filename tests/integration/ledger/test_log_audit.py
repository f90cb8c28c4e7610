"""log_audit appends gapless, verifiable chains inside the caller's transaction, on both engines."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db.audit import count_entries, list_chains, log_audit, read_head, stream_entries
from boltztrader.db.tables import audit_heads
from boltztrader.ledger import verify_chain

from .helpers import all_entries, append, payload


async def test_appends_are_gapless_and_verify(engine: AsyncEngine) -> None:
    """Appended entries have seq 1..n, chain to each other, and the head row follows the last one."""
    written = await append(engine, 5)
    stored = await all_entries(engine)
    async with engine.connect() as conn:
        head = await read_head(conn, "global")
    assert [e.seq for e in stored] == [1, 2, 3, 4, 5]
    assert stored == written
    assert head == written[-1].head
    assert verify_chain(stored, expected_head=head).ok


async def test_rollback_leaves_no_entry_and_no_head_change(engine: AsyncEngine) -> None:
    """An entry written in a transaction that rolls back leaves neither the entry nor a moved head."""
    await append(engine, 2)
    async with engine.connect() as conn:
        before = await read_head(conn, "global")
    async with engine.connect() as conn:
        await conn.begin()
        await log_audit(conn, "order", "o-x", "order.placed", "test", payload(9))
        await conn.rollback()
    async with engine.connect() as conn:
        assert await read_head(conn, "global") == before
        assert await count_entries(conn) == 2


async def test_entry_commits_with_the_callers_transaction(engine: AsyncEngine) -> None:
    """log_audit does not commit: the entry becomes visible only when the caller commits."""
    async with engine.connect() as writer:
        await writer.begin()
        await log_audit(writer, "order", "o-1", "order.placed", "test", payload(1), chain="user:1")
        assert await count_entries(writer, "user:1") == 1
        await writer.commit()
    async with engine.connect() as conn:
        assert await count_entries(conn, "user:1") == 1


async def test_first_use_of_a_chain_creates_its_head_row(engine: AsyncEngine) -> None:
    """Writing to a new chain creates its audit_heads row at the new entry's seq."""
    await append(engine, 1, chain="user:7")
    async with engine.connect() as conn:
        rows = (await conn.execute(select(audit_heads.c.chain, audit_heads.c.seq))).all()
    assert [tuple(r) for r in rows] == [("user:7", 1)]


async def test_eight_concurrent_writers_on_one_chain_stay_gapless(engine: AsyncEngine) -> None:
    """Eight tasks appending to one chain at once produce seq 1..N with no gap and a valid chain."""
    per_writer = 10

    async def writer(w: int) -> None:
        for i in range(per_writer):
            async with engine.begin() as conn:
                await log_audit(conn, "order", f"w{w}-{i}", "order.placed", f"writer-{w}", payload(i))

    await asyncio.gather(*(writer(w) for w in range(8)))
    stored = await all_entries(engine)
    async with engine.connect() as conn:
        head = await read_head(conn, "global")
    assert [e.seq for e in stored] == list(range(1, 8 * per_writer + 1))
    assert verify_chain(stored, expected_head=head).ok


async def test_eight_concurrent_writers_on_their_own_chains(engine: AsyncEngine) -> None:
    """Eight tasks each appending to its own chain produce eight gapless, valid chains."""

    async def writer(w: int) -> None:
        for i in range(10):
            async with engine.begin() as conn:
                await log_audit(conn, "order", f"o-{i}", "order.placed", "test", payload(i),
                                chain=f"user:{w}")

    await asyncio.gather(*(writer(w) for w in range(8)))
    async with engine.connect() as conn:
        chains = await list_chains(conn)
    assert chains == [f"user:{w}" for w in range(8)]
    for chain in chains:
        stored = await all_entries(engine, chain)
        assert [e.seq for e in stored] == list(range(1, 11))
        assert verify_chain(stored).ok


async def test_writers_on_different_chains_do_not_wait_for_each_other(pg_engine: AsyncEngine) -> None:
    """On PostgreSQL an open append on one chain blocks that chain only, not another user's chain."""
    engine = pg_engine  # SQLite serializes every writer: partitioned chains help on PostgreSQL only
    await append(engine, 1, chain="user:a")
    await append(engine, 1, chain="user:b")
    async with engine.connect() as holder:
        await holder.begin()
        await log_audit(holder, "order", "o-1", "order.placed", "test", payload(1), chain="user:a")
        async with engine.begin() as other:
            await other.execute(text("SET LOCAL lock_timeout = '2s'"))
            entry = await log_audit(other, "order", "o-2", "order.placed", "test", payload(2), chain="user:b")
        assert entry.seq == 2
        async with engine.connect() as same:
            await same.begin()
            await same.execute(text("SET LOCAL lock_timeout = '200ms'"))
            with pytest.raises(DBAPIError, match="lock timeout"):
                await log_audit(same, "order", "o-3", "order.placed", "test", payload(3), chain="user:a")
            await same.rollback()
        await holder.commit()


async def test_stream_entries_reads_every_entry_in_pages(engine: AsyncEngine) -> None:
    """Streaming with a small page size yields every entry once, in seq order."""
    await append(engine, 7)
    seqs = [e.seq async for e in stream_entries(engine, "global", batch_size=3)]
    assert seqs == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"payload": {"price": 1.5}}, TypeError), ({"payload": {"api_secret": "s"}}, ValueError),
     ({"actor": ""}, ValueError), ({"entity_id": "x" * 201}, ValueError),
     ({"now": datetime(2024, 1, 1)}, ValueError)],
    ids=["float", "secret", "empty-actor", "long-entity-id", "naive-time"],
)
async def test_invalid_entries_are_refused_before_writing(engine: AsyncEngine, kwargs: dict[str, object],
                                                          error: type[Exception]) -> None:
    """Floats, secret-named keys, empty or over-long fields, naive times are refused; nothing is written."""
    arguments: dict[str, object] = {"entity": "order", "entity_id": "o-1", "action": "order.placed",
                                    "actor": "test", "payload": payload(1)} | kwargs
    async with engine.begin() as conn:
        with pytest.raises(error):
            await log_audit(conn, **arguments)  # type: ignore[arg-type]
    async with engine.connect() as conn:
        assert await count_entries(conn) == 0
