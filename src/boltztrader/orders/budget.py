"""A broker's request-weight budget shared by every worker behind one egress IP.

Binance counts request weight per IP per minute (6,000 on spot) and bans an IP that goes over
(418). Every worker behind one address spends from the same budget, so each takes weight in
chunks (``chunk``, 50 by default) from the ``weight_budgets`` row of the current window with one
conditional UPDATE (``used + chunk <= limit``): the row can never pass the limit, whatever the
number of workers. A worker spends its chunk locally; when the window has nothing left it waits
for the next window (the database's clock decides where windows start, so every worker agrees).

Weight left in a worker's chunk at the end of a window is lost rather than carried over: the
budget errs on the side of sending less. The default limit keeps a margin (80 % of 6,000) for the
requests that are not counted here (look-ups, balances, streams' keepalives).

``send_gate(budget)`` is the order manager's hook: it awaits the weight of each Binance order
before the batch is marked ``submitting`` (a worker waiting for weight leaves its rows
``pending_submit``, which a restart simply sends, instead of ``submitting``, which it would have
to resolve).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db import leases as repo
from boltztrader.db.orders import OrderRecord

__all__ = ["DEFAULT_LIMIT", "ORDER_WEIGHT", "SendGate", "SharedBudget", "send_gate"]

DEFAULT_LIMIT = 4800  # Binance spot: 6,000 weight per minute per IP, less a fifth for the rest
ORDER_WEIGHT = 1  # POST /api/v3/order (and the WebSocket API's order.place)
MIN_WAIT = 0.05  # seconds: the clocks of this host and the database need not agree exactly

SendGate = Callable[[Sequence[OrderRecord]], Awaitable[None]]


class SharedBudget:
    """Weight from the shared per-window budget ``key``, taken in chunks and spent locally."""

    def __init__(self, engine: AsyncEngine, *, key: str = "binance", limit: int = DEFAULT_LIMIT,
                 chunk: int = 50, window_seconds: float = 60.0) -> None:
        if limit < 1 or chunk < 1 or window_seconds <= 0:
            raise ValueError("limit, chunk and window must be positive")
        self._engine = engine
        self.key = key
        self.limit = limit
        self.chunk = min(chunk, limit)
        self._window = timedelta(seconds=window_seconds)
        self._lock = asyncio.Lock()
        self._start: datetime | None = None  # the window our local weight belongs to
        self._left = 0
        self._ends = 0.0  # loop time at which that window ends (never later than it really does)
        self.waits = 0  # how often a caller waited for the next window

    def window_of(self, moment: datetime) -> datetime:
        """The start of the window ``moment`` falls in."""
        seconds = self._window.total_seconds()
        return datetime.fromtimestamp(moment.timestamp() // seconds * seconds, UTC)

    async def acquire(self, weight: int = ORDER_WEIGHT) -> datetime:
        """Wait until ``weight`` is ours to spend in the current window; that window's start."""
        if not 0 < weight <= self.limit:
            raise ValueError(f"weight {weight} is not within 1..{self.limit}")
        loop = asyncio.get_running_loop()
        async with self._lock:
            while True:
                if self._start is not None and loop.time() < self._ends and self._left >= weight:
                    self._left -= weight
                    return self._start
                if not await self._top_up(weight):
                    self.waits += 1
                    await asyncio.sleep(max(MIN_WAIT, self._ends - loop.time()))

    async def _top_up(self, weight: int) -> bool:
        """Take a chunk (or just what is missing) from the current window; False when it has neither."""
        loop = asyncio.get_running_loop()
        asked_at = loop.time()
        async with self._engine.begin() as conn:
            now = await repo.db_now(conn)
            start = self.window_of(now)
            if start != self._start:
                self._start, self._left = start, 0
            self._ends = asked_at + (start + self._window - now).total_seconds()
            missing = weight - self._left
            for amount in dict.fromkeys((max(self.chunk, missing), missing)):
                if await repo.take_weight(conn, self.key, start, amount, self.limit) is not None:
                    self._left += amount
                    return True
        return False


def send_gate(budget: SharedBudget, *, broker: str = "binance", weight: int = ORDER_WEIGHT) -> SendGate:
    """The order manager's hook: the weight of every ``broker`` order about to be sent."""
    async def gate(records: Sequence[OrderRecord]) -> None:
        for record in records:
            if record.broker == broker:
                await budget.acquire(weight)

    return gate
