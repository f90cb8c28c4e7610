"""Users, their roles and API tokens: create, issue, revoke, authenticate.

A token is ``btz_`` followed by 32 random bytes in URL-safe base64. It is handed to its owner
once, wrapped in a ``Secret`` so that it cannot reach a log by accident, and only its SHA-256 is
stored. Authenticating hashes the presented token and looks the hash up: the comparison happens
on a digest the caller cannot steer, so lookup timing tells nothing about a valid token.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.db import users as repo
from boltztrader.db.users import ApiToken, Role, User, UserSummary
from boltztrader.domain.secrets import Secret
from boltztrader.errors import Forbidden, InvalidInput, NotFound

__all__ = [
    "ApiToken", "Principal", "Role", "User", "UserSummary", "authenticate", "create_user", "display_prefix",
    "hash_token", "issue_token", "list_users", "new_token", "revoke_token",
]

TOKEN_PREFIX = "btz_"  # noqa: S105 - the public marker of our tokens, not a secret
TOKEN_BYTES = 32
DISPLAY_PREFIX_LENGTH = 8
# Longer than any token we issue; caps the work an arbitrary Authorization header can cause.
MAX_TOKEN_LENGTH = 128
FIRST_TOKEN_NAME = "first"  # noqa: S105 - a label, not a secret

# Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is not ours to check.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_MAX_EMAIL = 320
_MAX_DISPLAY_NAME = 200
_MAX_TOKEN_NAME = 100

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the user behind a valid API token, and which token it was."""

    user_id: str
    email: str
    role: Role
    token_id: str

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def new_token() -> Secret:
    """A fresh random API token."""
    return Secret(TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES))


