"""The Alembic chain builds the schema on both engines and takes it away again."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db import migrate
from boltztrader.db.engine import create_engine
from boltztrader.db.tables import metadata


async def _table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_upgrade_to_head_then_downgrade_to_base(empty_db_url: str) -> None:
    """Upgrade creates every table of the schema and downgrade to base leaves none of them."""
    engine = create_engine(empty_db_url)
    try:
        assert await migrate.current_revision(engine) is None
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
        assert set(metadata.tables) <= await _table_names(engine)
        await migrate.downgrade(engine)
        assert await migrate.current_revision(engine) is None
        assert await _table_names(engine) - {"alembic_version"} == set()
        await migrate.upgrade(engine)
        assert set(metadata.tables) <= await _table_names(engine)
    finally:
        await engine.dispose()


async def test_migrated_schema_matches_the_table_definitions(engine: AsyncEngine) -> None:
    """Autogenerate finds no difference between the migrated database and ``db.tables``."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    def diff(sync_conn: object) -> list[object]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []
