"""Migration 0005 adds ``api_tokens`` to a database that has users, and takes it away again."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db import migrate
from boltztrader.db.engine import create_engine
from boltztrader.db.tables import users

from .helpers import NOW


def _read(sync: Connection) -> dict[str, Any]:
    found = inspect(sync)
    if "api_tokens" not in found.get_table_names():
        return {}
    indexes = found.get_indexes("api_tokens")
    return {
        "columns": [c["name"] for c in found.get_columns("api_tokens")],
        "indexes": {i["name"]: tuple(i["column_names"]) for i in indexes if not i["unique"]},
        # Unique constraints, or unique indexes where a dialect reflects them so.
        "unique": {tuple(u["column_names"]) for u in found.get_unique_constraints("api_tokens")}
        | {tuple(i["column_names"]) for i in indexes if i["unique"]},
        "foreign_keys": [(tuple(f["constrained_columns"]), f["referred_table"])
                         for f in found.get_foreign_keys("api_tokens")],
    }


async def _schema(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        return await conn.run_sync(_read)


async def test_upgrade_adds_api_tokens_and_downgrade_removes_only_it(empty_db_url: str) -> None:
    """From 0004 with a user, 0005 adds the table with its index, key and uniqueness; 0004 drops it again."""
    engine = create_engine(empty_db_url)
    try:
        await migrate.upgrade(engine, "0004")
        async with engine.begin() as conn:
            await conn.execute(insert(users).values(id="u1", email="a@example.com", display_name="A",
                                                    role="user", created_at=NOW))
        assert await _schema(engine) == {}

        await migrate.upgrade(engine, "0005")
        assert await migrate.current_revision(engine) == "0005"
        schema = await _schema(engine)
        assert schema["columns"] == ["id", "user_id", "name", "token_hash", "prefix", "created_at",
                                     "last_used_at", "revoked_at"]
        assert schema["indexes"] == {"ix_api_tokens_user_id": ("user_id",)}
        assert schema["unique"] == {("token_hash",)}
        assert schema["foreign_keys"] == [(("user_id",), "users")]

        await migrate.downgrade(engine, "0004")
        assert await migrate.current_revision(engine) == "0004"
        assert await _schema(engine) == {}
        async with engine.connect() as conn:
            assert (await conn.execute(select(users.c.email))).scalars().all() == ["a@example.com"]
    finally:
        await engine.dispose()