def hash_token(token: str) -> str:
    """The stored form of a token: hex SHA-256.

    A plain hash, not a slow password hash: a token holds 256 random bits, so there is nothing to
    guess from its digest, and a fast deterministic hash lets a request find its row by index.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def display_prefix(token: str) -> str:
    """The first characters after ``btz_``: enough for a person to tell tokens apart, not to use one."""
    return token.removeprefix(TOKEN_PREFIX)[:DISPLAY_PREFIX_LENGTH]


def normalize_email(raw: str) -> str:
    """The address trimmed and lowercased; InvalidInput unless it looks like one."""
    email = raw.strip().lower()
    if len(email) > _MAX_EMAIL or not _EMAIL.fullmatch(email):
        raise InvalidInput(f"not an email address: {raw.strip()[:_MAX_EMAIL]!r}", "email")
    return email


def parse_role(raw: Role | str) -> Role:
    try:
        return Role(str(raw).strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown role {str(raw)[:40]!r}: use one of user, admin", "role") from None


def _name(raw: str, field: str, limit: int) -> str:
    name = raw.strip()
    if len(name) > limit:
        raise InvalidInput(f"{field.replace('_', ' ')} is longer than {limit} characters", field)
    return name


async def create_user(engine: AsyncEngine, email: str, role: Role | str = Role.USER, display_name: str = "",
                      *, now: Clock = _utcnow) -> tuple[User, Secret]:
    """Create a user with a first API token, in one transaction; returns the user and the token.

    InvalidInput for a malformed email, role or name; AlreadyExists when the email is taken.
    """
    address, chosen = normalize_email(email), parse_role(role)
    name = _name(display_name, "display_name", _MAX_DISPLAY_NAME)
    at = now()
    async with engine.begin() as conn:
        user = await repo.create_user(conn, user_id=str(uuid.uuid4()), email=address, role=chosen,
                                      display_name=name, now=at)
        token = await _insert_new_token(conn, user.id, FIRST_TOKEN_NAME, at)
    return user, token[1]


async def issue_token(engine: AsyncEngine, *, email: str | None = None, user_id: str | None = None,
                      name: str = "", now: Clock = _utcnow) -> tuple[ApiToken, Secret]:
    """A new API token for the user with this email (or id); NotFound, or Forbidden if disabled."""
    label = _name(name, "token_name", _MAX_TOKEN_NAME)
    async with engine.begin() as conn:
        user = await _find_user(conn, email=email, user_id=user_id)
        if user.disabled:
            raise Forbidden(f"user {user.email} is disabled: no token issued")
        return await _insert_new_token(conn, user.id, label, now())


async def revoke_token(engine: AsyncEngine, *, token_id: str | None = None, prefix: str | None = None,
                       now: Clock = _utcnow) -> tuple[ApiToken, bool]:
    """Revoke one token by id or display prefix; returns it and whether this call revoked it.

    NotFound when no token matches; InvalidInput when a prefix matches several (use the id then).
    """
    if (token_id is None) == (prefix is None):
        raise InvalidInput("name the token by exactly one of its id or its prefix", "token")
    async with engine.begin() as conn:
        token = await _find_token(conn, token_id=token_id, prefix=prefix)
        revoked = await repo.revoke_token(conn, token.id, now())
        current = await repo.get_token(conn, token.id)
    assert current is not None
    return current, revoked


async def authenticate(engine: AsyncEngine, token: str | Secret | None, *,
                       now: Clock = _utcnow) -> Principal | None:
    """The caller behind ``token``, or None for a malformed, unknown or revoked token or a disabled user."""
    if token is None:
        return None
    value = token.reveal() if isinstance(token, Secret) else token
    if not value.startswith(TOKEN_PREFIX) or len(value) > MAX_TOKEN_LENGTH:
        return None
    digest = hash_token(value)
    async with engine.connect() as conn:
        found = await repo.find_active_token_by_hash(conn, digest)
        if found is None:
            return None
        at = now()
        # Most requests find a recent mark and write nothing; the UPDATE re-checks under races.
        if repo.needs_touch(found.last_used_at, at):
            await repo.touch_last_used(conn, found.token_id, at)
            await conn.commit()
    return Principal(found.user_id, found.email, found.role, found.token_id)


async def list_users(engine: AsyncEngine) -> list[UserSummary]:
    """Every user with their number of active tokens; never a token."""
    async with engine.connect() as conn:
        return await repo.list_users(conn)


async def _insert_new_token(conn: AsyncConnection, user_id: str, name: str,
                            at: datetime) -> tuple[ApiToken, Secret]:
    token = new_token()
    stored = await repo.insert_token(conn, token_id=str(uuid.uuid4()), user_id=user_id, name=name,
                                     token_hash=hash_token(token.reveal()),
                                     prefix=display_prefix(token.reveal()), now=at)
    return stored, token


async def _find_user(conn: AsyncConnection, *, email: str | None, user_id: str | None) -> User:
    if (email is None) == (user_id is None):
        raise InvalidInput("name the user by exactly one of email or id", "user")
    if email is not None:
        user = await repo.find_by_email(conn, email.strip())
        missing = f"no user with email {email.strip()}"
    else:
        assert user_id is not None
        user = await repo.get_user(conn, user_id)
        missing = f"no user with id {user_id}"
    if user is None:
        raise NotFound(missing)
    return user


async def _find_token(conn: AsyncConnection, *, token_id: str | None, prefix: str | None) -> ApiToken:
    if token_id is not None:
        token = await repo.get_token(conn, token_id)
        if token is None:
            raise NotFound(f"no API token with id {token_id}")
        return token
    assert prefix is not None
    wanted = display_prefix(prefix.strip())
    found = await repo.find_tokens_by_prefix(conn, wanted)
    if not found:
        raise NotFound(f"no API token with prefix {wanted}")
    # A prefix shared with tokens revoked already still names the one that is not.
    candidates = [t for t in found if not t.revoked] or found
    if len(candidates) > 1:
        raise InvalidInput(f"{len(candidates)} API tokens have prefix {wanted}: revoke by token id", "prefix")
    return candidates[0]
