"""Stored risk limits per scope: read them, replace them (audited), check them before they are stored.

A scope is ``user`` (all of a user's accounts), ``account`` (one account; its fields override the
user's one by one) or ``global`` (the admin's policy, which only tightens: every account's limits
are held to the stricter of their own value and the policy's). What is stored is only the fields
that were set, in ``Limits.to_mapping`` form; the rest keep their defaults.

Setting a scope replaces what it stored before (an empty set of fields removes the row, back to
the defaults), and writes ``risk.limits_set`` to the audit in the same transaction: chain
``global`` for the policy, the owner's ``user:<id>`` otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.db.audit import log_audit
from boltztrader.db.tables import broker_accounts, risk_limits
from boltztrader.errors import InvalidInput
from boltztrader.risk import Limits

__all__ = ["GLOBAL_ID", "LimitScope", "check_limits", "set_limits", "stored_limits"]

GLOBAL_ID = "*"  # the scope id of the one global row
ENTITY = "risk_limits"
ACTION = "risk.limits_set"

_LIMITS = risk_limits.c


class LimitScope(StrEnum):
    GLOBAL = "global"
    USER = "user"
    ACCOUNT = "account"


async def stored_limits(engine: AsyncEngine, scope: LimitScope, scope_id: str) -> dict[str, Any]:
    """The fields stored at the scope (empty: nothing stored, the defaults apply)."""
    async with engine.connect() as conn:
        found = await _stored(conn, scope, _id(scope, scope_id))
        await conn.rollback()
    return found


def check_limits(values: Mapping[str, object]) -> dict[str, object]:
    """The given fields in stored form; InvalidInput naming the first bad field, or the pair at odds."""
    for name, value in values.items():
        try:
            Limits.from_mapping({name: value})
        except (TypeError, ValueError) as exc:
            raise InvalidInput(str(exc), name) from None
    limits = _parse(values)
    encoded = limits.to_mapping()
    return {name: encoded[name] for name in values}


async def set_limits(engine: AsyncEngine, scope: LimitScope, scope_id: str, values: Mapping[str, object], *,
                     owner: str | None, actor: str, now: datetime | None = None) -> dict[str, Any]:
    """Replace the fields stored at the scope with ``values``; what is stored now.

    ``owner`` is the user the scope belongs to (None for the global policy). The new fields are
    checked alone and together with the other level they are merged with (a user's and each of
    their accounts'), so the intake never meets a combination it cannot read.
    """
    scope_id = _id(scope, scope_id)
    normalized = check_limits(values)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    async with engine.begin() as conn:
        await _check_merges(conn, scope, scope_id, owner, normalized)
        previous = await _stored(conn, scope, scope_id)
        await _write(conn, scope, scope_id, normalized, actor=actor, now=moment)
        payload = {"scope": str(scope), "scope_id": scope_id, "limits": normalized, "previous": previous}
        await log_audit(conn, ENTITY, f"{scope}:{scope_id}", ACTION, actor, payload,
                        chain="global" if owner is None else f"user:{owner}", now=moment)
    return normalized


def _id(scope: LimitScope, scope_id: str) -> str:
    return GLOBAL_ID if scope is LimitScope.GLOBAL else scope_id


def _parse(values: Mapping[str, object]) -> Limits:
    try:
        return Limits.from_mapping(values)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(str(exc)) from None


async def _stored(conn: AsyncConnection, scope: LimitScope, scope_id: str) -> dict[str, Any]:
    row = (await conn.execute(select(_LIMITS.limits).where(
        _LIMITS.scope == str(scope), _LIMITS.scope_id == scope_id))).scalar_one_or_none()
    return {} if row is None else dict(row)


async def _check_merges(conn: AsyncConnection, scope: LimitScope, scope_id: str, owner: str | None,
                        values: Mapping[str, object]) -> None:
    """InvalidInput when the new fields, merged as the intake merges them, do not make valid limits."""
    if scope is LimitScope.ACCOUNT:
        assert owner is not None
        _parse({**await _stored(conn, LimitScope.USER, owner), **values})
    elif scope is LimitScope.USER:
        accounts = select(broker_accounts.c.id).where(broker_accounts.c.user_id == scope_id)
        rows = await conn.execute(select(_LIMITS.limits).where(
            _LIMITS.scope == str(LimitScope.ACCOUNT), _LIMITS.scope_id.in_(accounts)))
        for row in rows:
            _parse({**values, **dict(row.limits)})


async def _write(conn: AsyncConnection, scope: LimitScope, scope_id: str, values: Mapping[str, object], *,
                 actor: str, now: datetime) -> None:
    where = (_LIMITS.scope == str(scope), _LIMITS.scope_id == scope_id)
    if not values:
        await conn.execute(delete(risk_limits).where(*where))
        return
    row = {"scope": str(scope), "scope_id": scope_id, "limits": dict(values), "updated_at": now,
           "updated_by": actor}
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await conn.execute(dialect_insert(risk_limits).values(row).on_conflict_do_update(
        index_elements=["scope", "scope_id"],
        set_={"limits": dict(values), "updated_at": now, "updated_by": actor}))
