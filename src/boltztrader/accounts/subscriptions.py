"""Model subscriptions: a user follows a model, and its signals fan out to the user's account.

A subscription names the model, optionally one of the user's own linked accounts (without one the
signal's market picks the user's account), and a sizing rule: the signal's own size, a fixed
quantity, a fixed notional, or a percent of the account's equity (``sizing_value``, > 0, required
for all but ``signal``). Each change is one transaction with its audit entry on the owner's chain
(``subscription.created`` / ``updated`` / ``deleted``). Another user's subscription reads as one
that does not exist (``NotFound``); admins may change any.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.accounts.users import Principal
from boltztrader.db.audit import log_audit
from boltztrader.db.tables import broker_accounts, model_subscriptions
from boltztrader.domain.ids import new_id
from boltztrader.domain.targets import Sizing, Subscription
from boltztrader.errors import AccountNotFound, AlreadyExists, InvalidInput, NotFound

__all__ = [
    "SubscriptionRecord", "create_subscription", "delete_subscription", "get_subscription",
    "list_subscriptions", "update_subscription",
]

ENTITY = "subscription"
MAX_MODEL_ID = 100
CHANGEABLE = frozenset({"account_id", "sizing", "sizing_value", "active"})

_SUBS = model_subscriptions.c


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    id: str
    user_id: str
    model_id: str
    account_id: str | None
    sizing: Sizing
    sizing_value: Decimal | None
    active: bool
    created_at: datetime

    def audit_payload(self) -> dict[str, object]:
        return {"model_id": self.model_id, "account_id": self.account_id, "sizing": str(self.sizing),
                "sizing_value": None if self.sizing_value is None else str(self.sizing_value),
                "active": self.active}


def _record(row: Row[Any]) -> SubscriptionRecord:
    return SubscriptionRecord(row.id, row.user_id, row.model_id, row.account_id, Sizing(row.sizing),
                              row.sizing_value, bool(row.active), row.created_at)


async def list_subscriptions(engine: AsyncEngine, user_id: str, *, after: tuple[datetime, str] | None = None,
                             limit: int = 50) -> list[SubscriptionRecord]:
    """The user's subscriptions, oldest first, after the (created_at, id) key of a previous page."""
    statement = select(model_subscriptions).where(_SUBS.user_id == user_id)
    if after is not None:
        statement = statement.where(or_(_SUBS.created_at > after[0],
                                        and_(_SUBS.created_at == after[0], _SUBS.id > after[1])))
    async with engine.connect() as conn:
        rows = await conn.execute(statement.order_by(_SUBS.created_at, _SUBS.id).limit(limit))
        found = [_record(row) for row in rows]
        await conn.rollback()
    return found


async def get_subscription(engine: AsyncEngine, principal: Principal,
                           subscription_id: str) -> SubscriptionRecord:
    """The subscription if the caller may see it; NotFound otherwise."""
    async with engine.connect() as conn:
        record = await _visible(conn, principal, subscription_id)
        await conn.rollback()
    return record


async def create_subscription(engine: AsyncEngine, principal: Principal, *, model_id: str,
                              account_id: str | None, sizing: str, sizing_value: Decimal | None,
                              active: bool = True, now: datetime | None = None) -> SubscriptionRecord:
    """Subscribe the caller to ``model_id``; AlreadyExists when they follow it on that account already."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    record = _checked(SubscriptionRecord(new_id(at=moment), principal.user_id, _model_id(model_id),
                                         account_id, _sizing(sizing), sizing_value, active, moment))
    async with engine.begin() as conn:
        await _check_account(conn, record.user_id, record.account_id)
        await _check_unique(conn, record)
        try:
            await conn.execute(insert(model_subscriptions).values(
                id=record.id, user_id=record.user_id, model_id=record.model_id, account_id=record.account_id,
                sizing=str(record.sizing), sizing_value=record.sizing_value, active=record.active,
                created_at=record.created_at))
        except IntegrityError:
            raise _taken(record) from None
        await log_audit(conn, ENTITY, record.id, "subscription.created", _actor(principal),
                        record.audit_payload(), chain=_chain(record.user_id), now=moment)
    return record


async def update_subscription(engine: AsyncEngine, principal: Principal, subscription_id: str,
                              changes: Mapping[str, Any], *,
                              now: datetime | None = None) -> SubscriptionRecord:
    """Change the account, sizing or active flag; the subscription as it is now.

    Switching to ``signal`` sizing drops the old ``sizing_value`` unless a new one is given.
    """
    unknown = sorted(set(changes) - CHANGEABLE)
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(unknown)}", unknown[0])
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    values = dict(changes)
    if "sizing" in values:
        values["sizing"] = _sizing(values["sizing"])
        if values["sizing"] is Sizing.SIGNAL and "sizing_value" not in values:
            values["sizing_value"] = None
    async with engine.begin() as conn:
        current = await _visible(conn, principal, subscription_id, lock=True)
        record = _checked(replace(current, **values))
        if record.account_id != current.account_id:
            await _check_account(conn, record.user_id, record.account_id)
            await _check_unique(conn, record)
        try:
            await conn.execute(update(model_subscriptions).where(_SUBS.id == record.id).values(
                account_id=record.account_id, sizing=str(record.sizing), sizing_value=record.sizing_value,
                active=record.active))
        except IntegrityError:
            raise _taken(record) from None
        changed = {k: v for k, v in record.audit_payload().items() if current.audit_payload()[k] != v}
        await log_audit(conn, ENTITY, record.id, "subscription.updated", _actor(principal),
                        {**record.audit_payload(), "changed": sorted(changed)}, chain=_chain(record.user_id),
                        now=moment)
    return record


async def delete_subscription(engine: AsyncEngine, principal: Principal, subscription_id: str, *,
                              now: datetime | None = None) -> None:
    """Remove the subscription: the model's next signals no longer reach its account."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    async with engine.begin() as conn:
        current = await _visible(conn, principal, subscription_id, lock=True)
        await conn.execute(delete(model_subscriptions).where(_SUBS.id == current.id))
        await log_audit(conn, ENTITY, current.id, "subscription.deleted", _actor(principal),
                        current.audit_payload(), chain=_chain(current.user_id), now=moment)


