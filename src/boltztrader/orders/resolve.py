"""Resolve an order whose send has no known outcome (``unknown``; ``submitting`` after a crash).

Never by resending: by looking the order up with our client order id (Binance
``origClientOrderId``, Alpaca ``by_client_order_id``, Kite's order book by tag: the adapters do it),
with backoff while the broker is unavailable. Found: the row takes the broker's status and fills.
Not found: it may still be in flight, so we keep looking until the broker's acceptance window
(counted from the row's last write, which is after the send) has passed; then the order is proved
absent and becomes ``rejected`` ("absent at broker after acceptance window").

reliability.md allows one resend with the same client id after proof of absence; we do not take
it. Proof of absence at a broker that only rejects duplicates while an order is open (Binance) is
as strong as its look-up, and an intent that ends ``rejected`` is visible and can be re-signalled,
while two orders cannot be taken back. A status change by anyone else (a stream event) ends the
look-ups at the next iteration, since each iteration reads the row first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.brokers.base import Broker
from boltztrader.db import orders as repo
from boltztrader.domain.clock import Clock
from boltztrader.domain.order_states import OrderEvent, OrderStatus
from boltztrader.errors import (
    BrokerAuthError,
    BrokerProtocolError,
    BrokerUnavailable,
    InvalidTransition,
    OrderNotFound,
    OutcomeUnknown,
    RateLimited,
)
from boltztrader.orders.apply import apply_report, flag_drift

__all__ = ["ABSENT_REASON", "ResolvePolicy", "Resolver"]

log = logging.getLogger(__name__)

ABSENT_REASON = "absent at broker after acceptance window"
_UNSETTLED = frozenset({OrderStatus.SUBMITTING, OrderStatus.UNKNOWN})
_RETRYABLE = (BrokerUnavailable, OutcomeUnknown, BrokerProtocolError, OSError, TimeoutError)


@dataclass(frozen=True, slots=True)
class ResolvePolicy:
    """How long a broker may take to show an order it accepted, and how look-ups back off."""

    acceptance_window: timedelta = timedelta(seconds=10)
    backoff_initial: float = 0.2
    backoff_max: float = 5.0
    give_up_after: float = 300.0  # seconds of look-ups before leaving the order to the next reconcile


class Resolver:
    """Looks unknown orders up at their broker until their outcome is certain."""

    def __init__(self, engine: AsyncEngine, brokers: Mapping[str, Broker], clock: Clock, *,
                 policy: ResolvePolicy | None = None, actor: str = "resolver") -> None:
        self._engine = engine
        self._brokers = brokers
        self._clock = clock
        self._policy = policy or ResolvePolicy()
        self._actor = actor

    async def resolve(self, order_id: str, *, give_up_after: float | None = None) -> repo.OrderRecord:
        """Look the order up until it is settled; return its row (still ``unknown`` only after
        ``give_up_after`` seconds, 0 for a single look-up, or when the account needs a new login)."""
        policy = self._policy
        loop = asyncio.get_running_loop()
        stop_at = loop.time() + (policy.give_up_after if give_up_after is None else give_up_after)
        delay = policy.backoff_initial
        while True:
            async with self._engine.begin() as conn:
                record = await repo.get(conn, order_id)
                if record.status is OrderStatus.SUBMITTING:
                    # Only start-up hands us these: the process died between marking and recording.
                    record = await repo.transition(conn, order_id, OrderEvent.OUTCOME_UNKNOWN,
                                                   actor=self._actor, current=record, now=self._clock.now(),
                                                   detail={"reason": "found submitting at start-up"})
            if record.status not in _UNSETTLED:
                return record
            wait = await self._attempt(record)
            if wait is None:
                continue  # settled (or moved by someone else): the next read returns it
            if wait < 0 or loop.time() + wait > stop_at:
                return record
            await asyncio.sleep(wait if wait else delay)
            delay = min(delay * 2, policy.backoff_max)

    async def _attempt(self, record: repo.OrderRecord) -> float | None:
        """One look-up: None when the row was settled, -1 to stop, else seconds to wait (0: backoff)."""
        broker = self._brokers[record.account_id]
        window_end = record.updated_at + self._policy.acceptance_window
        asked_at = self._clock.now()
        try:
            report = await broker.get_order(record.symbol, client_order_id=record.client_order_id)
        except OrderNotFound:
            if asked_at < window_end:
                return 0
            await self._settle_absent(record)
            return None
        except RateLimited as exc:
            return float(exc.retry_after or 0) or 0
        except BrokerAuthError:
            log.warning("order %s stays unknown: account %s needs a new login", record.id, record.account_id)
            return -1
        except _RETRYABLE as exc:
            log.info("look-up of order %s failed (%s); retrying", record.id, type(exc).__name__)
            return 0
        async with self._engine.begin() as conn:
            current = await repo.get(conn, record.id)
            try:
                await apply_report(conn, current, report, actor=self._actor, now=self._clock.now(),
                                   resolving=True)
            except InvalidTransition as exc:
                await flag_drift(conn, chain=current.chain, account_id=current.account_id,
                                 entity_id=current.id, reason=str(exc), actor=self._actor,
                                 detail={"broker_status": report.raw_status})
                return -1
        return None

    async def _settle_absent(self, record: repo.OrderRecord) -> None:
        async with self._engine.begin() as conn:
            current = await repo.get(conn, record.id)
            if current.status is not OrderStatus.UNKNOWN or current.version != record.version:
                return  # something moved it while we asked: the next read decides
            await repo.transition(conn, record.id, OrderEvent.RESOLVED_NOT_FOUND, actor=self._actor,
                                  current=current, now=self._clock.now(), reject_reason=ABSENT_REASON)
