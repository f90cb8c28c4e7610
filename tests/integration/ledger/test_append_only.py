"""The database itself refuses to change or remove ledger entries."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db.audit import count_entries

from .helpers import append


@pytest.mark.parametrize("sql", ["UPDATE audit_ledger SET actor = 'x' WHERE seq = 1",
                                 "DELETE FROM audit_ledger WHERE seq = 2"], ids=["update", "delete"])
async def test_trigger_refuses_update_and_delete(engine: AsyncEngine, sql: str) -> None:
    """UPDATE and DELETE on audit_ledger fail with the append-only error and change nothing."""
    await append(engine, 2)
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text(sql))
    async with engine.connect() as conn:
        assert await count_entries(conn) == 2
        actors = (await conn.execute(text("SELECT actor FROM audit_ledger ORDER BY seq"))).scalars().all()
    assert actors == ["test", "test"]


async def test_trigger_refuses_truncate_on_postgresql(pg_engine: AsyncEngine) -> None:
    """TRUNCATE of audit_ledger fails on PostgreSQL (SQLite has no TRUNCATE)."""
    engine = pg_engine
    await append(engine, 1)
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text("TRUNCATE audit_ledger"))
    async with engine.connect() as conn:
        assert await count_entries(conn) == 1
