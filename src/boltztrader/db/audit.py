"""Writing and reading the audit ledger: :func:`log_audit` is the one way an entry is written.

``log_audit`` runs in the caller's transaction, so an entry commits or rolls back together with
the change it records. ``seq`` stays gapless under concurrent writers because every append locks
its chain's ``audit_heads`` row first: ``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite every
transaction begins IMMEDIATE (see ``db.engine``), so writers are serialized already. Chains are
independent locks: partition them (``"user:<id>"``) so that writers for different users never
wait for each other on PostgreSQL.

Round trips per append on PostgreSQL: two (lock the head; insert the entry and move the head in
one statement), three on a chain's first use. :func:`log_audit_many` is the group commit of the hot
path: any number of entries over any number of chains in four statements per thousand chains (lock
every head, create the missing ones, insert the entries, move the heads), heads locked in chain
order so two batches never deadlock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, union, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.db.tables import audit_heads, audit_ledger
from boltztrader.ledger import GENESIS_HASH, AuditEntry, ChainHead, next_entry

LIMITS = {"chain": 100, "actor": 200, "action": 100, "entity": 100, "entity_id": 200}

_LOCK_HEAD = (
    select(audit_heads.c.seq, audit_heads.c.hash)
    .where(audit_heads.c.chain == bindparam("chain"))
    .with_for_update()
)
_ENTRY_VALUES = {c.name: bindparam(f"e_{c.name}", type_=c.type) for c in audit_ledger.columns}
_INSERT_ENTRY = insert(audit_ledger).values(_ENTRY_VALUES)
_MOVE_HEAD = (
    update(audit_heads)
    .where(audit_heads.c.chain == bindparam("e_chain", type_=audit_heads.c.chain.type))
    .values(seq=bindparam("e_seq"), hash=bindparam("e_hash"), updated_at=bindparam("e_recorded_at"))
)
# PostgreSQL: insert the entry and move the head in one statement (one round trip).
_APPEND_PG = _MOVE_HEAD.add_cte(_INSERT_ENTRY.cte("appended"))
_HEAD_VALUES = {"chain": bindparam("chain"), "seq": 0, "hash": GENESIS_HASH, "updated_at": bindparam("now")}
_CREATE_HEAD_PG = pg_insert(audit_heads).values(_HEAD_VALUES).on_conflict_do_nothing()
_CREATE_HEAD_SQLITE = sqlite_insert(audit_heads).values(_HEAD_VALUES).on_conflict_do_nothing()


async def log_audit(conn: AsyncConnection, entity: str, entity_id: str, action: str, actor: str,
                    payload: Mapping[str, object], *, chain: str = "global",
                    now: datetime | None = None) -> AuditEntry:
    """Append one entry to ``chain`` inside the caller's transaction; never begins or commits.

    TypeError when the payload has no canonical JSON form (floats, sets, ...); ValueError when a
    field is empty or too long, ``now`` is naive, or a payload key names a secret.
    """
    _check_fields(chain=chain, actor=actor, action=action, entity=entity, entity_id=entity_id)
    if now is not None and now.utcoffset() is None:
        raise ValueError("audit time must be timezone-aware (UTC)")
    recorded_at = (now or datetime.now(UTC)).astimezone(UTC)
    postgres = conn.dialect.name == "postgresql"
    row = (await conn.execute(_LOCK_HEAD, {"chain": chain})).first()
    if row is None:
        create = _CREATE_HEAD_PG if postgres else _CREATE_HEAD_SQLITE
        await conn.execute(create, {"chain": chain, "now": recorded_at})
        row = (await conn.execute(_LOCK_HEAD, {"chain": chain})).one()
    entry = next_entry(ChainHead(chain, row.seq, row.hash), recorded_at=recorded_at, actor=actor,
                       action=action, entity=entity, entity_id=entity_id, payload=payload)
    params = _params(entry)
    if postgres:
        await conn.execute(_APPEND_PG, params)
    else:
        await conn.execute(_INSERT_ENTRY, params)
        await conn.execute(_MOVE_HEAD, params)
    return entry


@dataclass(frozen=True, slots=True)
class Pending:
    """One entry to append with :func:`log_audit_many` (the arguments of :func:`log_audit`)."""

    entity: str
    entity_id: str
    action: str
    actor: str
    payload: Mapping[str, object]
    chain: str = "global"


BATCH = 1000  # rows per statement: keeps every statement's parameter count well under the drivers' caps


async def log_audit_many(conn: AsyncConnection, pending: Sequence[Pending], *,
                         now: datetime | None = None) -> list[AuditEntry]:
    """Append every entry of ``pending`` inside the caller's transaction, in order within each chain.

    The same entries, hashes and head moves as one :func:`log_audit` per item, in a handful of
    statements: the group commit of a fan-out. Raises as :func:`log_audit` does, before writing.
    """
    if not pending:
        return []
    if now is not None and now.utcoffset() is None:
        raise ValueError("audit time must be timezone-aware (UTC)")
    recorded_at = (now or datetime.now(UTC)).astimezone(UTC)
    for item in pending:
        _check_fields(chain=item.chain, actor=item.actor, action=item.action, entity=item.entity,
                      entity_id=item.entity_id)
    chains = sorted({item.chain for item in pending})
    heads = await _lock_heads(conn, chains)
    missing = [chain for chain in chains if chain not in heads]
    if missing:
        create = _CREATE_HEAD_PG if conn.dialect.name == "postgresql" else _CREATE_HEAD_SQLITE
        for start in range(0, len(missing), BATCH):
            part = missing[start:start + BATCH]
            await conn.execute(create, [{"chain": c, "now": recorded_at} for c in part])
        heads.update(await _lock_heads(conn, missing))
    entries = []
    for item in pending:
        entry = next_entry(heads[item.chain], recorded_at=recorded_at, actor=item.actor, action=item.action,
                           entity=item.entity, entity_id=item.entity_id, payload=item.payload)
        heads[item.chain] = ChainHead(item.chain, entry.seq, entry.hash)
        entries.append(entry)
    rows = [_params(entry) for entry in entries]
    for start in range(0, len(rows), BATCH):
        await conn.execute(_INSERT_ENTRY, rows[start:start + BATCH])
    moves = [{"e_chain": h.chain, "e_seq": h.seq, "e_hash": h.hash, "e_recorded_at": recorded_at}
             for h in (heads[c] for c in chains)]
    for start in range(0, len(moves), BATCH):
        await conn.execute(_MOVE_HEAD, moves[start:start + BATCH])
    return entries


async def _lock_heads(conn: AsyncConnection, chains: Sequence[str]) -> dict[str, ChainHead]:
    heads: dict[str, ChainHead] = {}
    for start in range(0, len(chains), BATCH):
        part = list(chains[start:start + BATCH])
        rows = await conn.execute(
            select(audit_heads.c.chain, audit_heads.c.seq, audit_heads.c.hash)
            .where(audit_heads.c.chain.in_(part)).order_by(audit_heads.c.chain).with_for_update()
        )
        heads.update({r.chain: ChainHead(r.chain, r.seq, r.hash) for r in rows})
    return heads


async def read_entries(conn: AsyncConnection, chain: str, *, after_seq: int = 0,
                       limit: int = 1000) -> list[AuditEntry]:
    """Up to ``limit`` entries of ``chain`` with seq > ``after_seq``, in seq order."""
    statement = (
        select(audit_ledger)
        .where(audit_ledger.c.chain == chain, audit_ledger.c.seq > after_seq)
        .order_by(audit_ledger.c.seq)
        .limit(limit)
    )
    return [_entry(row) for row in await conn.execute(statement)]


async def stream_entries(engine: AsyncEngine, chain: str, *, after_seq: int = 0,
                         batch_size: int = 1000) -> AsyncIterator[AuditEntry]:
    """Every entry of ``chain`` after ``after_seq`` in seq order, read page by page.

    Each page is its own short transaction, so a long scan never holds SQLite's write lock
    (every SQLite transaction here begins IMMEDIATE) nor one PostgreSQL snapshot for minutes.
    """
    while True:
        async with engine.connect() as conn:
            page = await read_entries(conn, chain, after_seq=after_seq, limit=batch_size)
            await conn.rollback()
        for entry in page:
            yield entry
        if len(page) < batch_size:
            return
        after_seq = page[-1].seq


async def read_heads(conn: AsyncConnection) -> dict[str, ChainHead]:
    """Every chain's ``audit_heads`` row."""
    rows = await conn.execute(select(audit_heads.c.chain, audit_heads.c.seq, audit_heads.c.hash))
    return {row.chain: ChainHead(row.chain, row.seq, row.hash) for row in rows}


