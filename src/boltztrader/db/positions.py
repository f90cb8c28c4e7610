"""Positions per account, moved by every execution our orders report, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
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
