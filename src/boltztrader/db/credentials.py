"""The encrypted credential columns of ``broker_accounts``: store, read, page through, re-wrap.

This module moves opaque blobs only; the vault (``accounts.vault``) makes and opens them.
A re-wrap writes only if the stored blob is still the one that was read (compare-and-set), so
rotation never overwrites a credential that was relinked while it ran.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.db.tables import broker_accounts
from boltztrader.errors import CredentialError

DEFAULT_PAGE_SIZE = 100


class CredentialField(StrEnum):
    """The credentials a broker account stores encrypted."""

    # Column names, not credentials.
    API_SECRET = "api_secret"  # noqa: S105
    ACCESS_TOKEN = "access_token"  # noqa: S105


def _column(field: CredentialField | str) -> Column[Any]:
    return broker_accounts.c[f"{CredentialField(field).value}_ciphertext"]


def _holds_a_credential() -> ColumnElement[bool]:
    accounts = broker_accounts.c
    return or_(accounts.api_secret_ciphertext.is_not(None), accounts.access_token_ciphertext.is_not(None))


@dataclass(frozen=True)
class StoredBlob:
    """One stored ciphertext and what it is bound to (the vault needs the owner to open it)."""

    account_id: str
    owner: str
    field: CredentialField
    blob: bytes


async def store_secret(conn: AsyncConnection, account_id: str, field: CredentialField | str,
                       blob: bytes | None, *, now: datetime, expires_at: datetime | None = None) -> None:
    """Write (or with None, clear) one encrypted credential; an access token may carry its expiry."""
    column = _column(field)
    values: dict[str, Any] = {column.name: blob, "updated_at": now}
    if CredentialField(field) is CredentialField.ACCESS_TOKEN:
        values["access_token_expires_at"] = expires_at if blob is not None else None
    elif expires_at is not None:
        raise ValueError("only an access token has an expiry")
    result = await conn.execute(
        update(broker_accounts).where(broker_accounts.c.id == account_id).values(values))
    if result.rowcount != 1:
        raise CredentialError(f"cannot store {CredentialField(field).value}: no broker account {account_id}")


async def read_secret(conn: AsyncConnection, account_id: str,
                      field: CredentialField | str) -> StoredBlob | None:
    """The stored credential, or None when the account does not exist or holds none."""
    column = _column(field)
    row = (await conn.execute(
        select(broker_accounts.c.user_id, column).where(broker_accounts.c.id == account_id))).first()
    if row is None or row[1] is None:
        return None
    return StoredBlob(account_id, row.user_id, CredentialField(field), bytes(row[1]))


async def read_page(conn: AsyncConnection, *, after: str | None = None,
                    limit: int = DEFAULT_PAGE_SIZE) -> list[StoredBlob]:
    """The blobs of up to ``limit`` accounts (unlinked ones too) with ids after ``after``, by id."""
    accounts = broker_accounts.c
    query = (select(accounts.id, accounts.user_id, accounts.api_secret_ciphertext,
                    accounts.access_token_ciphertext)
             .where(_holds_a_credential()).order_by(accounts.id).limit(limit))
    if after is not None:
        query = query.where(accounts.id > after)
    blobs = []
    for row in await conn.execute(query):
        for field, value in ((CredentialField.API_SECRET, row.api_secret_ciphertext),
                             (CredentialField.ACCESS_TOKEN, row.access_token_ciphertext)):
            if value is not None:
                blobs.append(StoredBlob(row.id, row.user_id, field, bytes(value)))
    return blobs


async def iter_pages(engine: AsyncEngine, *,
                     page_size: int = DEFAULT_PAGE_SIZE) -> AsyncIterator[list[StoredBlob]]:
    """Every stored blob, one page at a time, each page read in its own short transaction."""
    after: str | None = None
    while True:
        async with engine.connect() as conn:
            page = await read_page(conn, after=after, limit=page_size)
        if not page:
            return
        yield page
        after = page[-1].account_id


async def count_accounts_with_credentials(conn: AsyncConnection) -> int:
    """How many accounts store at least one encrypted credential."""
    query = select(func.count()).select_from(broker_accounts).where(_holds_a_credential())
    return int((await conn.execute(query)).scalar_one())


async def replace_if_unchanged(conn: AsyncConnection, account_id: str, field: CredentialField | str, *,
                               expected: bytes, new: bytes) -> bool:
    """Write ``new`` only if the stored blob is still ``expected``; False when it changed meanwhile.

    ``updated_at`` is left alone: a re-wrap changes how the credential is stored, not the credential.
    """
    column = _column(field)
    result = await conn.execute(
        update(broker_accounts)
        .where(broker_accounts.c.id == account_id, column == expected)
        .values({column.name: new})
    )
    return bool(result.rowcount == 1)
