"""Submitting an order exactly once (reliability.md, "Submitting an order exactly once", steps 3-4).

``submit`` commits ``submitting`` (with its audit entry) before the network call, calls
``place_order`` once, and records one of the outcomes in a second transaction:

- accepted (``OrderAck``): the broker's status, order id and raw status; when the ack already says
  filled, one look-up by broker order id fetches the quantities the ack does not carry;
- rejected (``BrokerRejected``): ``rejected`` with the broker's reason;
- not sent (``ConnectionFailed``, ``RateLimited``, ``BrokerDown``: the broker did nothing): back to
  ``pending_submit``, then the same intent is sent again after a backoff (or ``Retry-After``);
  the same client order id travels every time;
- unknown (``OutcomeUnknown`` and any other exception, cancellation included): ``unknown``, then
  the resolver looks the order up. Never a blind resend.

A stream event can overtake the HTTP answer (Binance sends ``executionReport`` first); the outcome
then finds the row already past ``submitting`` and records only what is news.

``on_step`` (tests only; None in production) is called as ``on_step(point, order_id)`` at the named
points of the submit path (``STEP_POINTS``), so that fault tests can kill or interrupt the process
exactly there (tests/reliability/test_crash.py, test_pipeline_stateful.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

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
    RateLimited,
)
from boltztrader.orders.apply import apply_report, flag_drift
from boltztrader.orders.resolve import Resolver
from boltztrader.risk.trading_state import most_restrictive

__all__ = ["STEP_POINTS", "OrderManager", "StepHook", "SubmitPolicy", "place_order_of"]

log = logging.getLogger(__name__)

E = OrderEvent
S = OrderStatus
_ACK_EVENTS = {S.REJECTED: E.REJECTED, S.CANCELLED: E.CANCELLED, S.EXPIRED: E.EXPIRED}

StepHook = Callable[[str, str], None]
"""``hook(point, order_id)``: a fault-injection seam for tests, called synchronously at each point."""
STEP_POINTS = (
    "submitting",  # ``submitting`` is committed; nothing is sent yet
    "accepted",  # the broker's ack is in hand; its outcome is not recorded yet
    "recorded",  # the ack's outcome is committed; the follow-up look-up of a filled ack has not run
)


@dataclass(frozen=True, slots=True)
class SubmitPolicy:
    """How often an intent that was definitely not sent is tried again, and how far apart."""

    max_send_attempts: int = 5
    backoff_initial: float = 0.2
    backoff_max: float = 5.0
    max_retry_after: float = 60.0


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
                 actor: str = "order-manager", on_step: StepHook | None = None) -> None:
        self._engine = engine
        self._brokers = brokers
        self._clock = clock
        self._policy = policy or SubmitPolicy()
        self._resolver = resolver or Resolver(engine, brokers, clock)
        self._actor = actor
        self._on_step = on_step

    @property
    def resolver(self) -> Resolver:
        return self._resolver

    async def submit(self, order_id: str) -> repo.OrderRecord:
        """Send the intent if it is ``pending_submit``; return its row once the outcome is recorded.

        Returns the row unchanged when it is not ``pending_submit`` (another worker has it, or it
        is settled), and still ``pending_submit`` when every attempt was refused before sending.
        """
        delay = self._policy.backoff_initial
        record = await self._get(order_id)
        for _ in range(self._policy.max_send_attempts):
            started = await self._start(order_id)
            if started is None:
                return await self._get(order_id)
            self._step("submitting", order_id)
            wait = await self._send_once(started)
            if wait is None:
                return await self._get(order_id)
            await asyncio.sleep(wait if wait else delay)
            delay = min(delay * 2, self._policy.backoff_max)
        record = await self._get(order_id)
        log.warning("order %s still not sent after %d attempts", order_id, self._policy.max_send_attempts)
        return record

    async def _get(self, order_id: str) -> repo.OrderRecord:
        async with self._engine.connect() as conn:
            record = await repo.get(conn, order_id)
            await conn.rollback()
        return record

    async def _start(self, order_id: str) -> repo.OrderRecord | None:
        """Commit ``submitting``; None when the row is not ``pending_submit`` (so nothing is sent).

        A kill switch engaged (HALTED) after the intent was written withdraws it here instead: the
        check and the status change share one transaction, so a switch that commits first wins.
        """
        async with self._engine.begin() as conn:
            record = await repo.get(conn, order_id)
            states = await accounts_repo.trading_state_rows(conn, user_id=record.user_id,
                                                            account_id=record.account_id)
            if most_restrictive(*states.values()) is TradingState.HALTED:
                if record.status is OrderStatus.PENDING_SUBMIT:
                    await repo.transition(conn, order_id, E.CANCELLED, actor=self._actor, current=record,
                                          now=self._clock.now(), reject_reason="kill switch: trading halted")
                return None
            try:
                return await repo.transition(conn, order_id, E.SUBMIT_STARTED, actor=self._actor,
                                             current=record, now=self._clock.now())
            except InvalidTransition:
                return None

    async def _send_once(self, record: repo.OrderRecord) -> float | None:
        """One ``place_order`` and its recorded outcome; seconds to wait before the next attempt
        (0: the backoff) when nothing was sent, else None."""
        broker = self._brokers[record.account_id]
        try:
            ack = await broker.place_order(place_order_of(record))
        except BrokerRejected as exc:
            await self._outcome(record.id, E.REJECTED, reject_reason=str(exc)[:1000])
            return None
        except RateLimited as exc:
            await self._outcome(record.id, E.NOT_SENT, detail={"reason": "rate_limited",
                                                                "retry_after": _seconds(exc.retry_after)})
            return min(float(exc.retry_after or 0), self._policy.max_retry_after)
        except BrokerAuthError as exc:
            await self._outcome(record.id, E.NOT_SENT, detail={"reason": "auth", "error": type(exc).__name__})
            log.warning("order %s not sent: account %s needs a new login", record.id, record.account_id)
            return None
        except BrokerUnavailable as exc:
            await self._outcome(record.id, E.NOT_SENT, detail={"reason": type(exc).__name__})
            return 0
        except asyncio.CancelledError:
            await asyncio.shield(self._outcome(record.id, E.OUTCOME_UNKNOWN, detail={"reason": "cancelled"}))
            raise
        except Exception as exc:  # the request may have reached the broker: look it up, never resend
            await self._outcome(record.id, E.OUTCOME_UNKNOWN, detail={"reason": type(exc).__name__})
            await self._resolver.resolve(record.id)
            return None
        self._step("accepted", record.id)
        await self._accepted(record, ack)
        return None

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

    async def _accepted(self, record: repo.OrderRecord, ack: OrderAck) -> None:
        event = _ACK_EVENTS.get(ack.status, E.ACCEPTED)
        await self._outcome(record.id, event, broker_order_id=ack.broker_order_id,
                            broker_status=ack.raw_status)
        self._step("recorded", record.id)
        if ack.status in (S.FILLED, S.PARTIALLY_FILLED):
            await self.refresh(record.id)

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
