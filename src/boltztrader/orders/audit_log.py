"""Reading the audit ledger for people: a chain's entries newest first, one chain verified, an export.

``entries`` pages one chain backwards by ``seq`` (its primary key), optionally filtered by
entity id and action. ``verify_chain`` checks one chain the way ``audit.verify_ledger`` checks each
(its hashes, and its ``audit_heads`` row read before and after the scan), so a user can verify
their own chain without scanning everyone's. ``export`` streams chains in ``seq`` order, a page
per short transaction.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db.audit import list_chains, read_head, stream_entries
from boltztrader.db.tables import audit_ledger
from boltztrader.ledger import Anchor, AuditEntry, ChainHead, ChainVerifier

__all__ = ["ChainCheck", "decoded_payload", "entries", "export", "verify_chain"]

_LEDGER = audit_ledger.c


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """One chain's verification: how many entries verified, and its first problem (None: intact)."""

    chain: str
    entries: int
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def decoded_payload(entry: AuditEntry) -> dict[str, Any]:
    """The entry's payload as the JSON object it is stored as."""
    value = json.loads(entry.payload)
    return value if isinstance(value, dict) else {"value": value}


async def entries(engine: AsyncEngine, chain: str, *, entity_id: str | None = None, action: str | None = None,
                  before_seq: int | None = None, limit: int = 50) -> list[AuditEntry]:
    """Up to ``limit`` entries of ``chain`` newest first, with seq below ``before_seq`` when given."""
    statement = select(audit_ledger).where(_LEDGER.chain == chain)
    if entity_id is not None:
        statement = statement.where(_LEDGER.entity_id == entity_id)
    if action is not None:
        statement = statement.where(_LEDGER.action == action)
    if before_seq is not None:
        statement = statement.where(_LEDGER.seq < before_seq)
    async with engine.connect() as conn:
        rows = await conn.execute(statement.order_by(_LEDGER.seq.desc()).limit(limit))
        found = [AuditEntry(chain=r.chain, seq=r.seq, recorded_at=r.recorded_at, actor=r.actor,
                            action=r.action, entity=r.entity, entity_id=r.entity_id, payload=r.payload,
                            prev_hash=r.prev_hash, hash=r.hash) for r in rows]
        await conn.rollback()
    return found


async def verify_chain(engine: AsyncEngine, chain: str, *, batch_size: int = 1000) -> ChainCheck:
    """Verify one chain's hashes against its head row (an empty chain with no head verifies)."""
    async with engine.connect() as conn:
        head_before = await read_head(conn, chain)
        await conn.rollback()
    anchor = Anchor(head_before or ChainHead(chain, 0, ""), "audit_heads row")
    verifier = ChainVerifier(chain, anchors=[anchor])
    async for entry in stream_entries(engine, chain, batch_size=batch_size):
        if not verifier.feed(entry):
            break
    expected: ChainHead | None = None
    if verifier.problem is None:
        # Appends that committed during the scan are newer than it, not missing from it.
        async with engine.connect() as conn:
            head_after = await read_head(conn, chain) or ChainHead(chain, 0, "")
            await conn.rollback()
        if head_after.seq <= verifier.head.seq:
            expected = head_after
    result = verifier.finish(expected_head=expected)
    return ChainCheck(chain, result.entries, None if result.problem is None else str(result.problem))


async def export(engine: AsyncEngine, chain: str | None = None, *,
                 batch_size: int = 1000) -> AsyncIterator[AuditEntry]:
    """Every entry of ``chain`` (of every chain, by name, when None) in seq order."""
    if chain is None:
        async with engine.connect() as conn:
            chains = await list_chains(conn)
            await conn.rollback()
    else:
        chains = [chain]
    for name in chains:
        async for entry in stream_entries(engine, name, batch_size=batch_size):
            yield entry
