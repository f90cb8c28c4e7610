"""Submitting an order exactly once (reliability.md, "Submitting an order exactly once", steps 3-4).

``submit_many`` (and ``submit`` for one order) commits ``submitting`` (with its audit entry)
before the network call, calls ``place_order`` once, and records one of the outcomes:

- accepted (``OrderAck``): the broker's status and order id, and the cumulative fill when the
  answer reports one (Binance, Alpaca); when the ack says filled without quantities, one look-up
  by broker order id fetches them;
- rejected (``BrokerRejected``): ``rejected`` with the broker's reason;
- not sent (``ConnectionFailed``, ``RateLimited``, ``BrokerDown``: the broker did nothing): back to
  ``pending_submit``, then the same intent is sent again after a backoff (or ``Retry-After``);
  the same client order id travels every time;
- unknown (``OutcomeUnknown`` and any other exception, cancellation included): ``unknown``, then
  the resolver looks the order up. Never a blind resend.

Group commit: orders go in batches (``SubmitPolicy.batch_size``, a few batches in flight); each
batch marks all its rows ``submitting`` in one transaction, sends them concurrently, and records
their outcomes in one more. A crash between the two leaves rows ``submitting``, which start-up
reconciliation resolves by look-up exactly as for one order.

A stream event can overtake the HTTP answer (Binance sends ``executionReport`` first); the outcome
then finds the row already past ``submitting`` and records only what is news.

``on_step`` (tests only; None in production) is called as ``on_step(point, order_id)`` at the named
points of the submit path (``STEP_POINTS``), so that fault tests can kill or interrupt the process
exactly there (tests/reliability/test_crash.py, test_pipeline_stateful.py).

Two optional hooks for several workers on one database (both None in a single process):
``claim(conn, order_ids)`` replaces ``lock_many`` where rows are taken to be marked ``submitting``
(a worker's skips rows another transaction holds and rows of accounts whose lease it does not
hold: ``db.leases.claim_orders``); ``gate(rows)`` is awaited before a batch is marked, with the
rows about to be sent (the shared request-weight budget: ``orders.budget.send_gate``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.brokers.base import Broker
from boltztrader.db import accounts as accounts_repo
from boltztrader.db import orders as repo
from boltztrader.domain.clock import Clock
from boltztrader.domain.enums import Market, OrderType, Product, Side, TimeInForce, TradingState
from boltztrader.domain.order_states import OrderEvent, OrderStatus
from boltztrader.domain.reports import OrderAck, PlaceOrder
from boltztrader.errors import (
    BrokerAuthError,
    BrokerRejected,
    BrokerUnavailable,
    InvalidTransition,
    OrderNotFound,
    RateLimited,
)
from boltztrader.orders.apply import apply_report, flag_drift
from boltztrader.orders.resolve import Resolver
from boltztrader.risk.trading_state import most_restrictive

__all__ = ["STEP_POINTS", "Claim", "OrderManager", "SendGate", "StepHook", "SubmitPolicy", "place_order_of"]

log = logging.getLogger(__name__)

E = OrderEvent
S = OrderStatus
_ACK_EVENTS = {S.REJECTED: E.REJECTED, S.CANCELLED: E.CANCELLED, S.EXPIRED: E.EXPIRED}

StepHook = Callable[[str, str], None]
"""``hook(point, order_id)``: a fault-injection seam for tests, called synchronously at each point."""
Claim = Callable[[AsyncConnection, Sequence[str]], Awaitable[dict[str, repo.OrderRecord]]]
"""``claim(conn, order_ids)``: the rows to mark ``submitting``, locked (default ``repo.lock_many``)."""
SendGate = Callable[[Sequence[repo.OrderRecord]], Awaitable[None]]
"""``gate(rows)``: awaited before the rows are marked ``submitting`` (a budget shared by processes)."""
STEP_POINTS = (
    "submitting",  # ``submitting`` is committed; nothing is sent yet
    "accepted",  # the broker's ack is in hand; its outcome is not recorded yet
    "recorded",  # the ack's outcome is committed; the follow-up look-up of a filled ack has not run
)


@dataclass(frozen=True, slots=True)
class SubmitPolicy:
    """How often an intent that was definitely not sent is tried again, and how far apart; how many
    orders share a transaction, and how many such batches are in flight at once."""

    max_send_attempts: int = 5
    backoff_initial: float = 0.2
    backoff_max: float = 5.0
    max_retry_after: float = 60.0
    batch_size: int = 250
    parallel_batches: int = 4


@dataclass(frozen=True, slots=True)
class _Sent:
    """What one send came to, before it is recorded."""

    record: repo.OrderRecord
    event: OrderEvent
    changes: Mapping[str, Any] = field(default_factory=dict)
    detail: dict[str, object] | None = None
    wait: float | None = None  # not sent: seconds before the next attempt (0: the backoff); else None
    ack: OrderAck | None = None
    resolve: bool = False  # the outcome is unknown: look the order up once it is recorded


def place_order_of(record: repo.OrderRecord) -> PlaceOrder:
    """The command to send for a stored intent (same client order id on every attempt)."""
    return PlaceOrder(
        client_order_id=record.client_order_id, symbol=record.symbol, market=Market(record.market),
        side=Side(record.side), order_type=OrderType(record.order_type), quantity=record.quantity,
        limit_price=record.price, trigger_price=record.trigger_price,
        time_in_force=TimeInForce(record.time_in_force),
        product=None if record.product is None else Product(record.product),
    )


class OrderManager:
    """Sends stored intents to their account's broker, exactly once each."""

    def __init__(self, engine: AsyncEngine, brokers: Mapping[str, Broker], clock: Clock, *,
                 policy: SubmitPolicy | None = None, resolver: Resolver | None = None,
                 actor: str = "order-manager", on_step: StepHook | None = None, claim: Claim | None = None,
                 gate: SendGate | None = None) -> None:
        self._engine = engine
        self._brokers = brokers
        self._clock = clock
        self._policy = policy or SubmitPolicy()
        self._resolver = resolver or Resolver(engine, brokers, clock)
        self._actor = actor
        self._on_step = on_step
        self._claim: Claim = claim or repo.lock_many
        self._gate = gate

    @property
    def resolver(self) -> Resolver:
        return self._resolver

    async def submit(self, order_id: str) -> repo.OrderRecord:
        """Send the intent if it is ``pending_submit``; return its row once the outcome is recorded.

        Returns the row unchanged when it is not ``pending_submit`` (another worker has it, or it
        is settled), and still ``pending_submit`` when every attempt was refused before sending.
        """
        return (await self.submit_many([order_id]))[order_id]

    async def submit_many(self, order_ids: Sequence[str]) -> dict[str, repo.OrderRecord]:
        """``submit`` for many intents in batches (group commit); every row once its outcome is recorded."""
        ids = list(dict.fromkeys(order_ids))
        size = max(1, self._policy.batch_size)
        gate = asyncio.Semaphore(max(1, self._policy.parallel_batches))

        async def run(batch: list[str]) -> None:
            async with gate:
                await self._submit_batch(batch)

        await asyncio.gather(*(run(ids[i:i + size]) for i in range(0, len(ids), size)))
        return await self._get_many(ids)

    async def _submit_batch(self, order_ids: list[str]) -> None:
        delay = self._policy.backoff_initial
        pending = order_ids
        for _ in range(self._policy.max_send_attempts):
            if self._gate is not None:
                await self._gate(await self._waiting(pending))
            started = await self._start_many(pending)
            for record in started:
                self._step("submitting", record.id)
            sent = list(await asyncio.gather(*(self._send(record) for record in started)))
            await self._record(sent)
            for outcome in sent:
                if outcome.ack is not None:
                    self._step("recorded", outcome.record.id)
            await asyncio.gather(*(self._follow_up(outcome) for outcome in sent))
            retry = [o for o in sent if o.wait is not None]
            if not retry:
                return
            pending = [o.record.id for o in retry]
            await asyncio.sleep(max(o.wait or delay for o in retry))
            delay = min(delay * 2, self._policy.backoff_max)
        log.warning("%d orders still not sent after %d attempts", len(pending),
                    self._policy.max_send_attempts)

    async def _get(self, order_id: str) -> repo.OrderRecord:
        async with self._engine.connect() as conn:
            record = await repo.get(conn, order_id)
            await conn.rollback()
        return record

    async def _get_many(self, order_ids: list[str]) -> dict[str, repo.OrderRecord]:
        async with self._engine.connect() as conn:
            found = await repo.get_many(conn, order_ids)
            await conn.rollback()
        missing = [i for i in order_ids if i not in found]
        if missing:
            raise OrderNotFound(f"no order {missing[0]}")
        return found

    async def _waiting(self, order_ids: list[str]) -> list[repo.OrderRecord]:
        async with self._engine.connect() as conn:
            found = await repo.get_many(conn, order_ids)
            await conn.rollback()
        return [r for r in found.values() if r.status is S.PENDING_SUBMIT]

    async def _start_many(self, order_ids: list[str]) -> list[repo.OrderRecord]:
        """Commit ``submitting`` for every row that is ``pending_submit``; those rows (only they are sent).

        A kill switch engaged (HALTED) after an intent was written withdraws it here instead: the
        check and the status change share one transaction, so a switch that commits first wins.
        """
        async with self._engine.begin() as conn:
            locked = await self._claim(conn, order_ids)
            waiting = [r for r in locked.values() if r.status is S.PENDING_SUBMIT]
            states = await accounts_repo.trading_states_for(conn, waiting)
            changes = []
            for record in waiting:
                if most_restrictive(*states[record.account_id].values()) is TradingState.HALTED:
                    changes.append(repo.Change(record, E.CANCELLED,
                                               {"reject_reason": "kill switch: trading halted"}))
                else:
                    changes.append(repo.Change(record, E.SUBMIT_STARTED))
            results = await repo.transition_many(conn, changes, actor=self._actor, now=self._clock.now())
        return [r for r in results if isinstance(r, repo.OrderRecord) and r.status is S.SUBMITTING]

    async def _send(self, record: repo.OrderRecord) -> _Sent:
        """One ``place_order``, classified; nothing is written here (``_record`` does it)."""
        broker = self._brokers[record.account_id]
        try:
            ack = await broker.place_order(place_order_of(record))
        except BrokerRejected as exc:
            return _Sent(record, E.REJECTED, {"reject_reason": str(exc)[:1000]})
        except RateLimited as exc:
            wait = min(float(exc.retry_after or 0), self._policy.max_retry_after)
            return _Sent(record, E.NOT_SENT, detail={"reason": "rate_limited",
                                                     "retry_after": _seconds(exc.retry_after)}, wait=wait)
        except BrokerAuthError as exc:
            log.warning("order %s not sent: account %s needs a new login", record.id, record.account_id)
            return _Sent(record, E.NOT_SENT, detail={"reason": "auth", "error": type(exc).__name__})
        except BrokerUnavailable as exc:
            return _Sent(record, E.NOT_SENT, detail={"reason": type(exc).__name__}, wait=0)
        except asyncio.CancelledError:
            await asyncio.shield(self._outcome(record.id, E.OUTCOME_UNKNOWN, detail={"reason": "cancelled"}))
            raise
        except Exception as exc:  # the request may have reached the broker: look it up, never resend
            return _Sent(record, E.OUTCOME_UNKNOWN, detail={"reason": type(exc).__name__}, resolve=True)
        self._step("accepted", record.id)
        return _Sent(record, _ACK_EVENTS.get(ack.status, E.ACCEPTED),
                     {"broker_order_id": ack.broker_order_id, "broker_status": ack.raw_status}, ack=ack)

    async def _record(self, sent: list[_Sent]) -> None:
        """Every outcome of a batch in one transaction, unless a stream event has already settled a row."""
        if not sent:
            return
        async with self._engine.begin() as conn:
            locked = await repo.lock_many(conn, [o.record.id for o in sent])
            changes = []
            for outcome in sent:
                current = locked[outcome.record.id]
                if outcome.event in (E.NOT_SENT, E.OUTCOME_UNKNOWN) and current.status is not S.SUBMITTING:
                    continue
                changes.append(repo.Change(current, outcome.event, outcome.changes, outcome.detail))
                ack = outcome.ack
                if ack is not None and ack.filled_quantity > 0 and outcome.event is E.ACCEPTED:
                    changes.append(repo.Change(current, E.PARTIAL_FILL, {
                        "filled_quantity": ack.filled_quantity, "average_price": ack.average_price,
                        "broker_order_id": ack.broker_order_id, "broker_status": ack.raw_status}))
            results = await repo.transition_many(conn, changes, actor=self._actor, now=self._clock.now())
            for change, result in zip(changes, results, strict=True):
                if isinstance(result, InvalidTransition):
                    current = change.record
                    await flag_drift(conn, chain=current.chain, account_id=current.account_id,
                                     entity_id=current.id, reason=str(result), actor=self._actor)

    async def _follow_up(self, outcome: _Sent) -> None:
        """Look up what the answer left open: an unknown outcome, or a fill without its quantities."""
        if outcome.resolve:
            await self._resolver.resolve(outcome.record.id)
        elif (outcome.ack is not None and outcome.ack.status in (S.FILLED, S.PARTIALLY_FILLED)
              and outcome.ack.filled_quantity == 0):
            await self.refresh(outcome.record.id)

    def _step(self, point: str, order_id: str) -> None:
        if self._on_step is not None:
            self._on_step(point, order_id)

    async def _outcome(self, order_id: str, event: OrderEvent, *, detail: dict[str, object] | None = None,
                       **changes: Any) -> None:
        """Record a send's outcome, unless a stream event has already settled the row."""
        async with self._engine.begin() as conn:
            current = await repo.get(conn, order_id)
            if event in (E.NOT_SENT, E.OUTCOME_UNKNOWN) and current.status is not S.SUBMITTING:
                return
            try:
                await repo.transition(conn, order_id, event, actor=self._actor, current=current,
                                      now=self._clock.now(), detail=detail, **changes)
            except InvalidTransition as exc:
                await flag_drift(conn, chain=current.chain, account_id=current.account_id, entity_id=order_id,
                                 reason=str(exc), actor=self._actor)

    async def refresh(self, order_id: str) -> repo.OrderRecord:
        """Look the order up by broker order id (a read, never a send) and apply what the broker says."""
        record = await self._get(order_id)
        if record.broker_order_id is None:
            return record
        try:
            report = await self._brokers[record.account_id].get_order(
                record.symbol, broker_order_id=record.broker_order_id)
        except Exception as exc:  # the stream or the next reconcile brings the fills instead
            log.info("refresh of order %s failed (%s)", order_id, type(exc).__name__)
            return record
        async with self._engine.begin() as conn:
            current = await repo.get(conn, order_id)
            try:
                return await apply_report(conn, current, report, actor=self._actor, now=self._clock.now())
            except InvalidTransition as exc:
                await flag_drift(conn, chain=current.chain, account_id=current.account_id, entity_id=order_id,
                                 reason=str(exc), actor=self._actor)
                return current


def _seconds(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
