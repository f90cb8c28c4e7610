"""Signal intake: validate, route, size, check risk, and write every order intent before any send.

``Intake.process_signal`` is the one entry point (Python call, ``boltz signal send``, the API):

1. The signal is validated (``InvalidSignal``: nothing written).
2. A signal id seen before answers as before (same content) or is refused (``SignalConflict``).
3. Its targets are resolved (named account, named user, or every subscriber of its model) and each
   target's order is sized from a fresh reference price and checked by the risk guard.
4. One transaction writes the signal, its audit entry, and for every target an order intent
   (``pending_submit``, ``pending_approval`` for semi-manual accounts, or ``denied`` with every
   rule's verdict). Only then is the signal acknowledged; sending is the order manager's job.

A fan-out to thousands of accounts reads what the guard needs of every account (kill-switch
states, limits, open orders, positions) in a few batched queries, and writes its intents, events
and audit entries as a group commit (``orders_repo.insert_intents``, ``log_audit_many``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.brokers.base import Broker
from boltztrader.db import accounts as accounts_repo
from boltztrader.db import orders as orders_repo
from boltztrader.db import positions as positions_repo
from boltztrader.db.audit import Pending, log_audit, log_audit_many
from boltztrader.db.signals import Recorded, record_signal
from boltztrader.db.tables import broker_orders, signals
from boltztrader.domain.clock import Clock
from boltztrader.domain.enums import (
    AccountMode,
    ExecutionMode,
    Market,
    OrderType,
    Product,
    Side,
    TimeInForce,
    TradingState,
)
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.ids import client_order_id, kite_tag, new_id
from boltztrader.domain.instruments import Instrument
from boltztrader.domain.order_states import OrderEvent, OrderStatus
from boltztrader.domain.positions import Holding
from boltztrader.domain.reports import QuoteReport
from boltztrader.domain.signals import InvalidSignal, Signal
from boltztrader.domain.sizing import order_quantity
from boltztrader.domain.targets import AccountRef, Sizing, Target
from boltztrader.errors import BrokerRejected, RateLimited, SignalConflict
from boltztrader.orders.balances import Balances
from boltztrader.risk import (
    AccountState,
    Decision,
    Limits,
    MarketSession,
    OpenOrder,
    OrderContext,
    Position,
    SessionHealth,
    evaluate,
)
from boltztrader.router import Router

BrokerFor = Callable[[AccountRef], Broker]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AccountOutcome:
    """What became of a signal at one account."""

    account_id: str
    order_id: str
    status: OrderStatus
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SignalResult:
    signal_id: str
    replay: bool
    outcomes: tuple[AccountOutcome, ...]

    @property
    def to_submit(self) -> list[str]:
        """The order ids that wait for the order manager."""
        return [o.order_id for o in self.outcomes if o.status is OrderStatus.PENDING_SUBMIT]


# How many targets of one signal are planned at once: each costs a balance request at its broker,
# and a fan-out to thousands of accounts must not queue thousands of requests behind one pool.
PLAN_CONCURRENCY = 64


class _MarketData:
    """Instrument rules and the reference quote of one symbol, fetched once per broker per signal
    (every account of a fan-out shares them) instead of once per account."""

    def __init__(self, symbol: str) -> None:
        self._symbol = symbol
        self._instruments: dict[BrokerName, asyncio.Task[Instrument]] = {}
        self._quotes: dict[BrokerName, asyncio.Task[QuoteReport]] = {}

    async def instrument(self, name: BrokerName, broker: Broker) -> Instrument:
        task = self._instruments.get(name)
        if task is None:
            task = self._instruments[name] = asyncio.ensure_future(
                _read(lambda: broker.instrument_rules(self._symbol)))
        return await asyncio.shield(task)

    async def quote(self, name: BrokerName, broker: Broker) -> QuoteReport:
        task = self._quotes.get(name)
        if task is None:
            task = self._quotes[name] = asyncio.ensure_future(_read(lambda: broker.get_quote(self._symbol)))
        return await asyncio.shield(task)


READ_ATTEMPTS = 3
MAX_READ_WAIT = 3.0  # seconds: a read asked to wait longer fails the signal instead


async def _read(call: Callable[[], Awaitable[T]]) -> T:
    """A market-data read, tried again when the broker asks for a short pause (Kite allows one
    quote a second per app): a read is safe to repeat, unlike an order."""
    for attempt in range(READ_ATTEMPTS):
        try:
            return await call()
        except RateLimited as exc:
            wait = float(exc.retry_after or 1)
            if attempt == READ_ATTEMPTS - 1 or wait > MAX_READ_WAIT:
                raise
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class _Book:
    """What the guard needs of one account from our database, read in batches before planning."""

    states: Mapping[str, TradingState]
    limits: Mapping[str, Mapping[str, Any]]
    open_rows: list[orders_repo.OrderRecord]
    holdings: Mapping[str, Holding]
    last_fill: datetime | None  # when a fill last moved the account's positions
    session_expires_at: datetime | None  # the broker session's end (Kite's daily token)


async def _books(conn: AsyncConnection, accounts: list[AccountRef]) -> dict[str, _Book]:
    ids = [a.account_id for a in accounts]
    states = await accounts_repo.trading_states_for(conn, accounts)
    limits = await accounts_repo.limits_for(conn, accounts)
    open_rows = await orders_repo.non_terminal_for(conn, ids)
    held = await positions_repo.holdings_for(conn, ids)
    moved = await positions_repo.last_moved_for(conn, ids)
    expiry = await accounts_repo.session_expiry_for(conn, ids)
    return {i: _Book(states[i], limits[i], open_rows[i], held[i], moved.get(i), expiry.get(i)) for i in ids}


@dataclass(frozen=True, slots=True)
class _Plan:
    target: Target
    context: OrderContext
    decision: Decision


class Intake:
    def __init__(
        self,
        engine: AsyncEngine,
        router: Router,
        broker_for: BrokerFor,
        clock: Clock,
        *,
        policy: Limits | None = None,
        actor: str = "intake",
        balances: Balances | None = None,
    ) -> None:
        self._engine = engine
        self._router = router
        self._broker_for = broker_for
        self._clock = clock
        self._policy = policy
        self._actor = actor
        self._balances = balances or Balances(clock)
        self._limits_seen: dict[str, Limits] = {}  # stored limits (as JSON) -> Limits; accounts share them

    async def process_signal(self, data: Mapping[str, Any] | Signal, *, source: str = "api") -> SignalResult:
        signal = data if isinstance(data, Signal) else Signal.from_mapping(data)
        async with self._engine.connect() as conn:
            known = await _known(conn, signal)
            if known is not None:
                return known
            targets = await self._targets(conn, signal)
            books = await _books(conn, [t.account for t in targets])
        now = self._clock.now()
        market_data = _MarketData(signal.symbol)
        gate = asyncio.Semaphore(PLAN_CONCURRENCY)

        async def plan(target: Target) -> _Plan:
            async with gate:
                return await self._plan(signal, target, now, books[target.account.account_id],
                                        market_data=market_data)

        plans = await asyncio.gather(*(plan(target) for target in targets))
        async with self._engine.begin() as conn:
            recorded = await record_signal(conn, signal, received_at=now, source=source)
            if recorded is Recorded.REPLAY:  # the same signal won a race with us: answer as it did
                await conn.rollback()
                replay = await _known(conn, signal)
                assert replay is not None
                return replay
            outcomes = await self._write(conn, signal, plans, now)
            # Last: the shared "signals" chain stays locked only for the end of the transaction, so
            # concurrent fan-outs write their intents side by side (each on its users' chains).
            await log_audit(
                conn,
                "signal",
                signal.id,
                "signal.received",
                f"{source}:{signal.model_id}",
                {
                    "symbol": signal.symbol,
                    "market": str(signal.market),
                    "side": str(signal.side),
                    "quantity": signal.quantity,
                    "notional": signal.notional,
                    "confidence": signal.confidence,
                    "targets": len(plans),
                },
                chain="signals",
                now=now,
            )
        return SignalResult(signal.id, False, tuple(outcomes))

    async def _targets(self, conn: AsyncConnection, signal: Signal) -> list[Target]:
        subs = (
            []
            if signal.account_id or signal.user_id
            else await accounts_repo.subscriptions(conn, signal.model_id)
        )
        accounts = await accounts_repo.account_refs(
            conn,
            account_ids=[signal.account_id] if signal.account_id else [],
            user_ids=([signal.user_id] if signal.user_id else []) + [s.user_id for s in subs],
        )
        return self._router.targets(signal, accounts, subs)

    async def _plan(self, signal: Signal, target: Target, now: datetime, book: _Book, *,
                    exclude: str | None = None, market_data: _MarketData | None = None) -> _Plan:
        account = target.account
        broker = self._broker_for(account)
        market_data = market_data or _MarketData(signal.symbol)
        try:
            instrument = await market_data.instrument(account.broker, broker)
        except BrokerRejected:
            raise InvalidSignal(f"unknown symbol {signal.symbol} at {account.broker}", "symbol") from None
        quote = await market_data.quote(account.broker, broker)  # shared by the fan-out: fetched once
        balance = await self._balances.get(account.account_id, broker, not_before=book.last_fill)
        quantity = order_quantity(
            signal,
            target.sizing,
            target.sizing_value,
            reference_price=quote.last,
            equity=balance.equity,
            instrument=instrument,
        )
        states, held = book.states, book.holdings
        open_rows = [r for r in book.open_rows if r.id != exclude]  # ``recheck``: not the intent itself
        limits = self._limits_of(book.limits)
        context = OrderContext.from_signal(
            signal,
            account_id=account.account_id,
            user_id=account.user_id,
            broker=account.broker,
            instrument=instrument,
            quote=quote,
            algo_tag=kite_tag(client_order_id(signal.id, account.account_id)),
            time_in_force=TimeInForce.GTC if signal.market.region.value == "crypto" else TimeInForce.DAY,
        )
        if quantity > 0:
            context = context.with_changes({"quantity": quantity, "notional": None})
        state = AccountState(
            balance=balance,
            start_of_day_equity=balance.equity,
            global_state=states.get("global", TradingState.ACTIVE),
            user_state=states.get("user", TradingState.ACTIVE),
            account_state=states.get("account", TradingState.ACTIVE),
            open_orders=tuple(_open(row, quote) for row in open_rows),
            positions={symbol: Position(h.quantity, h.average_price,
                                        quote.last if symbol == signal.symbol else h.average_price)
                       for symbol, h in held.items() if h.quantity},
            seen_signal_ids=frozenset(r.signal_id for r in open_rows if r.signal_id),
            # Paper brokers keep their own hours (open around the clock unless told otherwise).
            market_session=MarketSession.REGULAR if account.mode is AccountMode.PAPER else None,
            session=SessionHealth(token_expired=book.session_expires_at is not None
                                  and book.session_expires_at <= now),
        )
        return _Plan(target, context, evaluate(context, state, limits, now))

    def _limits_of(self, stored: Mapping[str, Mapping[str, Any]]) -> Limits:
        key = json.dumps(stored, sort_keys=True, default=str)
        limits = self._limits_seen.get(key)
        if limits is None:
            if len(self._limits_seen) > 4096:
                self._limits_seen.clear()
            limits = self._limits_seen[key] = _limits(stored, self._policy)
        return limits

    def _intent(self, signal: Signal, plan: _Plan) -> orders_repo.OrderIntent:
        account, order, decision = plan.target.account, plan.decision.order, plan.decision
        semi = account.execution_mode is ExecutionMode.SEMI_MANUAL
        return orders_repo.OrderIntent(
            id=new_id(),
            user_id=account.user_id,
            account_id=account.account_id,
            client_order_id=client_order_id(signal.id, account.account_id),
            broker=str(account.broker),
            symbol=order.symbol,
            market=str(order.market),
            side=str(order.side),
            order_type=str(order.order_type),
            time_in_force=str(order.time_in_force),
            quantity=order.quantity or Decimal(0),
            mode=str(account.mode),
            signal_id=signal.id,
            price=order.limit_price if order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
            trigger_price=order.trigger_price,
            product=str(Product.CNC) if account.broker.value == "zerodha" else None,
            status=OrderStatus.PENDING_APPROVAL if semi and decision.allowed else OrderStatus.PENDING_SUBMIT,
        )

    async def _write(
        self, conn: AsyncConnection, signal: Signal, plans: list[_Plan], now: datetime
    ) -> list[AccountOutcome]:
        """Every target's intent, its risk decision in the audit and, when denied, the denial:
        as a group commit (a few statements per thousand accounts)."""
        intents = [self._intent(signal, plan) for plan in plans]
        records = await orders_repo.insert_intents(conn, intents, actor=self._actor, now=now)
        await log_audit_many(conn, [
            Pending("order", record.id, "risk.decision", "risk-guard", _decision_payload(plan.decision),
                    chain=record.chain)
            for record, plan in zip(records, plans, strict=True)
        ], now=now)
        denials = [
            orders_repo.Change(record, OrderEvent.DENY,
                               {"reject_reason": ", ".join(str(r) for r in plan.decision.reasons)})
            for record, plan in zip(records, plans, strict=True)
            if not plan.decision.allowed and not record.is_terminal
        ]
        for result in await orders_repo.transition_many(conn, denials, actor="risk-guard", now=now):
            if isinstance(result, Exception):
                raise result
        outcomes = []
        for record, plan in zip(records, plans, strict=True):
            if plan.decision.allowed:
                outcomes.append(AccountOutcome(record.account_id, record.id, record.status))
            else:
                reasons = tuple(str(r) for r in plan.decision.reasons)
                outcomes.append(AccountOutcome(record.account_id, record.id, OrderStatus.DENIED, reasons))
        return outcomes

    # -- approval (semi-manual): a stored intent judged again --------------------------------------

    async def limits_for(self, user_id: str, account_id: str) -> Limits:
        """The limits that govern the account: stored per scope, under the global policy."""
        async with self._engine.connect() as conn:
            stored = await accounts_repo.limit_rows(conn, user_id=user_id, account_id=account_id)
        return _limits(stored, self._policy)

    async def recheck(self, record: orders_repo.OrderRecord, now: datetime) -> Decision:
        """Every check again on a stored intent, with a fresh quote, balance, kill switch and limits.

        The order is the one its signal asked for (a market signal is collared around the fresh
        price again) at the stored quantity, the one the approver saw. Check 3 judges the approval,
        not the signal: the approval TTL bounds how late it may come. The intent itself counts
        neither as an open order nor as a sighting of its signal.
        """
        async with self._engine.connect() as conn:
            refs = await accounts_repo.account_refs(conn, account_ids=[record.account_id])
            row = (await conn.execute(select(signals).where(signals.c.id == record.signal_id))).first()
        if not refs or row is None:
            raise ValueError(f"order {record.id} has no linked account or no signal to judge again")
        signal = Signal(
            id=row.id, model_id=row.model_id, symbol=record.symbol, market=Market(row.market),
            side=Side(record.side), confidence=row.confidence, created_at=now, quantity=record.quantity,
            limit_price=row.limit_price,
        )
        target = Target(refs[0], signal.market, Sizing.SIGNAL)
        async with self._engine.connect() as conn:
            books = await _books(conn, [refs[0]])
        plan = await self._plan(signal, target, now, books[refs[0].account_id], exclude=record.id)
        return plan.decision


def _decision_payload(decision: Decision) -> dict[str, object]:
    verdicts = [
        {
            "rule": str(v.rule),
            "passed": v.passed,
            "reason": None if v.reason is None else str(v.reason),
            "detail": v.detail,
        }
        for v in decision.verdicts
    ]
    return {"allowed": decision.allowed, "reasons": [str(r) for r in decision.reasons], "verdicts": verdicts}


def _limits(stored: Mapping[str, Mapping[str, Any]], policy: Limits | None) -> Limits:
    """The user's stored limits, overridden field by field by the account's, under the global policy."""
    merged = {**stored.get("user", {}), **stored.get("account", {})}
    limits = Limits.from_mapping(merged) if merged else Limits()
    global_policy = Limits.from_mapping(stored["global"]) if "global" in stored else policy
    return limits.tighten(global_policy) if global_policy is not None else limits


def _open(row: orders_repo.OrderRecord, quote: QuoteReport) -> OpenOrder:
    price = row.price or quote.last
    remaining = row.quantity - row.filled_quantity
    return OpenOrder(
        order_id=row.id,
        symbol=row.symbol,
        side=Side(row.side),
        quantity=remaining,
        reserved=remaining * price,
        created_at=row.created_at,
        in_flight=row.status in (OrderStatus.PENDING_SUBMIT, OrderStatus.SUBMITTING, OrderStatus.UNKNOWN),
    )


async def _known(conn: AsyncConnection, signal: Signal) -> SignalResult | None:
    """The earlier result for this signal id, or None when the id is new; SignalConflict on other content."""
    fingerprint = (
        await conn.execute(select(signals.c.fingerprint).where(signals.c.id == signal.id))
    ).scalar()
    if fingerprint is None:
        return None
    if fingerprint != signal.content_fingerprint():
        raise SignalConflict(f"signal {signal.id} was already received with different content")
    rows = await conn.execute(
        select(
            broker_orders.c.account_id,
            broker_orders.c.id,
            broker_orders.c.status,
            broker_orders.c.reject_reason,
        )
        .where(broker_orders.c.signal_id == signal.id)
        .order_by(broker_orders.c.account_id)
    )
    return SignalResult(
        signal.id,
        True,
        tuple(
            AccountOutcome(
                r.account_id,
                r.id,
                OrderStatus(r.status),
                tuple(r.reject_reason.split(", "))
                if r.status == OrderStatus.DENIED and r.reject_reason
                else (),
            )
            for r in rows
        ),
    )
