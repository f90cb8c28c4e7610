"""Broker accounts as the API sees them: link, open on a paper broker, read, rename, check, unlink,
and Kite's daily login.

Every command keeps the trading runtime in step: a linked account's adapter joins the broker
directory and the execution starts it (``on_added``), so it trades without a restart; an unlinked
one leaves both; a Kite login rebuilds its adapter with the day's token.

Ownership: an account someone else owns is "not found" to a user. Admins may read every account
(list, get, check) but change only their own; on another's they get ``Forbidden``.

A Binance key is asked for its permissions before it is linked: a key that may withdraw is refused.
Kite's login goes out with a one-time ``state`` (kept here, in memory, for ``STATE_TTL``) in
``redirect_params``, which Kite echoes back to the callback; that state is the callback's only proof.
"""

from __future__ import annotations

import logging
import secrets
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Protocol, runtime_checkable
from urllib.parse import urlencode

import aiohttp
from sqlalchemy import Row, and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.accounts.directory import BrokerDirectory, BrokerFactory
from boltztrader.accounts.kite_login import KITE_API_ROOT, exchange_request_token
from boltztrader.accounts.linking import (
    ENTITY,
    AccountCredentials,
    link_account,
    load_credentials,
    set_access_token,
    unlink_account,
)
from boltztrader.accounts.paper import open_paper_account
from boltztrader.accounts.users import Principal
from boltztrader.accounts.vault import Vault
from boltztrader.db import accounts as accounts_repo
from boltztrader.db.audit import log_audit
from boltztrader.db.tables import broker_accounts
from boltztrader.domain.clock import Clock
from boltztrader.domain.enums import AccountMode, Broker, ExecutionMode, Region, TradingState
from boltztrader.domain.secrets import Secret
from boltztrader.errors import (
    AccountConflict,
    AccountError,
    AccountNotFound,
    BrokerAuthError,
    BrokerUnavailable,
    ConfigError,
    Forbidden,
    InvalidAccountLink,
    InvalidLoginState,
    TradingError,
)
from boltztrader.risk.trading_state import most_restrictive

__all__ = ["KITE_LOGIN_URL", "STATE_TTL", "AccountService", "AccountView", "CheckResult", "SessionView",
           "get_account", "list_accounts"]

log = logging.getLogger(__name__)

KITE_LOGIN_URL: Final = "https://kite.zerodha.com/connect/login"
STATE_TTL: Final = timedelta(minutes=10)
MAX_PENDING_LOGINS: Final = 10_000  # a flood of login starts cannot grow memory without bound
HINT_LENGTH: Final = 4
WITHDRAWALS_REFUSED: Final = ("the API key may withdraw funds; BoltzTrader links only keys without the "
                              "withdrawal permission: create a key with withdrawals disabled")
_A = broker_accounts.c
_COLUMNS = (_A.id, _A.user_id, _A.broker, _A.mode, _A.label, _A.region, _A.execution_mode, _A.trading_state,
            _A.api_key, _A.access_token_expires_at, _A.created_at, _A.unlinked_at,
            _A.access_token_ciphertext.is_not(None).label("has_token"))

Hook = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SessionView:
    """A Kite account's daily session: when its token dies, and whether it is alive now."""

    expires_at: datetime | None
    valid: bool


@dataclass(frozen=True, slots=True)
class AccountView:
    """A linked (or unlinked) account as shown to its owner: never a secret, the key's last 4 only."""

    id: str
    user_id: str
    broker: Broker
    mode: AccountMode
    label: str
    region: Region
    execution_mode: ExecutionMode
    trading_state: TradingState
    api_key_hint: str
    session: SessionView | None
    created_at: datetime
    unlinked_at: datetime | None


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    checked_at: datetime
    detail: str
    currency: str | None = None
    equity: Decimal | None = None


class KeyPermissions(Protocol):
    @property
    def withdrawals_enabled(self) -> bool: ...


@runtime_checkable
class RestrictionsReader(Protocol):
    """An adapter that can tell what its key may do (Binance)."""

    async def api_restrictions(self) -> KeyPermissions: ...


@dataclass(frozen=True, slots=True)
class _PendingLogin:
    account_id: str
    user_id: str
    expires_at: datetime


# -- reads --------------------------------------------------------------------------------------------


async def list_accounts(engine: AsyncEngine, principal: Principal, *, now: datetime,
                        include_unlinked: bool = False) -> list[AccountView]:
    """The caller's accounts (an admin's: everyone's), oldest first; unlinked ones only when asked."""
    query = select(*_COLUMNS).order_by(_A.created_at, _A.id)
    if not principal.is_admin:
        query = query.where(_A.user_id == principal.user_id)
    if not include_unlinked:
        query = query.where(_A.unlinked_at.is_(None))
    async with engine.connect() as conn:
        rows = list(await conn.execute(query))
        views = await _views(conn, rows, now)
        await conn.rollback()
    return views


