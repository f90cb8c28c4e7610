"""The audit chains read as event streams: how far each chain has come, in short transactions.

A chain's head ``seq`` is its newest committed entry (``seq`` is gapless: an append holds its
head's lock until commit, so the entries ``<= head`` are all visible once the head is). Each read
here is its own short transaction: a notifier polling several times a second holds SQLite's lock
(every SQLite transaction here begins IMMEDIATE) for one indexed read at a time, and never keeps a
PostgreSQL snapshot open.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db.audit import BATCH
from boltztrader.db.tables import audit_heads

__all__ = ["head_seq", "head_seqs"]


async def head_seqs(engine: AsyncEngine, chains: Collection[str]) -> dict[str, int]:
    """The head ``seq`` of every chain of ``chains`` that has one (a chain never written has none)."""
    names = sorted(set(chains))
    heads: dict[str, int] = {}
    if not names:
        return heads
    async with engine.connect() as conn:
        for start in range(0, len(names), BATCH):
            rows = await conn.execute(select(audit_heads.c.chain, audit_heads.c.seq)
                                      .where(audit_heads.c.chain.in_(names[start:start + BATCH])))
            heads.update((row.chain, int(row.seq)) for row in rows)
        await conn.rollback()
    return heads


async def head_seq(engine: AsyncEngine, chain: str) -> int:
    """The ``seq`` of ``chain``'s newest entry; 0 when it has none yet."""
    return (await head_seqs(engine, [chain])).get(chain, 0)
