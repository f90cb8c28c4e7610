"""Who owns a broker account, asked by the API before it acts on one.

Another user's account reads exactly like an account that does not exist (``AccountNotFound``,
404): a caller learns nothing of accounts that are not theirs. Admins may act on any account.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.accounts.users import Principal
from boltztrader.db.tables import broker_accounts
from boltztrader.errors import AccountNotFound

__all__ = ["account_owner", "linked_account_ids", "owned_account"]

_ACCOUNT = broker_accounts.c


async def account_owner(engine: AsyncEngine, account_id: str) -> str | None:
    """The user who owns the linked (not unlinked) account, or None when there is no such account."""
    async with engine.connect() as conn:
        owner = (await conn.execute(select(_ACCOUNT.user_id).where(
            _ACCOUNT.id == account_id, _ACCOUNT.unlinked_at.is_(None)))).scalar_one_or_none()
        await conn.rollback()
    return owner


async def linked_account_ids(engine: AsyncEngine, user_id: str) -> list[str]:
    """The user's linked accounts, by id."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(_ACCOUNT.id).where(
            _ACCOUNT.user_id == user_id, _ACCOUNT.unlinked_at.is_(None)).order_by(_ACCOUNT.id))
        found = [row[0] for row in rows]
        await conn.rollback()
    return found


async def owned_account(engine: AsyncEngine, principal: Principal, account_id: str) -> str:
    """The owner of ``account_id`` if the caller may act on it (theirs, or any for an admin);
    AccountNotFound otherwise, the same answer as for an account that does not exist."""
    owner = await account_owner(engine, account_id)
    if owner is None or (owner != principal.user_id and not principal.is_admin):
        raise AccountNotFound(f"no account {account_id}")
    return owner
