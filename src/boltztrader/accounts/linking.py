"""Linking broker accounts: their credentials encrypted at rest, every change audited.

A user links an account at a broker under a label (``main`` by default); the API secret, and for
Kite the day's access token, are sealed by the vault, bound to (user, account, field), so a blob
copied to another row never opens. Each command is one transaction that writes the row and its
audit entry (chain ``user:<id>``) together. Audit payloads never hold a secret: the API key shows
only its last four characters.

``load_credentials`` is the way back out, for the wiring that builds broker adapters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final, TypeVar

from sqlalchemy import Row, and_, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.accounts.kite_login import kite_session_expiry
from boltztrader.accounts.vault import Vault
from boltztrader.db.audit import log_audit
from boltztrader.db.credentials import CredentialField
from boltztrader.db.tables import broker_accounts, users
from boltztrader.domain.enums import AccountMode, Broker, ExecutionMode, Region, TradingState, parse_enum
from boltztrader.domain.ids import new_id
from boltztrader.domain.secrets import Secret
from boltztrader.errors import AccountConflict, AccountNotFound, CredentialError, InvalidAccountLink

__all__ = [
    "PAGE_SIZE", "AccountCredentials", "kite_session_expiry", "link_account", "load_credentials",
    "set_access_token", "unlink_account",
]

PAGE_SIZE: Final = 1000
ENTITY: Final = "broker_account"
REGION: Final[Mapping[Broker, Region]] = MappingProxyType({
    Broker.ZERODHA: Region.INDIA, Broker.ALPACA: Region.US, Broker.BINANCE: Region.CRYPTO,
})
# Column widths of broker_accounts.
MAX_LABEL: Final = 100
MAX_API_KEY: Final = 200
# Brokers whose accounts hold a daily access token besides the key and secret.
TOKEN_BROKERS: Final = frozenset({Broker.ZERODHA})

_ACCOUNT = broker_accounts.c
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class AccountCredentials:
    """A linked account's decrypted credentials; its repr shows no secret (``Secret`` masks itself)."""

    account_id: str
    user_id: str
    broker: Broker
    mode: AccountMode
    label: str
    api_key: str
    api_secret: Secret
    access_token: Secret | None
    access_token_expires_at: datetime | None
    execution_mode: ExecutionMode

    def session_valid(self, now: datetime) -> bool:
        """Whether the stored access token is still alive at ``now`` (Kite); always true without one."""
        if self.broker not in TOKEN_BROKERS:
            return True
        return (self.access_token is not None and self.access_token_expires_at is not None
                and now < self.access_token_expires_at)


@dataclass(frozen=True)
class _Link:
    """link_account's arguments, validated and normalized."""

    user_id: str
    broker: Broker
    mode: AccountMode
    label: str
    api_key: str
    api_secret: Secret
    access_token: Secret | None
    expires_at: datetime | None
    execution_mode: ExecutionMode


async def link_account(engine: AsyncEngine, vault: Vault, *, user_id: str, broker: Broker | str,
                       mode: AccountMode | str, api_key: str, api_secret: Secret, label: str = "main",
                       access_token: Secret | None = None, access_token_expires_at: datetime | None = None,
                       execution_mode: ExecutionMode | str = ExecutionMode.AUTOMATED, now: datetime,
                       actor: str | None = None) -> str:
    """Link the user's account at ``broker`` under ``label``; returns its account id.

    Key, secret and label are trimmed of surrounding whitespace. An access token (Kite only)
    without an expiry gets Kite's: the next 06:00 IST. ``InvalidAccountLink`` when an argument is
    malformed or the user does not exist (or is disabled); ``AccountConflict`` when the user
    already has a linked account at that broker with that label.

    Relinking: an *unlinked* account with the same (user, broker, label) is updated in place and
    keeps its id, so its order history stays attached: new key, secrets, mode and execution mode,
    ``unlinked_at`` cleared. Its trading state and settings are kept, so a halt is not lifted by
    relinking. The audit entry then says ``relinked: true``; its actor is ``actor``, by default
    ``user:<user_id>``.
    """
    link = _validate(user_id=user_id, broker=broker, mode=mode, api_key=api_key, api_secret=api_secret,
                     label=label, access_token=access_token, expires_at=access_token_expires_at,
                     execution_mode=execution_mode, now=now)
    try:
        async with engine.begin() as conn:
            return await _link(conn, vault, link, now=now, actor=actor or f"user:{link.user_id}")
    except IntegrityError:
        # Two links raced for one label: the loser meets the unique constraint.
        async with engine.connect() as conn:
            winner = await _find(conn, link.user_id, link.broker, link.label)
            await conn.rollback()
        if winner is None or winner.unlinked_at is not None:
            raise
        raise _conflict(link) from None