async def read_head(conn: AsyncConnection, chain: str) -> ChainHead | None:
    """The ``audit_heads`` row of ``chain``, or None when it has none."""
    row = (await conn.execute(
        select(audit_heads.c.seq, audit_heads.c.hash).where(audit_heads.c.chain == chain)
    )).first()
    return None if row is None else ChainHead(chain, row.seq, row.hash)


async def list_chains(conn: AsyncConnection) -> list[str]:
    """Every chain that has a head row or an entry, sorted by name."""
    names = union(select(audit_heads.c.chain), select(audit_ledger.c.chain).distinct())
    return sorted(row[0] for row in await conn.execute(names))


async def count_entries(conn: AsyncConnection, chain: str | None = None) -> int:
    """How many entries the ledger (or one chain) holds."""
    statement = select(func.count()).select_from(audit_ledger)
    if chain is not None:
        statement = statement.where(audit_ledger.c.chain == chain)
    return int((await conn.execute(statement)).scalar_one())


def _check_fields(**fields: str) -> None:
    for name, value in fields.items():
        if not value:
            raise ValueError(f"audit {name} must not be empty")
        if len(value) > LIMITS[name]:
            raise ValueError(f"audit {name} is longer than {LIMITS[name]} characters")


def _params(entry: AuditEntry) -> dict[str, Any]:
    return {
        "e_chain": entry.chain, "e_seq": entry.seq, "e_recorded_at": entry.recorded_at,
        "e_actor": entry.actor, "e_action": entry.action, "e_entity": entry.entity,
        "e_entity_id": entry.entity_id, "e_payload": entry.payload, "e_prev_hash": entry.prev_hash,
        "e_hash": entry.hash,
    }


def _entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(chain=row.chain, seq=row.seq, recorded_at=row.recorded_at, actor=row.actor,
                      action=row.action, entity=row.entity, entity_id=row.entity_id, payload=row.payload,
                      prev_hash=row.prev_hash, hash=row.hash)


__all__ = [
    "BATCH", "Pending", "count_entries", "list_chains", "log_audit", "log_audit_many", "read_entries",
    "read_head", "read_heads", "stream_entries",
]
