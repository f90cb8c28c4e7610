"""What the users suite shares: a dump of every table, disabling a user, a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import inspect, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db.tables import users

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def clock(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


async def dump(engine: AsyncEngine) -> str:
    """Every row of every table, as text."""
    lines: list[str] = []
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        for name in names:
            for row in await conn.execute(text(f'SELECT * FROM "{name}"')):
                lines.append(f"{name}: {tuple(row)!r}")
    return "\n".join(lines)


async def disable(engine: AsyncEngine, user_id: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(users).where(users.c.id == user_id).values(disabled_at=NOW))
