"""Fixtures of the linking suite: a vault with a fresh key, users, paper brokers, a dump of every table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.accounts.keyring import Keyring, generate_master_key, parse_master_key
from boltztrader.accounts.vault import Vault
from boltztrader.db.tables import users
from tests.paper import conftest as paper_conftest

paper_factory = paper_conftest.paper_factory

NOW = datetime(2026, 5, 11, 3, 0, tzinfo=UTC)  # a Monday, 08:30 IST


def new_vault() -> Vault:
    """A vault whose only key was generated just now."""
    return Vault(Keyring(parse_master_key(generate_master_key(), source="test")))


@pytest.fixture
def vault() -> Vault:
    return new_vault()


async def add_user(engine: AsyncEngine, user_id: str, *, disabled: bool = False) -> str:
    async with engine.begin() as conn:
        await conn.execute(insert(users).values(
            id=user_id, email=f"{user_id}@example.com", display_name=user_id, role="user", created_at=NOW,
            disabled_at=NOW if disabled else None))
    return user_id


async def dump(engine: AsyncEngine) -> tuple[str, list[bytes]]:
    """Every row of every table: as text, and the raw bytes of every binary value."""
    lines: list[str] = []
    binaries: list[bytes] = []
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        for name in names:
            for row in await conn.execute(text(f'SELECT * FROM "{name}"')):
                lines.append(f"{name}: {tuple(row)!r}")
                binaries.extend(bytes(v) for v in row if isinstance(v, bytes | bytearray | memoryview))
    return "\n".join(lines), binaries


async def assert_nowhere(engine: AsyncEngine, *plaintexts: str) -> None:
    """None of ``plaintexts`` appears in any table, as text or inside any stored bytes."""
    rendered, binaries = await dump(engine)
    assert "broker_accounts" in rendered  # the dump did read the accounts
    for plain in plaintexts:
        assert plain not in rendered
        assert not [blob for blob in binaries if plain.encode() in blob]
