"""Read-only questions the API asks about signals, orders and accounts (each in its own short read)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db import orders as orders_repo
from boltztrader.db.tables import broker_accounts, broker_orders, fills, order_events, positions, signals

__all__ = [
    "EventRow",
    "FillRow",
    "Keyset",
    "OrderFilter",
    "PositionRow",
    "account_owner",
    "account_positions",
    "find_order",
    "list_fills",
    "list_orders",
    "order_events_of",
    "owned_account_ids",
    "signal_orders",
]


@dataclass(frozen=True, slots=True)
class SignalOrder:
    """A signal's order at one account, as it stands now."""

    account_id: str
    order_id: str
    user_id: str
    status: str
    reject_reason: str | None


async def owned_account_ids(engine: AsyncEngine, user_id: str) -> set[str]:
    """Every account the user owns (linked or not)."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(broker_accounts.c.id).where(broker_accounts.c.user_id == user_id))
        return {row[0] for row in rows}


async def signal_orders(engine: AsyncEngine, signal_id: str) -> list[SignalOrder] | None:
    """The signal's orders by account; None when no such signal was received."""
    async with engine.connect() as conn:
        known = (await conn.execute(select(signals.c.id).where(signals.c.id == signal_id))).first()
        if known is None:
            return None
        o = broker_orders.c
        rows = await conn.execute(select(o.account_id, o.id, o.user_id, o.status, o.reject_reason)
                                  .where(o.signal_id == signal_id).order_by(o.account_id))
        return [SignalOrder(r.account_id, r.id, r.user_id, r.status, r.reject_reason) for r in rows]


# -- the orders, fills and positions API ----------------------------------------------------------

Keyset = tuple[datetime, str]
"""Where a newest-first page ends: the (time, id) of its last row; the next page starts after it."""


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Which orders a list shows; ``user_id`` None shows every user's (admins)."""

    user_id: str | None = None
    statuses: Sequence[str] = ()
    account_id: str | None = None
    symbol: str | None = None
    signal_id: str | None = None


@dataclass(frozen=True, slots=True)
class EventRow:
    """One ``order_events`` row: a step of an order's life."""

    event: str
    from_status: str | None
    to_status: str
    actor: str
    detail: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FillRow:
    id: str
    order_id: str
    account_id: str
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    fee: Decimal | None
    fee_currency: str | None
    executed_at: datetime


@dataclass(frozen=True, slots=True)
class PositionRow:
    symbol: str
    market: str
    quantity: Decimal
    average_price: Decimal
    realized_pnl: Decimal
    updated_at: datetime


def _before(time_column: Any, id_column: Any, after: Keyset | None) -> ColumnElement[bool] | None:
    """Rows strictly after ``after`` in newest-first (time, id) order."""
    if after is None:
        return None
    moment, last_id = after
    return or_(time_column < moment, and_(time_column == moment, id_column < last_id))


async def list_orders(engine: AsyncEngine, where: OrderFilter, *, limit: int,
                      after: Keyset | None = None) -> tuple[list[orders_repo.OrderRecord], bool]:
    """Up to ``limit`` orders newest first (by created_at, then id), and whether more follow."""
    o = broker_orders.c
    statement = select(o.id)
    conditions = [
        o.user_id == where.user_id if where.user_id is not None else None,
        o.status.in_(list(where.statuses)) if where.statuses else None,
        o.account_id == where.account_id if where.account_id is not None else None,
        o.symbol == where.symbol if where.symbol is not None else None,
        o.signal_id == where.signal_id if where.signal_id is not None else None,
        _before(o.created_at, o.id, after),
    ]
    statement = statement.where(*[c for c in conditions if c is not None])
    statement = statement.order_by(o.created_at.desc(), o.id.desc()).limit(limit + 1)
    async with engine.connect() as conn:
        ids = [row[0] for row in await conn.execute(statement)]
        found = await orders_repo.get_many(conn, ids[:limit])
        await conn.rollback()
    return [found[i] for i in ids[:limit]], len(ids) > limit


async def find_order(engine: AsyncEngine, order_id: str) -> orders_repo.OrderRecord | None:
    """The order row, or None."""
    async with engine.connect() as conn:
        found = await orders_repo.get_many(conn, [order_id])
        await conn.rollback()
    return found.get(order_id)


async def order_events_of(engine: AsyncEngine, order_id: str) -> list[EventRow]:
    """The order's events in the order they happened."""
    e = order_events.c
    async with engine.connect() as conn:
        rows = await conn.execute(select(e.event, e.from_status, e.to_status, e.actor, e.detail, e.created_at)
                                  .where(e.order_id == order_id).order_by(e.id))
        return [EventRow(r.event, r.from_status, r.to_status, r.actor, dict(r.detail or {}), r.created_at)
                for r in rows]


async def list_fills(engine: AsyncEngine, *, user_id: str | None, account_id: str | None = None,
                     symbol: str | None = None, limit: int,
                     after: Keyset | None = None) -> tuple[list[FillRow], bool]:
    """Up to ``limit`` fills newest first (by executed_at, then id), and whether more follow;
    ``user_id`` None: every user's."""
    f = fills.c
    owned = select(broker_accounts.c.id).where(broker_accounts.c.user_id == user_id)
    conditions = [
        f.account_id.in_(owned) if user_id is not None else None,
        f.account_id == account_id if account_id is not None else None,
        f.symbol == symbol if symbol is not None else None,
        _before(f.executed_at, f.id, after),
    ]
    statement = (select(f.id, f.order_id, f.account_id, f.symbol, f.side, f.quantity, f.price, f.fee,
                        f.fee_currency, f.executed_at)
                 .where(*[c for c in conditions if c is not None])
                 .order_by(f.executed_at.desc(), f.id.desc()).limit(limit + 1))
    async with engine.connect() as conn:
        rows = [FillRow(*r) for r in await conn.execute(statement)]
    return rows[:limit], len(rows) > limit


async def account_owner(engine: AsyncEngine, account_id: str) -> str | None:
    """The id of the user who owns the account (linked or not), or None when there is no such account."""
    async with engine.connect() as conn:
        return (await conn.execute(select(broker_accounts.c.user_id)
                                   .where(broker_accounts.c.id == account_id))).scalar_one_or_none()


async def account_positions(engine: AsyncEngine, account_id: str) -> list[PositionRow]:
    """The account's positions as our executions moved them, by symbol (flat ones with their profit)."""
    p = positions.c
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(p.symbol, p.market, p.quantity, p.average_price, p.realized_pnl, p.updated_at)
            .where(p.account_id == account_id).order_by(p.symbol))
        return [PositionRow(*r) for r in rows]