async def set_access_token(engine: AsyncEngine, vault: Vault, account_id: str, token: Secret,
                           expires_at: datetime, *, actor: str, now: datetime) -> None:
    """Store the day's access token of a linked Kite account (after its daily login), audited.

    ``AccountNotFound`` when the account does not exist or is unlinked; ``InvalidAccountLink``
    when the token is empty, the broker has no access tokens, or ``expires_at`` is not after ``now``.
    """
    _aware(now, "now")
    _aware(expires_at, "expires_at")
    _require_secret(token, "access_token")
    if expires_at <= now:
        raise InvalidAccountLink("the access token's expiry is not in the future", "access_token_expires_at")
    async with engine.begin() as conn:
        row = await _linked_row(conn, account_id)
        if Broker(row.broker) not in TOKEN_BROKERS:
            raise InvalidAccountLink(f"{row.broker} accounts have no access token", "access_token")
        blob = vault.encrypt(token, owner=row.user_id, account_id=account_id,
                             field=CredentialField.ACCESS_TOKEN)
        await conn.execute(update(broker_accounts).where(_ACCOUNT.id == account_id).values(
            access_token_ciphertext=blob, access_token_expires_at=expires_at, updated_at=now))
        await log_audit(conn, ENTITY, account_id, "account.session_renewed", actor,
                        {"expires_at": expires_at}, chain=_chain(row.user_id), now=now)


async def unlink_account(engine: AsyncEngine, account_id: str, *, actor: str, now: datetime) -> bool:
    """Unlink the account: both ciphertexts and the token's expiry cleared, ``unlinked_at`` set, audited.

    The row stays (its orders refer to it). True when it was linked; False, and nothing written,
    when it was already unlinked. ``AccountNotFound`` when there is no such account.
    """
    _aware(now, "now")
    async with engine.begin() as conn:
        row = (await conn.execute(select(_ACCOUNT.user_id, _ACCOUNT.unlinked_at)
                                  .where(_ACCOUNT.id == account_id).with_for_update())).first()
        if row is None:
            raise AccountNotFound(f"no broker account {account_id}")
        if row.unlinked_at is not None:
            return False
        await conn.execute(update(broker_accounts).where(_ACCOUNT.id == account_id).values(
            api_secret_ciphertext=None, access_token_ciphertext=None, access_token_expires_at=None,
            unlinked_at=now, updated_at=now))
        await log_audit(conn, ENTITY, account_id, "account.unlinked", actor, {}, chain=_chain(row.user_id),
                        now=now)
    return True


UnreadableHandler = Callable[[str, CredentialError], None]