async def get_account(engine: AsyncEngine, principal: Principal | None, account_id: str, *,
                      now: datetime, linked: bool = False) -> AccountView:
    """One account the caller may read; ``AccountNotFound`` for anyone else's (unless admin).

    ``principal`` None: the service itself, which may read any account.
    """
    async with engine.connect() as conn:
        row = await _row(conn, account_id)
        if principal is not None:
            row = _require_visible(row, principal, account_id, write=False, linked=linked)
        elif row is None:
            raise AccountNotFound(f"no account {account_id}")
        views = await _views(conn, [row], now)
        await conn.rollback()
    return views[0]


async def _row(conn: AsyncConnection, account_id: str, *, lock: bool = False) -> Row[Any] | None:
    query = select(*_COLUMNS).where(_A.id == account_id)
    return (await conn.execute(query.with_for_update() if lock else query)).first()


def _require_visible(row: Row[Any] | None, principal: Principal, account_id: str, *, write: bool,
                     linked: bool = False) -> Row[Any]:
    if row is None or (row.user_id != principal.user_id and not principal.is_admin):
        raise AccountNotFound(f"no account {account_id}")
    if write and row.user_id != principal.user_id:
        raise Forbidden("admins may read other users' accounts, not change them")
    if linked and row.unlinked_at is not None:
        raise AccountNotFound(f"no linked account {account_id}")
    return row


@dataclass(frozen=True, slots=True)
class _Owned:
    account_id: str
    user_id: str


async def _views(conn: AsyncConnection, rows: list[Row[Any]], now: datetime) -> list[AccountView]:
    states = await accounts_repo.trading_states_for(conn, [_Owned(r.id, r.user_id) for r in rows])
    return [_view(r, states.get(r.id, {}), now) for r in rows]


def _view(row: Row[Any], scopes: Mapping[str, TradingState], now: datetime) -> AccountView:
    broker = Broker(row.broker)
    session = None
    if broker is Broker.ZERODHA:
        expires = row.access_token_expires_at if row.has_token else None
        session = SessionView(expires_at=expires, valid=expires is not None and now < expires)
    return AccountView(
        id=row.id, user_id=row.user_id, broker=broker, mode=AccountMode(row.mode), label=row.label,
        region=Region(row.region), execution_mode=ExecutionMode(row.execution_mode),
        trading_state=most_restrictive(TradingState(row.trading_state), *scopes.values()),
        api_key_hint=row.api_key[-HINT_LENGTH:], session=session, created_at=row.created_at,
        unlinked_at=row.unlinked_at)


# -- commands -----------------------------------------------------------------------------------------


