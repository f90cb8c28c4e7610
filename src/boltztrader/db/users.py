"""Users and their API tokens: rows in, rows out.

This module never sees a token, only its hash; the service (``accounts.users``) makes tokens,
hashes them and decides who may do what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from boltztrader.db.tables import api_tokens, users
from boltztrader.errors import AlreadyExists

# A request marks its token used at most this often, so that authenticating stays a read.
TOUCH_INTERVAL = timedelta(minutes=1)


class Role(StrEnum):
    """What a user may do: ``admin`` adds the operator's actions to a ``user``'s own."""

    USER = "user"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class User:
    """One row of ``users``."""

    id: str
    email: str
    display_name: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


@dataclass(frozen=True, slots=True)
class UserSummary:
    """A user and how many API tokens of theirs are not revoked."""

    user: User
    active_tokens: int


@dataclass(frozen=True, slots=True)
class ApiToken:
    """One row of ``api_tokens`` without its hash: what may be shown about a token."""

    id: str
    user_id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True, slots=True)
class ActiveToken:
    """A token that is not revoked, of a user who is not disabled: who is calling."""

    token_id: str
    user_id: str
    email: str
    role: Role
    last_used_at: datetime | None


def _user(row: Any) -> User:
    return User(row.id, row.email, row.display_name, Role(row.role), row.created_at, row.disabled_at)


def _token(row: Any) -> ApiToken:
    return ApiToken(row.id, row.user_id, row.name, row.prefix, row.created_at, row.last_used_at,
                    row.revoked_at)


_USER_COLUMNS = (users.c.id, users.c.email, users.c.display_name, users.c.role, users.c.created_at,
                 users.c.disabled_at)
_TOKEN_COLUMNS = (api_tokens.c.id, api_tokens.c.user_id, api_tokens.c.name, api_tokens.c.prefix,
                  api_tokens.c.created_at, api_tokens.c.last_used_at, api_tokens.c.revoked_at)


async def create_user(conn: AsyncConnection, *, user_id: str, email: str, role: Role, display_name: str,
                      now: datetime) -> User:
    """Insert a user; AlreadyExists when one has this email (in any letter case)."""
    if await find_by_email(conn, email) is not None:
        raise AlreadyExists(f"a user with email {email} already exists")
    values = dict(id=user_id, email=email, display_name=display_name, role=role.value, created_at=now)
    try:
        await conn.execute(insert(users).values(values))
    except IntegrityError as exc:
        # Another writer took the email between the check and the insert (ids are random uuids).
        raise AlreadyExists(f"a user with email {email} already exists") from exc
    return User(user_id, email, display_name, role, now, None)


async def get_user(conn: AsyncConnection, user_id: str) -> User | None:
    row = (await conn.execute(select(*_USER_COLUMNS).where(users.c.id == user_id))).first()
    return None if row is None else _user(row)


async def find_by_email(conn: AsyncConnection, email: str) -> User | None:
    """The user with this email, compared without letter case."""
    query = select(*_USER_COLUMNS).where(func.lower(users.c.email) == email.lower())
    row = (await conn.execute(query)).first()
    return None if row is None else _user(row)


async def list_users(conn: AsyncConnection) -> list[UserSummary]:
    """Every user, oldest first, with the number of their tokens that are not revoked."""
    active = (select(api_tokens.c.user_id, func.count().label("n"))
              .where(api_tokens.c.revoked_at.is_(None)).group_by(api_tokens.c.user_id).subquery())
    query = (select(*_USER_COLUMNS, func.coalesce(active.c.n, 0).label("active_tokens"))
             .select_from(users.outerjoin(active, active.c.user_id == users.c.id))
             .order_by(users.c.created_at, users.c.id))
    return [UserSummary(_user(row), int(row.active_tokens)) for row in await conn.execute(query)]


async def insert_token(conn: AsyncConnection, *, token_id: str, user_id: str, name: str, token_hash: str,
                       prefix: str, now: datetime) -> ApiToken:
    """Store a new token by its hash; the token itself never reaches this function."""
    await conn.execute(insert(api_tokens).values(id=token_id, user_id=user_id, name=name,
                                                 token_hash=token_hash, prefix=prefix, created_at=now))
    return ApiToken(token_id, user_id, name, prefix, now, None, None)


async def get_token(conn: AsyncConnection, token_id: str) -> ApiToken | None:
    row = (await conn.execute(select(*_TOKEN_COLUMNS).where(api_tokens.c.id == token_id))).first()
    return None if row is None else _token(row)


async def find_tokens_by_prefix(conn: AsyncConnection, prefix: str) -> list[ApiToken]:
    """Every token, revoked or not, whose display prefix is ``prefix``."""
    query = select(*_TOKEN_COLUMNS).where(api_tokens.c.prefix == prefix).order_by(api_tokens.c.created_at)
    return [_token(row) for row in await conn.execute(query)]


async def find_active_token_by_hash(conn: AsyncConnection, token_hash: str) -> ActiveToken | None:
    """The unrevoked token with this hash and its enabled user; None otherwise."""
    t, u = api_tokens.c, users.c
    query = (select(t.id, t.user_id, u.email, u.role, t.last_used_at)
             .select_from(api_tokens.join(users, u.id == t.user_id))
             .where(t.token_hash == token_hash, t.revoked_at.is_(None), u.disabled_at.is_(None)))
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return ActiveToken(row.id, row.user_id, row.email, Role(row.role), row.last_used_at)


def needs_touch(last_used_at: datetime | None, now: datetime, every: timedelta = TOUCH_INTERVAL) -> bool:
    """Whether a use at ``now`` should be written, given the last one written."""
    return last_used_at is None or last_used_at <= now - every


async def touch_last_used(conn: AsyncConnection, token_id: str, now: datetime,
                          every: timedelta = TOUCH_INTERVAL) -> bool:
    """Record a use of the token unless one was recorded less than ``every`` ago; True if written.

    The condition sits in the UPDATE itself, so concurrent requests write at most once per interval.
    """
    t = api_tokens.c
    result = await conn.execute(
        update(api_tokens)
        .where(t.id == token_id, or_(t.last_used_at.is_(None), t.last_used_at <= now - every))
        .values(last_used_at=now))
    return bool(result.rowcount)


async def revoke_token(conn: AsyncConnection, token_id: str, now: datetime) -> bool:
    """Revoke the token; True if this call revoked it, False if it was revoked already or is unknown."""
    t = api_tokens.c
    result = await conn.execute(
        update(api_tokens).where(and_(t.id == token_id, t.revoked_at.is_(None))).values(revoked_at=now))
    return bool(result.rowcount)
