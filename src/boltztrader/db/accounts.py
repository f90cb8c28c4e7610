"""Reading accounts, model subscriptions, risk limits and trading states for routing and risk."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from boltztrader.db.tables import broker_accounts, model_subscriptions, risk_limits, trading_states
from boltztrader.domain.enums import AccountMode, Broker, ExecutionMode, TradingState
from boltztrader.domain.targets import AccountRef, Sizing, Subscription


async def account_refs(conn: AsyncConnection, *, account_ids: Collection[str] = (),
                       user_ids: Collection[str] = ()) -> list[AccountRef]:
    """Linked (not unlinked) accounts with any of ``account_ids`` or owned by any of ``user_ids``."""
    if not account_ids and not user_ids:
        return []
    accounts = broker_accounts.c
    wanted = or_(accounts.id.in_(list(account_ids)), accounts.user_id.in_(list(user_ids)))
    rows = await conn.execute(
        select(accounts.id, accounts.user_id, accounts.broker, accounts.mode, accounts.execution_mode,
               accounts.label).where(and_(wanted, accounts.unlinked_at.is_(None)))
    )
    return [AccountRef(r.id, r.user_id, Broker(r.broker), AccountMode(r.mode),
                       ExecutionMode(r.execution_mode), r.label) for r in rows]


async def subscriptions(conn: AsyncConnection, model_id: str) -> list[Subscription]:
    """The active subscriptions to ``model_id``."""
    subs = model_subscriptions.c
    rows = await conn.execute(
        select(subs.user_id, subs.model_id, subs.sizing, subs.sizing_value, subs.account_id)
        .where(subs.model_id == model_id, subs.active.is_(True))
        .order_by(subs.user_id, subs.id)
    )
    return [Subscription(r.user_id, r.model_id, Sizing(r.sizing), r.sizing_value, r.account_id) for r in rows]


async def trading_state_rows(conn: AsyncConnection, *, user_id: str,
                             account_id: str) -> dict[str, TradingState]:
    """The kill-switch state set at each scope that has one: 'global', 'user', 'account'."""
    states = trading_states.c
    rows = await conn.execute(
        select(states.scope, states.state).where(or_(
            states.scope == "global",
            and_(states.scope == "user", states.scope_id == user_id),
            and_(states.scope == "account", states.scope_id == account_id),
        ))
    )
    return {r.scope: TradingState(r.state) for r in rows}


async def limit_rows(conn: AsyncConnection, *, user_id: str, account_id: str) -> dict[str, dict[str, Any]]:
    """The stored risk limits at each scope that has them: 'global', 'user', 'account'."""
    limits = risk_limits.c
    rows = await conn.execute(
        select(limits.scope, limits.limits).where(or_(
            limits.scope == "global",
            and_(limits.scope == "user", limits.scope_id == user_id),
            and_(limits.scope == "account", limits.scope_id == account_id),
        ))
    )
    return {r.scope: dict(r.limits) for r in rows}


_CHUNK = 1000


class Owned(Protocol):
    """Anything that names an account and its owner (an ``AccountRef``, an order row)."""

    @property
    def account_id(self) -> str: ...

    @property
    def user_id(self) -> str: ...


async def trading_states_for(conn: AsyncConnection,
                             accounts: Sequence[Owned]) -> dict[str, dict[str, TradingState]]:
    """``trading_state_rows`` of many accounts at once: account id -> scope -> state."""
    return await _scoped_for(conn, accounts, trading_states.c.scope, trading_states.c.scope_id,
                             lambda r: TradingState(r.state), [trading_states.c.state])


async def limits_for(conn: AsyncConnection,
                     accounts: Sequence[Owned]) -> dict[str, dict[str, dict[str, Any]]]:
    """``limit_rows`` of many accounts at once: account id -> scope -> stored limits."""
    return await _scoped_for(conn, accounts, risk_limits.c.scope, risk_limits.c.scope_id,
                             lambda r: dict(r.limits), [risk_limits.c.limits])


async def _scoped_for(conn: AsyncConnection, accounts: Sequence[Owned], scope: Any, scope_id: Any,
                      value: Any, columns: list[Any]) -> dict[str, dict[str, Any]]:
    glob: dict[str, Any] = {}
    users: dict[str, Any] = {}
    own: dict[str, Any] = {}
    for start in range(0, max(len(accounts), 1), _CHUNK):
        part = accounts[start:start + _CHUNK]
        rows = await conn.execute(select(scope, scope_id, *columns).where(or_(
            scope == "global",
            and_(scope == "user", scope_id.in_(sorted({a.user_id for a in part}))),
            and_(scope == "account", scope_id.in_([a.account_id for a in part])),
        )))
        for r in rows:
            {"global": glob, "user": users, "account": own}[r.scope][r.scope_id] = value(r)
    found: dict[str, dict[str, Any]] = {}
    for account in accounts:
        scopes: dict[str, Any] = {}
        if glob:
            scopes["global"] = next(iter(glob.values()))
        if account.user_id in users:
            scopes["user"] = users[account.user_id]
        if account.account_id in own:
            scopes["account"] = own[account.account_id]
        found[account.account_id] = scopes
    return found


async def session_expiry_for(conn: AsyncConnection, account_ids: Sequence[str]) -> dict[str, datetime | None]:
    """When each account's stored broker session (Kite's daily access token) expires; None: no expiry."""
    found: dict[str, datetime | None] = {}
    ids = list(dict.fromkeys(account_ids))
    accounts = broker_accounts.c
    for start in range(0, len(ids), _CHUNK):
        rows = await conn.execute(select(accounts.id, accounts.access_token_expires_at)
                                  .where(accounts.id.in_(ids[start:start + _CHUNK])))
        found.update((r.id, r.access_token_expires_at) for r in rows)
    return found