async def load_credentials(engine: AsyncEngine, vault: Vault, account_ids: Sequence[str] | None = None, *,
                           page_size: int = PAGE_SIZE,
                           on_unreadable: UnreadableHandler | None = None) -> list[AccountCredentials]:
    """The decrypted credentials of linked accounts (every one when ``account_ids`` is None), by id.

    Read ``page_size`` accounts at a time, each page in its own short transaction. Ids that are
    unknown or unlinked are left out. An account whose secret is missing or does not decrypt
    raises ``CredentialError``, unless ``on_unreadable(account_id, error)`` is given: then it is
    called and that account left out, so one bad row does not keep every other account from
    trading.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    found: list[AccountCredentials] = []
    async for rows in _pages(engine, account_ids, page_size):
        for row in rows:
            try:
                found.append(_decrypt(vault, row))
            except CredentialError as exc:
                if on_unreadable is None:
                    raise
                on_unreadable(row.id, exc)
    return found


# -- link -------------------------------------------------------------------------------------------


async def _link(conn: AsyncConnection, vault: Vault, link: _Link, *, now: datetime, actor: str) -> str:
    await _require_user(conn, link.user_id)
    existing = await _find(conn, link.user_id, link.broker, link.label)
    if existing is not None and existing.unlinked_at is None:
        raise _conflict(link)
    account_id = existing.id if existing is not None else new_id(at=now)
    values = _row_values(vault, link, account_id, now)
    if existing is None:
        await conn.execute(insert(broker_accounts).values(
            id=account_id, user_id=link.user_id, created_at=now, trading_state=TradingState.ACTIVE.value,
            settings={}, **values))
    else:
        await conn.execute(update(broker_accounts).where(
            _ACCOUNT.id == account_id, _ACCOUNT.unlinked_at.is_not(None)).values(unlinked_at=None, **values))
    payload: dict[str, object] = {"broker": link.broker.value, "mode": link.mode.value, "label": link.label,
                                  "api_key_last4": _tail(link.api_key)}
    if existing is not None:
        payload["relinked"] = True
    await log_audit(conn, ENTITY, account_id, "account.linked", actor, payload, chain=_chain(link.user_id),
                    now=now)
    return account_id


def _row_values(vault: Vault, link: _Link, account_id: str, now: datetime) -> dict[str, Any]:
    def seal(secret: Secret, field: CredentialField) -> bytes:
        return vault.encrypt(secret, owner=link.user_id, account_id=account_id, field=field)

    token = None if link.access_token is None else seal(link.access_token, CredentialField.ACCESS_TOKEN)
    return {
        "broker": link.broker.value, "label": link.label, "mode": link.mode.value,
        "region": REGION[link.broker].value, "api_key": link.api_key,
        "api_secret_ciphertext": seal(link.api_secret, CredentialField.API_SECRET),
        "access_token_ciphertext": token, "access_token_expires_at": link.expires_at,
        "execution_mode": link.execution_mode.value, "updated_at": now,
    }


async def _require_user(conn: AsyncConnection, user_id: str) -> None:
    row = (await conn.execute(select(users.c.disabled_at).where(users.c.id == user_id))).first()
    if row is None:
        raise InvalidAccountLink(f"no user {user_id}", "user_id")
    if row.disabled_at is not None:
        raise InvalidAccountLink(f"user {user_id} is disabled", "user_id")


async def _find(conn: AsyncConnection, user_id: str, broker: Broker, label: str) -> Row[Any] | None:
    query = (select(_ACCOUNT.id, _ACCOUNT.unlinked_at)
             .where(_ACCOUNT.user_id == user_id, _ACCOUNT.broker == broker.value, _ACCOUNT.label == label)
             .with_for_update())
    return (await conn.execute(query)).first()


def _conflict(link: _Link) -> AccountConflict:
    return AccountConflict(f"user {link.user_id} already has a linked {link.broker} account "
                           f"labelled {link.label!r}: unlink it or choose another label")


# -- validation ---------------------------------------------------------------------------------------


def _validate(*, user_id: str, broker: Broker | str, mode: AccountMode | str, api_key: str,
              api_secret: Secret, label: str, access_token: Secret | None, expires_at: datetime | None,
              execution_mode: ExecutionMode | str, now: datetime) -> _Link:
    _aware(now, "now")
    if not isinstance(user_id, str) or not user_id.strip():
        raise InvalidAccountLink("user_id is required", "user_id")
    chosen = _parse(Broker, broker, "broker")
    key = _text(api_key, "api_key", MAX_API_KEY)
    name = _text(label, "label", MAX_LABEL)
    secret = Secret(_require_secret(api_secret, "api_secret").reveal().strip())
    if not secret:
        raise InvalidAccountLink("api_secret is empty", "api_secret")
    if access_token is not None:
        _require_secret(access_token, "access_token")
        if chosen not in TOKEN_BROKERS:
            raise InvalidAccountLink(f"{chosen} accounts have no access token", "access_token")
        if expires_at is None:
            expires_at = kite_session_expiry(now)
    if expires_at is not None:
        if access_token is None:
            raise InvalidAccountLink("an expiry without an access token", "access_token_expires_at")
        _aware(expires_at, "access_token_expires_at")
        if expires_at <= now:
            raise InvalidAccountLink("the access token has already expired", "access_token_expires_at")
    return _Link(user_id=user_id, broker=chosen, mode=_parse(AccountMode, mode, "mode"), label=name,
                 api_key=key, api_secret=secret, access_token=access_token, expires_at=expires_at,
                 execution_mode=_parse(ExecutionMode, execution_mode, "execution_mode"))


def _parse(enum_cls: type[E], value: E | str, field: str) -> E:
    try:
        return parse_enum(enum_cls, value)
    except (TypeError, ValueError) as exc:
        raise InvalidAccountLink(str(exc), field) from None


def _text(value: object, field: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidAccountLink(f"{field} must be text", field)
    text = value.strip()
    if not text:
        raise InvalidAccountLink(f"{field} is empty", field)
    if len(text) > limit:
        raise InvalidAccountLink(f"{field} is longer than {limit} characters", field)
    return text


def _require_secret(value: object, field: str) -> Secret:
    if not isinstance(value, Secret):
        raise TypeError(f"{field} must be a Secret")
    if not value.reveal().strip():
        raise InvalidAccountLink(f"{field} is empty", field)
    return value


def _aware(moment: datetime, name: str) -> None:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _tail(api_key: str) -> str:
    """At most the last four characters, and never more than half of the key."""
    return api_key[len(api_key) - min(4, len(api_key) // 2):]


def _chain(user_id: str) -> str:
    return f"user:{user_id}"


# -- load ---------------------------------------------------------------------------------------------

_COLUMNS = (_ACCOUNT.id, _ACCOUNT.user_id, _ACCOUNT.broker, _ACCOUNT.mode, _ACCOUNT.label, _ACCOUNT.api_key,
            _ACCOUNT.api_secret_ciphertext, _ACCOUNT.access_token_ciphertext,
            _ACCOUNT.access_token_expires_at, _ACCOUNT.execution_mode)


async def _linked_row(conn: AsyncConnection, account_id: str) -> Row[Any]:
    row = (await conn.execute(select(_ACCOUNT.user_id, _ACCOUNT.broker, _ACCOUNT.unlinked_at)
                              .where(_ACCOUNT.id == account_id).with_for_update())).first()
    if row is None or row.unlinked_at is not None:
        raise AccountNotFound(f"no linked broker account {account_id}")
    return row


async def _pages(engine: AsyncEngine, account_ids: Sequence[str] | None,
                 page_size: int) -> AsyncIterator[list[Row[Any]]]:
    """Rows of linked accounts a page at a time: keyset by id, or chunks of the ids asked for."""
    linked = _ACCOUNT.unlinked_at.is_(None)
    if account_ids is not None:
        wanted = sorted(set(account_ids))
        for start in range(0, len(wanted), page_size):
            chunk = wanted[start:start + page_size]
            yield await _read(engine, and_(linked, _ACCOUNT.id.in_(chunk)), page_size)
        return
    after: str | None = None
    while True:
        condition = linked if after is None else and_(linked, _ACCOUNT.id > after)
        page = await _read(engine, condition, page_size)
        if page:
            yield page
        if len(page) < page_size:
            return
        after = page[-1].id


async def _read(engine: AsyncEngine, condition: Any, limit: int) -> list[Row[Any]]:
    async with engine.connect() as conn:
        rows = list(await conn.execute(select(*_COLUMNS).where(condition).order_by(_ACCOUNT.id).limit(limit)))
        await conn.rollback()
    return rows


def _decrypt(vault: Vault, row: Row[Any]) -> AccountCredentials:
    if row.api_secret_ciphertext is None:
        raise CredentialError(f"account {row.id} stores no api_secret: link it again")
    secret = vault.decrypt(bytes(row.api_secret_ciphertext), owner=row.user_id, account_id=row.id,
                           field=CredentialField.API_SECRET)
    token = None
    if row.access_token_ciphertext is not None:
        token = vault.decrypt(bytes(row.access_token_ciphertext), owner=row.user_id, account_id=row.id,
                              field=CredentialField.ACCESS_TOKEN)
    return AccountCredentials(
        account_id=row.id, user_id=row.user_id, broker=Broker(row.broker), mode=AccountMode(row.mode),
        label=row.label, api_key=row.api_key, api_secret=secret, access_token=token,
        access_token_expires_at=row.access_token_expires_at if token is not None else None,
        execution_mode=ExecutionMode(row.execution_mode),
    )
