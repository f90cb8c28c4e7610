"""The kill switch: set a trading state for everyone, one user or one account, and act on it.

``engage`` writes the ``trading_states`` row and its audit entry (``killswitch.engaged``, or
``killswitch.released`` for ACTIVE; chain ``global`` or the user's) in one transaction. From its
commit on, the intake (and an approval's re-check) denies new orders with TRADING_HALTED. Then:

- HALTED cancels every working order in scope at its broker (``cancel_requested``, the broker's
  cancel, then its answer: ``cancelled``, or ``pending_cancel`` until the stream or the reconcile
  settles it) and withdraws every intent not yet sent (``pending_submit`` -> ``cancelled``,
  ``pending_approval`` -> ``declined``, reason "kill switch");
- REDUCING does the same only to the orders and intents that would grow a position (positions
  from the broker), per ``risk.orders_to_cancel``.

Orders caught mid-send (``submitting``, ``unknown``) cannot be cancelled before the broker has
them; they are listed in the report as ``in_flight`` for the caller to cancel once settled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.brokers.base import Broker
from boltztrader.db import accounts as accounts_repo
from boltztrader.db import orders as repo
from boltztrader.db.audit import log_audit
from boltztrader.db.tables import broker_accounts, trading_states
from boltztrader.domain.clock import Clock
from boltztrader.domain.enums import Side, TradingState
from boltztrader.domain.order_states import OrderEvent, OrderStatus
from boltztrader.domain.reports import OrderReport
from boltztrader.errors import InvalidTransition
from boltztrader.orders.apply import apply_report, flag_drift
from boltztrader.risk import OpenOrder, Position, most_restrictive, orders_to_cancel

__all__ = ["GLOBAL_ID", "KillSwitch", "Scope", "SwitchReport"]

log = logging.getLogger(__name__)

S = OrderStatus
GLOBAL_ID = "*"  # the scope id of the one global row
REASON = "kill switch"
_WORKING = frozenset({S.OPEN, S.PARTIALLY_FILLED})
_NOT_SENT = {S.PENDING_SUBMIT: OrderEvent.CANCELLED, S.PENDING_APPROVAL: OrderEvent.DECLINE}
_IN_FLIGHT = frozenset({S.SUBMITTING, S.UNKNOWN})
_Lists = tuple[list[str], list[str], list[str], list[str]]  # cancelled, withdrawn, failed, in flight


class Scope(StrEnum):
    GLOBAL = "global"
    USER = "user"
    ACCOUNT = "account"


@dataclass(frozen=True, slots=True)
class SwitchReport:
    """What a switch did: its level, and the order ids it cancelled, withdrew or could not touch."""

    scope: Scope
    scope_id: str
    state: TradingState
    cancelled: tuple[str, ...] = ()  # asked to cancel at the broker (now cancelled or pending_cancel)
    withdrawn: tuple[str, ...] = ()  # never sent: cancelled / declined here
    failed: tuple[str, ...] = ()  # the broker's cancel failed: the row stays pending_cancel
    in_flight: tuple[str, ...] = ()  # being sent: cancel them once the broker has them


class KillSwitch:
    def __init__(self, engine: AsyncEngine,
                 broker_for_account_id: Callable[[str], Broker] | Mapping[str, Broker], clock: Clock) -> None:
        self._engine = engine
        self._broker_for = (broker_for_account_id.__getitem__ if isinstance(broker_for_account_id, Mapping)
                            else broker_for_account_id)
        self._clock = clock

    async def engage(self, scope: Scope | str, scope_id: str, state: TradingState | str, *, actor: str,
                     reason: str) -> SwitchReport:
        """Set the level of ``scope``/``scope_id`` (ignored for global), then cancel what it forbids."""
        scope, state = Scope(scope), TradingState(state)
        scope_id = GLOBAL_ID if scope is Scope.GLOBAL else scope_id
        if not scope_id:
            raise ValueError(f"a {scope} kill switch needs a scope id")
        now = self._clock.now()
        async with self._engine.begin() as conn:
            chain = await _chain(conn, scope, scope_id)
            previous = await _write_state(conn, scope, scope_id, state, reason=reason, actor=actor, now=now)
            action = "killswitch.released" if state is TradingState.ACTIVE else "killswitch.engaged"
            await log_audit(conn, "trading_state", f"{scope}:{scope_id}", action, actor,
                            {"scope": str(scope), "scope_id": scope_id, "state": str(state),
                             "previous": None if previous is None else str(previous), "reason": reason},
                            chain=chain, now=now)
        report = SwitchReport(scope, scope_id, state)
        if state is TradingState.ACTIVE:
            return report
        return await self._enforce(report, actor=actor)

    async def release(self, scope: Scope | str, scope_id: str, *, actor: str,
                      reason: str = "released") -> SwitchReport:
        """Back to ACTIVE at this level (stricter levels elsewhere still apply)."""
        return await self.engage(scope, scope_id, TradingState.ACTIVE, actor=actor, reason=reason)

    async def effective(self, user_id: str, account_id: str) -> TradingState:
        """The level that governs the account: the strictest of global, user and account."""
        async with self._engine.connect() as conn:
            rows = await accounts_repo.trading_state_rows(conn, user_id=user_id, account_id=account_id)
            await conn.rollback()
        return most_restrictive(*rows.values())

    async def _enforce(self, report: SwitchReport, *, actor: str) -> SwitchReport:
        async with self._engine.connect() as conn:
            rows = [r for r in await repo.non_terminal(conn) if _in_scope(r, report.scope, report.scope_id)]
            await conn.rollback()
        by_account: dict[str, list[repo.OrderRecord]] = {}
        for row in rows:
            by_account.setdefault(row.account_id, []).append(row)
        results = await asyncio.gather(*(
            self._enforce_account(account_id, orders, report.state, actor=actor)
            for account_id, orders in by_account.items()
        ))
        cancelled, withdrawn, failed, in_flight = ([x for r in results for x in r[i]] for i in range(4))
        return SwitchReport(report.scope, report.scope_id, report.state, tuple(cancelled), tuple(withdrawn),
                            tuple(failed), tuple(in_flight))

    async def _enforce_account(self, account_id: str, rows: Sequence[repo.OrderRecord],
                               state: TradingState, *, actor: str) -> _Lists:
        candidates = [r for r in rows if r.status in _WORKING or r.status in _NOT_SENT]
        positions: Mapping[str, Position] = {}
        if state is TradingState.REDUCING and candidates:
            positions = await self._positions(account_id)
        targets = set(orders_to_cancel(state, (_open(r) for r in candidates), positions))
        cancelled: list[str] = []
        withdrawn: list[str] = []
        failed: list[str] = []
        for row in candidates:
            if row.id not in targets:
                continue
            if row.status in _NOT_SENT:
                if await self._withdraw(row, actor=actor):
                    withdrawn.append(row.id)
                continue
            outcome = await self._cancel(row, actor=actor)
            if outcome is S.CANCELLED:
                cancelled.append(row.id)
            elif outcome is not None:
                failed.append(row.id)
        in_flight = [r.id for r in rows if r.status in _IN_FLIGHT]
        return cancelled, withdrawn, failed, in_flight

    async def _positions(self, account_id: str) -> dict[str, Position]:
        reports = await self._broker_for(account_id).get_positions()
        return {p.symbol: Position(p.quantity, p.average_price or Decimal(0), p.average_price or Decimal(0))
                for p in reports}

    async def _withdraw(self, row: repo.OrderRecord, *, actor: str) -> bool:
        """Take back an intent that was never sent; False when it moved on meanwhile (a worker took it)."""
        async with self._engine.begin() as conn:
            try:
                await repo.transition(conn, row.id, _NOT_SENT[row.status], actor=actor, now=self._clock.now(),
                                      detail={"reason": REASON}, reject_reason=REASON)
            except InvalidTransition:
                return False
        return True

    async def _cancel(self, row: repo.OrderRecord, *, actor: str) -> OrderStatus | None:
        """Cancel a working order at its broker and record its answer.

        ``CANCELLED`` once the broker took the cancel (the row is cancelled or pending_cancel),
        ``PENDING_CANCEL`` when the cancel failed and the row waits for the reconcile, None when the
        order had already finished (filled, cancelled) and there was nothing to cancel.
        """
        async with self._engine.begin() as conn:
            try:
                record = await repo.transition(conn, row.id, OrderEvent.CANCEL_REQUESTED, actor=actor,
                                               now=self._clock.now(), detail={"reason": REASON})
            except InvalidTransition:  # it finished since we looked
                return None
        broker = self._broker_for(row.account_id)
        ids = {"broker_order_id": record.broker_order_id, "client_order_id": record.client_order_id}
        try:
            answer = await broker.cancel_order(record.symbol, **ids)
        except Exception as exc:  # e.g. it filled first: look it up; the reconcile settles the rest
            log.warning("kill switch: cancel of order %s failed (%s)", row.id, type(exc).__name__)
            try:
                answer = await broker.get_order(record.symbol, **ids)
            except Exception:
                return S.PENDING_CANCEL
            final = await self._apply(record.id, answer, actor=actor)
            if final is S.CANCELLED or not final.is_terminal:
                return final if final is S.CANCELLED else S.PENDING_CANCEL
            return None
        await self._apply(record.id, answer, actor=actor)
        return S.CANCELLED

    async def _apply(self, order_id: str, report: OrderReport, *, actor: str) -> OrderStatus:
        """Record what the broker says of the order; its status after."""
        async with self._engine.begin() as conn:
            current = await repo.get(conn, order_id)
            try:
                return (await apply_report(conn, current, report, actor=actor, now=self._clock.now())).status
            except InvalidTransition as exc:
                await flag_drift(conn, chain=current.chain, account_id=current.account_id, entity_id=order_id,
                                 reason=str(exc), actor=actor)
                return current.status


def _in_scope(row: repo.OrderRecord, scope: Scope, scope_id: str) -> bool:
    if scope is Scope.GLOBAL:
        return True
    return (row.user_id if scope is Scope.USER else row.account_id) == scope_id


def _open(row: repo.OrderRecord) -> OpenOrder:
    remaining = row.quantity - row.filled_quantity
    return OpenOrder(row.id, row.symbol, Side(row.side), remaining, Decimal(0), row.created_at,
                     in_flight=row.status in _NOT_SENT)


async def _chain(conn: AsyncConnection, scope: Scope, scope_id: str) -> str:
    if scope is Scope.GLOBAL:
        return "global"
    if scope is Scope.USER:
        return f"user:{scope_id}"
    owner = (await conn.execute(
        select(broker_accounts.c.user_id).where(broker_accounts.c.id == scope_id))).scalar_one_or_none()
    if owner is None:
        raise ValueError(f"no account {scope_id}")
    return f"user:{owner}"


async def _write_state(conn: AsyncConnection, scope: Scope, scope_id: str, state: TradingState, *,
                       reason: str, actor: str, now: datetime) -> TradingState | None:
    """Upsert the level; the one it replaces (None when the scope had none)."""
    states = trading_states.c
    previous = (await conn.execute(select(states.state).where(
        states.scope == str(scope), states.scope_id == scope_id))).scalar_one_or_none()
    values = {"scope": str(scope), "scope_id": scope_id, "state": str(state), "reason": reason,
              "updated_at": now, "updated_by": actor}
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await conn.execute(dialect_insert(trading_states).values(values).on_conflict_do_update(
        index_elements=["scope", "scope_id"],
        set_={"state": str(state), "reason": reason, "updated_at": now, "updated_by": actor}))
    return None if previous is None else TradingState(previous)