class AccountService:
    """The account commands of one service process (it holds the pending Kite logins)."""

    def __init__(self, engine: AsyncEngine, vault: Vault, directory: BrokerDirectory, factory: BrokerFactory,
                 clock: Clock, *, live_allowed: bool, paper_urls: Mapping[Broker, str], on_added: Hook,
                 on_removed: Hook, kite_api_root: str = KITE_API_ROOT) -> None:
        self._engine = engine
        self._vault = vault
        self._directory = directory
        self._factory = factory
        self._clock = clock
        self._live_allowed = live_allowed
        self._paper_urls = dict(paper_urls)
        self._on_added = on_added
        self._on_removed = on_removed
        self._kite_api_root = kite_api_root
        self._logins: dict[str, _PendingLogin] = {}

    async def link(self, principal: Principal, *, broker: Broker, mode: AccountMode, label: str, api_key: str,
                   api_secret: Secret, access_token: Secret | None = None,
                   execution_mode: ExecutionMode = ExecutionMode.AUTOMATED) -> AccountView:
        """Link the caller's account with the credentials given (a Binance key is vetted first)."""
        if mode is AccountMode.LIVE and not self._live_allowed:
            raise InvalidAccountLink("live accounts need the service running in live mode (BOLTZ_MODE=live)",
                                     "mode")
        api_key, api_secret = api_key.strip(), Secret(api_secret.reveal().strip())
        given = {"api_key": api_key, "api_secret": api_secret.reveal()}
        if access_token is not None:
            given["access_token"] = access_token.reveal()
        for field, text in given.items():
            if not text or not all("!" <= char <= "~" for char in text):
                raise InvalidAccountLink(f"{field} must be printable ASCII characters without spaces", field)
        return await self._link(principal, broker=broker, mode=mode, label=label, api_key=api_key,
                                api_secret=api_secret, access_token=access_token, expires_at=None,
                                execution_mode=execution_mode)

    async def open_paper(self, principal: Principal, *, broker: Broker, label: str,
                         execution_mode: ExecutionMode = ExecutionMode.AUTOMATED) -> AccountView:
        """Open a funded account on the configured paper broker and link it (Kite: logged in)."""
        label = _label(label)
        await self._require_label_free(principal.user_id, broker, label)
        async with aiohttp.ClientSession() as http:
            opened = await open_paper_account(http, self._paper_urls[broker], broker)
        return await self._link(principal, broker=broker, mode=AccountMode.PAPER, label=label,
                                api_key=opened.api_key, api_secret=opened.api_secret,
                                access_token=opened.access_token, expires_at=opened.access_token_expires_at,
                                execution_mode=execution_mode)

    async def update(self, principal: Principal, account_id: str, *, label: str | None = None,
                     execution_mode: ExecutionMode | None = None) -> AccountView:
        """Rename the account or change its execution mode; audited ``account.updated`` when it changed."""
        now = self._clock.now()
        try:
            async with self._engine.begin() as conn:
                row = _require_visible(await _row(conn, account_id, lock=True), principal, account_id,
                                       write=True, linked=True)
                changes: dict[str, object] = {}
                if label is not None and label.strip() != row.label:
                    changes["label"] = _label(label)
                if execution_mode is not None and execution_mode.value != row.execution_mode:
                    changes["execution_mode"] = execution_mode.value
                if changes:
                    await conn.execute(update(broker_accounts).where(_A.id == account_id)
                                       .values(updated_at=now, **changes))
                    before = {key: getattr(row, key) for key in changes}
                    await log_audit(conn, ENTITY, account_id, "account.updated", f"user:{principal.user_id}",
                                    {"before": before, "after": changes}, chain=f"user:{row.user_id}",
                                    now=now)
        except IntegrityError:
            raise AccountConflict(f"another account of yours at that broker is labelled {label!r}") from None
        return await get_account(self._engine, principal, account_id, now=now)

    async def check(self, principal: Principal, account_id: str) -> CheckResult:
        """One read-only call to the broker (the balance) with the stored credentials."""
        await get_account(self._engine, principal, account_id, now=self._clock.now(), linked=True)
        broker = self._directory.get(account_id)
        if broker is None:
            return CheckResult(False, self._clock.now(), "the account's credentials are not loaded in this "
                               "process: link it again")
        try:
            balance = await broker.get_balance()
        except BrokerAuthError as exc:
            return CheckResult(False, self._clock.now(), f"the broker refused the credentials: {exc}")
        except BrokerUnavailable as exc:
            return CheckResult(False, self._clock.now(),
                               f"the broker could not be reached ({type(exc).__name__}); try again later")
        except TradingError as exc:
            return CheckResult(False, self._clock.now(), f"the broker's answer was not usable "
                               f"({type(exc).__name__})")
        return CheckResult(True, self._clock.now(), "the broker accepted the credentials",
                           currency=balance.currency, equity=balance.equity)

    async def unlink(self, principal: Principal, account_id: str) -> None:
        """Unlink the account (its secrets erased) and take it out of the running process."""
        await self._owned_linked(principal, account_id)
        if not await unlink_account(self._engine, account_id, actor=f"user:{principal.user_id}",
                                    now=self._clock.now()):
            raise AccountNotFound(f"no linked account {account_id}")
        self._logins = {k: v for k, v in self._logins.items() if v.account_id != account_id}
        await self._directory.remove(account_id)
        await self._on_removed(account_id)
        log.info("account %s unlinked", account_id)

    # -- Kite's daily login ---------------------------------------------------------------------------

    async def kite_login_url(self, principal: Principal, account_id: str) -> str:
        """Kite's login page for the account's key, with a one-time state in ``redirect_params``."""
        row = await self._owned_linked(principal, account_id)
        if Broker(row.broker) is not Broker.ZERODHA:
            raise AccountError(f"account {account_id} is a {row.broker} account: only Kite has a daily login")
        now = self._clock.now()
        self._forget_expired(now)
        state = secrets.token_urlsafe(24)
        self._logins[state] = _PendingLogin(account_id, row.user_id, now + STATE_TTL)
        echoed = urlencode({"account_id": account_id, "state": state})
        return KITE_LOGIN_URL + "?" + urlencode({"v": "3", "api_key": row.api_key, "redirect_params": echoed})

    async def complete_kite_login(self, *, state: str | None, account_id: str | None, status: str | None,
                                  request_token: str | None) -> AccountView:
        """Exchange the request token Kite sent back, store the day's token, rebuild the adapter."""
        now = self._clock.now()
        pending = self._logins.pop(state, None) if state else None
        if pending is None or pending.expires_at <= now or pending.account_id != account_id:
            raise InvalidLoginState("this login is unknown, used already or expired: start the Kite login "
                                    "again from the account")
        if status != "success" or not request_token:
            raise InvalidLoginState(f"Kite did not complete the login (status {status!r}): try again")
        found = await load_credentials(self._engine, self._vault, [pending.account_id])
        if not found or found[0].user_id != pending.user_id:
            raise AccountNotFound(f"no linked account {pending.account_id}")
        credentials = found[0]
        root = (self._paper_urls[Broker.ZERODHA] if credentials.mode is AccountMode.PAPER
                else self._kite_api_root)
        async with aiohttp.ClientSession() as http:
            login = await exchange_request_token(http, api_key=credentials.api_key,
                                                 request_token=Secret(request_token),
                                                 api_secret=credentials.api_secret, base_url=root)
        await set_access_token(self._engine, self._vault, pending.account_id, login.access_token,
                               login.expires_at, actor=f"user:{pending.user_id}", now=self._clock.now())
        await self._directory.reload(pending.account_id)
        await self._on_added(pending.account_id)
        log.info("account %s: Kite session renewed until %s", pending.account_id,
                 login.expires_at.isoformat())
        return await get_account(self._engine, None, pending.account_id, now=self._clock.now())

    def _forget_expired(self, now: datetime) -> None:
        for key in [k for k, v in self._logins.items() if v.expires_at <= now]:
            del self._logins[key]
        while len(self._logins) >= MAX_PENDING_LOGINS:
            del self._logins[next(iter(self._logins))]  # the oldest (dicts keep insertion order)

    # -- internals ------------------------------------------------------------------------------------

    async def _link(self, principal: Principal, *, broker: Broker, mode: AccountMode, label: str,
                    api_key: str, api_secret: Secret, access_token: Secret | None,
                    expires_at: datetime | None, execution_mode: ExecutionMode) -> AccountView:
        label = _label(label)
        await self._require_label_free(principal.user_id, broker, label)
        await self._vet(AccountCredentials(
            account_id="(not linked)", user_id=principal.user_id, broker=broker, mode=mode, label=label,
            api_key=api_key, api_secret=api_secret, access_token=access_token, access_token_expires_at=None,
            execution_mode=execution_mode))
        now = self._clock.now()
        account_id = await link_account(self._engine, self._vault, user_id=principal.user_id, broker=broker,
                                        mode=mode, api_key=api_key, api_secret=api_secret, label=label,
                                        access_token=access_token, access_token_expires_at=expires_at,
                                        execution_mode=execution_mode, now=now)
        await self._directory.load([account_id])
        await self._on_added(account_id)
        log.info("account %s linked (%s, %s)", account_id, broker.value, mode.value)
        return await get_account(self._engine, principal, account_id, now=self._clock.now())

    async def _vet(self, credentials: AccountCredentials) -> None:
        """Build the adapter the account will trade through (its config checks the credentials' shape);
        ask Binance what the key may do."""
        try:
            adapter = self._factory(credentials)
        except ConfigError as exc:  # the adapters' config messages name fields, never values
            raise InvalidAccountLink(f"the credentials do not fit {credentials.broker.value}: {exc}",
                                     "api_key") from None
        try:
            if credentials.broker is not Broker.BINANCE:
                return
            if not isinstance(adapter, RestrictionsReader):
                raise AccountError("this broker adapter cannot tell a key's permissions")
            try:
                permissions = await adapter.api_restrictions()
            except BrokerAuthError as exc:
                raise InvalidAccountLink(f"the broker refused the key: {exc}", "api_key") from None
            if permissions.withdrawals_enabled:
                raise InvalidAccountLink(WITHDRAWALS_REFUSED, "api_key")
        finally:
            await adapter.close()

    async def _require_label_free(self, user_id: str, broker: Broker, label: str) -> None:
        async with self._engine.connect() as conn:
            taken = (await conn.execute(select(_A.id).where(and_(
                _A.user_id == user_id, _A.broker == broker.value, _A.label == label.strip(),
                _A.unlinked_at.is_(None))))).first()
            await conn.rollback()
        if taken is not None:
            raise AccountConflict(f"you already have a linked {broker.value} account labelled "
                                  f"{label.strip()!r}: unlink it or choose another label")

    async def _owned_linked(self, principal: Principal, account_id: str) -> Row[Any]:
        async with self._engine.connect() as conn:
            row = await _row(conn, account_id)
            await conn.rollback()
        return _require_visible(row, principal, account_id, write=True, linked=True)


def _label(label: str) -> str:
    text = label.strip()
    if not text:
        raise InvalidAccountLink("label is empty", "label")
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in text):
        raise InvalidAccountLink("label holds control characters or unpaired surrogates", "label")
    return text
