"""Several processes on one database: workers, account leases, outbox claims, shared weight budgets.

Every function works inside the caller's transaction. Times are the database's own on PostgreSQL
(``db_now`` reads them), so workers on hosts whose clocks disagree still agree on who holds a
lease; SQLite (one host) uses the caller's ``now``.

- ``workers``: a row per running worker, its heartbeat refreshed every few seconds.
- ``account_leases``: one row per linked account (``ensure_leases`` adds missing ones). A lease is
  free when ``worker_id`` is NULL or ``expires_at`` has passed; ``claim`` takes free ones with
  ``FOR UPDATE SKIP LOCKED`` (two claimers never wait on each other and never take one row twice)
  and bumps ``epoch``; ``renew`` extends only leases still held at the epoch the holder knows.
- ``claim_orders``: the outbox claim of the order manager in a worker: ``pending_submit`` rows are
  locked ``FOR UPDATE SKIP LOCKED`` (a row another worker is marking is skipped, not waited for),
  and only rows of accounts whose lease this worker holds, unexpired, are returned; the lease rows
  are held ``FOR SHARE`` until the caller commits, so no takeover can slip between the check and
  the ``submitting`` it guards (a takeover's ``claim`` skips a lease row locked so).
- ``weight_budgets``: request weight taken from a window's budget with one conditional UPDATE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, literal, null, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from boltztrader.db import orders as orders_repo
from boltztrader.db.tables import account_leases, broker_accounts, broker_orders, weight_budgets, workers
from boltztrader.db.types import UTCDateTime

__all__ = [
    "Lease",
    "claim",
    "claim_orders",
    "db_now",
    "ensure_leases",
    "heartbeat",
    "leases",
    "linked_accounts",
    "live_workers",
    "release",
    "remove_worker",
    "renew",
    "take_weight",
]

# A worker row older than this many TTLs is a worker that died long ago: deleted by the others.
REAP_AFTER_TTLS = 30
# Budget windows older than this are deleted when a new window starts.
KEEP_WINDOWS = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Lease:
    account_id: str
    worker_id: str | None
    epoch: int
    expires_at: datetime


def _postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


def _insert(conn: AsyncConnection, table: object) -> object:
    return (pg_insert if _postgres(conn) else sqlite_insert)(table)  # type: ignore[arg-type]


def _linked() -> ColumnElement[bool]:
    linked = select(broker_accounts.c.id).where(broker_accounts.c.unlinked_at.is_(None))
    return account_leases.c.account_id.in_(linked)


async def db_now(conn: AsyncConnection) -> datetime:
    """The database's time (PostgreSQL: the transaction's start); SQLite: this host's."""
    if _postgres(conn):
        value = (await conn.execute(text("SELECT now()"))).scalar_one()
        assert isinstance(value, datetime)
        return value.astimezone(UTC)
    return datetime.now(UTC)


# -- workers -----------------------------------------------------------------------------------------

async def heartbeat(conn: AsyncConnection, worker_id: str, label: str, now: datetime) -> None:
    """Register the worker or refresh its heartbeat (a row reaped meanwhile is written again)."""
    statement = _insert(conn, workers).values(  # type: ignore[attr-defined]
        worker_id=worker_id, label=label[:200], started_at=now, heartbeat_at=now)
    await conn.execute(statement.on_conflict_do_update(index_elements=[workers.c.worker_id],
                                                       set_={"heartbeat_at": now}))


async def live_workers(conn: AsyncConnection, now: datetime, ttl: timedelta) -> int:
    """How many workers heartbeated within ``ttl``; long-dead rows are deleted on the way."""
    await conn.execute(delete(workers).where(workers.c.heartbeat_at < now - ttl * REAP_AFTER_TTLS))
    count = (await conn.execute(select(func.count()).select_from(workers)
                                .where(workers.c.heartbeat_at > now - ttl))).scalar_one()
    return int(count)


async def remove_worker(conn: AsyncConnection, worker_id: str) -> None:
    await conn.execute(delete(workers).where(workers.c.worker_id == worker_id))


# -- leases ------------------------------------------------------------------------------------------

async def linked_accounts(conn: AsyncConnection) -> int:
    count = (await conn.execute(select(func.count()).select_from(broker_accounts)
                                .where(broker_accounts.c.unlinked_at.is_(None)))).scalar_one()
    return int(count)


async def ensure_leases(conn: AsyncConnection, now: datetime) -> None:
    """A free lease row for every linked account that has none yet."""
    missing = select(broker_accounts.c.id, null(), literal(0), literal(now, UTCDateTime())).where(
        broker_accounts.c.unlinked_at.is_(None),
        broker_accounts.c.id.not_in(select(account_leases.c.account_id))
    ).order_by(broker_accounts.c.id)  # one order for every worker: concurrent inserts cannot deadlock
    statement = _insert(conn, account_leases).from_select(  # type: ignore[attr-defined]
        ["account_id", "worker_id", "epoch", "expires_at"], missing)
    await conn.execute(statement.on_conflict_do_nothing(index_elements=[account_leases.c.account_id]))


RENEW_CHUNK = 1000  # leases renewed per statement


