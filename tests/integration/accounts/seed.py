"""Users and broker accounts with encrypted credentials, written through the real repositories."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.accounts.vault import Vault
from boltztrader.db import credentials
from boltztrader.db.credentials import CredentialField
from boltztrader.db.tables import broker_accounts, users
from boltztrader.domain.secrets import Secret

SENTINEL = "SENTINEL-never-in-a-dump-7c41"

# (account id, owner, the credentials it stores)
ACCOUNTS = (
    ("acct-alice-kite", "alice", (CredentialField.API_SECRET, CredentialField.ACCESS_TOKEN)),
    ("acct-alice-bnb", "alice", (CredentialField.API_SECRET,)),
    ("acct-bob-alp", "bob", (CredentialField.API_SECRET,)),
    ("acct-bob-kite", "bob", (CredentialField.API_SECRET, CredentialField.ACCESS_TOKEN)),
    ("acct-carol-bnb", "carol", ()),
)


def now() -> datetime:
    return datetime.now(UTC)


def value_of(account_id: str, field: str) -> str:
    return f"{SENTINEL}:{account_id}:{field}"


async def add_account(conn: AsyncConnection, account_id: str, owner: str) -> None:
    """Insert the owner (once) and a linked paper account of theirs without credentials."""
    exists = await conn.execute(text("SELECT 1 FROM users WHERE id = :id"), {"id": owner})
    if exists.first() is None:
        await conn.execute(insert(users).values(id=owner, email=f"{owner}@example.com", display_name=owner,
                                                role="user", created_at=now()))
    await conn.execute(insert(broker_accounts).values(
        id=account_id, user_id=owner, broker="binance", label=account_id, mode="paper", region="crypto",
        api_key=f"key-{account_id}", execution_mode="automated", trading_state="active", settings={},
        created_at=now(), updated_at=now()))


async def seed(engine: AsyncEngine, vault: Vault) -> dict[tuple[str, str], str]:
    """Every account of ACCOUNTS with its credentials encrypted by ``vault``; returns the plain values."""
    values: dict[tuple[str, str], str] = {}
    async with engine.begin() as conn:
        for account_id, owner, fields in ACCOUNTS:
            await add_account(conn, account_id, owner)
            for field in fields:
                value = value_of(account_id, field)
                blob = vault.encrypt(Secret(value), owner=owner, account_id=account_id, field=field)
                await credentials.store_secret(conn, account_id, field, blob, now=now())
                values[(account_id, field.value)] = value
    return values


async def stored(engine: AsyncEngine) -> dict[tuple[str, str], credentials.StoredBlob]:
    """Every stored blob, by (account id, field)."""
    found = {}
    async for page in credentials.iter_pages(engine, page_size=2):
        for blob in page:
            found[(blob.account_id, blob.field.value)] = blob
    return found


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