async def _visible(conn: AsyncConnection, principal: Principal, subscription_id: str, *,
                   lock: bool = False) -> SubscriptionRecord:
    statement = select(model_subscriptions).where(_SUBS.id == subscription_id)
    row = (await conn.execute(statement.with_for_update() if lock else statement)).first()
    if row is None or (row.user_id != principal.user_id and not principal.is_admin):
        raise NotFound(f"no subscription {subscription_id}")
    return _record(row)


def _checked(record: SubscriptionRecord) -> SubscriptionRecord:
    """The record if its sizing rule is whole (the domain's own check); InvalidInput otherwise."""
    if record.sizing is Sizing.SIGNAL and record.sizing_value is not None:
        raise InvalidInput("sizing_value is only for fixed_quantity, fixed_notional and percent_equity",
                           "sizing_value")
    if record.sizing_value is not None and not record.sizing_value.is_finite():
        raise InvalidInput("sizing_value must be a finite number", "sizing_value")
    try:
        Subscription(record.user_id, record.model_id, record.sizing, record.sizing_value, record.account_id)
    except ValueError as exc:
        raise InvalidInput(str(exc), "sizing_value") from None
    return record


def _model_id(model_id: str) -> str:
    model_id = model_id.strip()
    if not model_id or len(model_id) > MAX_MODEL_ID:
        raise InvalidInput(f"model_id must be 1 to {MAX_MODEL_ID} characters", "model_id")
    return model_id


def _sizing(value: object) -> Sizing:
    try:
        return Sizing(str(value))
    except ValueError:
        raise InvalidInput(f"sizing must be one of {', '.join(s.value for s in Sizing)}", "sizing") from None


async def _check_account(conn: AsyncConnection, user_id: str, account_id: str | None) -> None:
    """AccountNotFound unless the account is one of the subscriber's own linked accounts."""
    if account_id is None:
        return
    accounts = broker_accounts.c
    owner = (await conn.execute(select(accounts.user_id).where(
        accounts.id == account_id, accounts.unlinked_at.is_(None)))).scalar_one_or_none()
    if owner != user_id:
        raise AccountNotFound(f"no account {account_id}")


async def _check_unique(conn: AsyncConnection, record: SubscriptionRecord) -> None:
    # NULL account ids never collide in a unique constraint, so "route by market" is checked here.
    same_account = (_SUBS.account_id.is_(None) if record.account_id is None
                    else _SUBS.account_id == record.account_id)
    taken = (await conn.execute(select(_SUBS.id).where(
        _SUBS.user_id == record.user_id, _SUBS.model_id == record.model_id, same_account,
        _SUBS.id != record.id))).first()
    if taken is not None:
        raise _taken(record)


def _taken(record: SubscriptionRecord) -> AlreadyExists:
    where = f"account {record.account_id}" if record.account_id else "the market's account"
    return AlreadyExists(f"already subscribed to model {record.model_id} on {where}")


def _actor(principal: Principal) -> str:
    return f"user:{principal.user_id}"


def _chain(user_id: str) -> str:
    return f"user:{user_id}"
