"""Positions per account, moved by every execution our orders report, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from boltztrader.db.tables import positions
from boltztrader.domain.enums import Side
from boltztrader.domain.positions import Holding


async def apply_execution(
    conn: AsyncConnection,
    *,
    account_id: str,
    symbol: str,
    market: str,
    side: Side,
    quantity: Decimal,
    price: Decimal,
    now: datetime,
) -> Holding:
    """Move the account's position in ``symbol`` by one execution; returns the new holding."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await conn.execute(
        insert(positions)
        .values(
            account_id=account_id,
            symbol=symbol,
            market=market,
            quantity=Decimal(0),
            average_price=Decimal(0),
            realized_pnl=Decimal(0),
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["account_id", "symbol"])
    )
    where = (positions.c.account_id == account_id) & (positions.c.symbol == symbol)
    row = (
        await conn.execute(
            select(positions.c.quantity, positions.c.average_price, positions.c.realized_pnl)
            .where(where)
            .with_for_update()
        )
    ).one()
    held = Holding(row.quantity, row.average_price, row.realized_pnl).apply(side, quantity, price)
    await conn.execute(
        update(positions)
        .where(where)
        .values(
            quantity=held.quantity,
            average_price=held.average_price,
            realized_pnl=held.realized_pnl,
            updated_at=now,
        )
    )
    return held


async def holdings(conn: AsyncConnection, account_id: str) -> dict[str, Holding]:
    """The account's positions by symbol (flat ones included, with their realised profit)."""
    rows = await conn.execute(select(positions).where(positions.c.account_id == account_id))
    return {r.symbol: Holding(r.quantity, r.average_price, r.realized_pnl) for r in rows}


async def holdings_for(conn: AsyncConnection, account_ids: Sequence[str]) -> dict[str, dict[str, Holding]]:
    """``holdings`` of many accounts at once: account id -> symbol -> holding."""
    found: dict[str, dict[str, Holding]] = {account_id: {} for account_id in account_ids}
    ids = list(found)
    for start in range(0, len(ids), 1000):
        part = ids[start:start + 1000]
        rows = await conn.execute(select(positions).where(positions.c.account_id.in_(part)))
        for r in rows:
            found[r.account_id][r.symbol] = Holding(r.quantity, r.average_price, r.realized_pnl)
    return found


async def last_moved_for(conn: AsyncConnection, account_ids: Sequence[str]) -> dict[str, datetime]:
    """When each account's positions last moved (its last recorded execution), for accounts that have one."""
    found: dict[str, datetime] = {}
    ids = list(dict.fromkeys(account_ids))
    for start in range(0, len(ids), 1000):
        rows = await conn.execute(
            select(positions.c.account_id, func.max(positions.c.updated_at))
            .where(positions.c.account_id.in_(ids[start:start + 1000])).group_by(positions.c.account_id))
        found.update((account_id, moved) for account_id, moved in rows)
    return found


@dataclass(frozen=True, slots=True)
class Execution:
    """One execution to move a position by (``apply_executions``)."""

    account_id: str
    symbol: str
    market: str
    side: Side
    quantity: Decimal
    price: Decimal


_MOVE = (
    update(positions)
    .where(and_(positions.c.account_id == bindparam("b_account"),
                positions.c.symbol == bindparam("b_symbol")))
    .values(quantity=bindparam("quantity"), average_price=bindparam("average_price"),
            realized_pnl=bindparam("realized_pnl"), updated_at=bindparam("updated_at"))
)


async def apply_executions(conn: AsyncConnection, executions: Sequence[Execution], *,
                           now: datetime) -> None:
    """``apply_execution`` for many executions in a few statements (the group commit of fills);
    rows are locked in (account, symbol) order."""
    if not executions:
        return
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    keys = sorted({(e.account_id, e.symbol): e.market for e in executions}.items())
    new_rows = [{"account_id": a, "symbol": sym, "market": market, "quantity": Decimal(0),
                 "average_price": Decimal(0), "realized_pnl": Decimal(0), "updated_at": now}
                for (a, sym), market in keys]
    for start in range(0, len(new_rows), 1000):
        await conn.execute(insert(positions).on_conflict_do_nothing(index_elements=["account_id", "symbol"]),
                           new_rows[start:start + 1000])
    wanted = {key for key, _ in keys}
    accounts = sorted({a for a, _ in wanted})
    held: dict[tuple[str, str], Holding] = {}
    for start in range(0, len(accounts), 1000):
        rows = await conn.execute(
            select(positions.c.account_id, positions.c.symbol, positions.c.quantity,
                   positions.c.average_price, positions.c.realized_pnl)
            .where(positions.c.account_id.in_(accounts[start:start + 1000]))
            .order_by(positions.c.account_id, positions.c.symbol).with_for_update())
        for r in rows:
            if (r.account_id, r.symbol) in wanted:
                held[(r.account_id, r.symbol)] = Holding(r.quantity, r.average_price, r.realized_pnl)
    for e in executions:
        key = (e.account_id, e.symbol)
        held[key] = held[key].apply(e.side, e.quantity, e.price)
    moves = [{"b_account": a, "b_symbol": sym, "quantity": h.quantity, "average_price": h.average_price,
              "realized_pnl": h.realized_pnl, "updated_at": now} for (a, sym), h in sorted(held.items())]
    for start in range(0, len(moves), 1000):
        await conn.execute(_MOVE, moves[start:start + 1000])