async def renew(conn: AsyncConnection, worker_id: str, held: dict[str, int],
                expires_at: datetime) -> dict[str, int]:
    """Extend the leases of ``held`` (account id -> epoch) still ours at that epoch and still linked;
    those renewed, with their epoch. A held account missing from the answer is lost."""
    pairs = sorted(held.items())
    renewed: dict[str, int] = {}
    # In chunks: PostgreSQL plans a row-value IN list as nested ORs, and ten thousand of them
    # exceed its stack depth (a worker holding every account of a large book must still renew).
    for start in range(0, len(pairs), RENEW_CHUNK):
        chunk = pairs[start:start + RENEW_CHUNK]
        rows = await conn.execute(
            update(account_leases)
            .where(account_leases.c.worker_id == worker_id,
                   tuple_(account_leases.c.account_id, account_leases.c.epoch).in_(chunk),
                   _linked())
            .values(expires_at=expires_at)
            .returning(account_leases.c.account_id, account_leases.c.epoch))
        renewed.update({row.account_id: int(row.epoch) for row in rows})
    return renewed


async def claim(conn: AsyncConnection, worker_id: str, limit: int, now: datetime,
                expires_at: datetime) -> dict[str, int]:
    """Take up to ``limit`` free or expired leases of linked accounts; account id -> new epoch.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so concurrent claimers split the free leases between
    them, and a lease whose holder is marking an order right now (``claim_orders``) is left alone.
    """
    if limit <= 0:
        return {}
    candidates = (select(account_leases.c.account_id)
                  .where(or_(account_leases.c.worker_id.is_(None), account_leases.c.expires_at <= now),
                         _linked())
                  .order_by(account_leases.c.account_id).limit(limit))
    if _postgres(conn):
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list((await conn.execute(candidates)).scalars())
    if not ids:
        return {}
    rows = await conn.execute(
        update(account_leases).where(account_leases.c.account_id.in_(ids))
        .values(worker_id=worker_id, epoch=account_leases.c.epoch + 1, expires_at=expires_at, acquired_at=now)
        .returning(account_leases.c.account_id, account_leases.c.epoch))
    return {row.account_id: int(row.epoch) for row in rows}


async def release(conn: AsyncConnection, worker_id: str, account_ids: Sequence[str] | None,
                  now: datetime) -> list[str]:
    """Give up our leases of ``account_ids`` (None: all of them), free at once for the others; the
    accounts released."""
    if account_ids is not None and not account_ids:
        return []
    statement = update(account_leases).where(account_leases.c.worker_id == worker_id)
    if account_ids is not None:
        statement = statement.where(account_leases.c.account_id.in_(list(account_ids)))
    rows = await conn.execute(statement.values(worker_id=None, expires_at=now)
                              .returning(account_leases.c.account_id))
    return list(rows.scalars())


async def leases(conn: AsyncConnection) -> dict[str, Lease]:
    """Every lease row, by account id (operators and tests)."""
    rows = await conn.execute(select(account_leases))
    return {row.account_id: Lease(row.account_id, row.worker_id, int(row.epoch), row.expires_at)
            for row in rows}


# -- the outbox claim -----------------------------------------------------------------------------

async def claim_orders(conn: AsyncConnection, order_ids: Sequence[str],
                       worker_id: str) -> dict[str, orders_repo.OrderRecord]:
    """The rows of ``order_ids`` this worker may mark ``submitting`` now, locked for the transaction.

    Rows another transaction holds are skipped (PostgreSQL ``SKIP LOCKED``); rows of accounts whose
    lease this worker does not hold unexpired are left alone, and the leases that pass are held
    ``FOR SHARE`` until commit (the fence: no takeover completes between this check and the commit
    of ``submitting``).
    """
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    postgres = _postgres(conn)
    rows = select(broker_orders.c.id, broker_orders.c.account_id).where(
        broker_orders.c.id.in_(ids)).order_by(broker_orders.c.id)
    if postgres:
        rows = rows.with_for_update(skip_locked=True)
    found = (await conn.execute(rows)).all()
    accounts = sorted({row.account_id for row in found})
    if not accounts:
        return {}
    now: ColumnElement[datetime] = func.now() if postgres else literal(datetime.now(UTC), UTCDateTime())
    held = (select(account_leases.c.account_id)
            .where(and_(account_leases.c.account_id.in_(accounts), account_leases.c.worker_id == worker_id,
                        account_leases.c.expires_at > now))
            .order_by(account_leases.c.account_id))
    if postgres:
        held = held.with_for_update(read=True)
    owned = set((await conn.execute(held)).scalars())
    mine = [row.id for row in found if row.account_id in owned]
    # Locked already (or serialized, on SQLite): this read cannot wait.
    return await orders_repo.lock_many(conn, mine)


# -- weight budgets ---------------------------------------------------------------------------------

async def take_weight(conn: AsyncConnection, key: str, window_start: datetime, amount: int,
                      limit: int) -> int | None:
    """Take ``amount`` from the window's budget if that keeps it within ``limit``; the weight used
    in the window afterwards, or None when it does not fit."""
    created = await conn.execute(
        _insert(conn, weight_budgets).values(  # type: ignore[attr-defined]
            key=key, window_start=window_start, used=0, limit=limit).on_conflict_do_nothing())
    if created.rowcount:
        old = window_start - KEEP_WINDOWS
        await conn.execute(delete(weight_budgets).where(weight_budgets.c.key == key,
                                                        weight_budgets.c.window_start < old))
    used = (await conn.execute(
        update(weight_budgets)
        .where(weight_budgets.c.key == key, weight_budgets.c.window_start == window_start,
               weight_budgets.c.used + amount <= weight_budgets.c.limit)
        .values(used=weight_budgets.c.used + amount)
        .returning(weight_budgets.c.used))).scalar_one_or_none()
    return None if used is None else int(used)
