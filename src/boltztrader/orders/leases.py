"""Account leases: which worker trades which account, so that several processes share one database.

A ``LeaseKeeper`` runs in each ``boltz worker``. Every ``ttl / 3`` seconds (one *tick*) it:

1. heartbeats its ``workers`` row and renews its leases (only those still its own at the epoch it
   knows: a lease that another worker took over, or whose account was unlinked, is *lost*);
2. counts the live workers (heartbeat within ``ttl``) and the linked accounts, and claims free or
   expired leases up to its fair share, ``ceil(accounts / live workers)`` (``SKIP LOCKED``: two
   workers claiming at once split the free leases and never wait on each other);
3. releases the leases above its fair share when more workers have arrived (graceful rebalancing:
   its work on those accounts stops first, then the lease is freed, and the next claimer takes it
   without waiting for the TTL).

``on_gained(account_ids)`` and ``on_lost(account_ids)`` run in the order the changes happened, one
at a time, off the tick (a slow callback never delays a renewal). ``owns(account_id)`` is the
ownership gate of the execution: it turns false *at once* when a lease is lost or released, and by
itself when renewals have failed for longer than the lease can last (a worker cut off from the
database stops sending before anyone else may take its accounts over).

A killed worker renews nothing: its leases expire after ``ttl`` and the others claim them; their
``on_gained`` reconciles each account (``Reconciler.startup``) before anything is sent for it.

The lease only fences what is decided after it: an order marked ``submitting`` under a valid lease
is sent even if the lease is lost during the send (the order manager's claim checks the lease in
the same transaction as ``submitting``: ``db.leases.claim_orders``), and the new owner resolves
it by look-up, never by resending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.db import leases as repo
from boltztrader.db.orders import OrderRecord

__all__ = ["DEFAULT_TTL", "LeaseCallback", "LeaseKeeper", "new_worker_id"]

log = logging.getLogger(__name__)

DEFAULT_TTL = 10.0
LeaseCallback = Callable[[list[str]], Awaitable[None]]
# The local deadline of a lease ends this share of the TTL early: the database's clock, ours, and
# the time a renewal spent in flight need not agree to the millisecond.
SAFETY = 0.15


def new_worker_id() -> str:
    return uuid.uuid4().hex[:16]


async def _nothing(_account_ids: list[str]) -> None:
    return None


class LeaseKeeper:
    """Holds this worker's fair share of account leases, renewing them while it runs."""

    def __init__(self, engine: AsyncEngine, *, ttl: float = DEFAULT_TTL, worker_id: str | None = None,
                 label: str | None = None, on_gained: LeaseCallback | None = None,
                 on_lost: LeaseCallback | None = None) -> None:
        if ttl <= 0:
            raise ValueError("the lease TTL must be positive")
        self._engine = engine
        self.ttl = ttl
        self.worker_id = worker_id or new_worker_id()
        self.label = label or f"{socket.gethostname()}:{os.getpid()}"
        self.on_gained: LeaseCallback = on_gained or _nothing
        self.on_lost: LeaseCallback = on_lost or _nothing
        self._held: dict[str, int] = {}  # account id -> epoch
        self._valid_until = 0.0  # loop time until which the held leases certainly last
        self._loop_task: asyncio.Task[None] | None = None
        self._events: asyncio.Queue[tuple[str, list[str]]] = asyncio.Queue()
        self._runner: asyncio.Task[None] | None = None
        self._tick_lock = asyncio.Lock()
        self._stopped = False

    # -- the gate ----------------------------------------------------------------------------------

    def owns(self, account_id: str) -> bool:
        """True while this worker holds the account's lease and it has certainly not expired."""
        return account_id in self._held and asyncio.get_running_loop().time() < self._valid_until

    def owned(self) -> frozenset[str]:
        """The accounts whose lease this worker holds (as of its last tick)."""
        return frozenset(self._held)

    def epoch(self, account_id: str) -> int | None:
        return self._held.get(account_id)

    async def claim_orders(self, conn: AsyncConnection, order_ids: Sequence[str]) -> dict[str, OrderRecord]:
        """The order manager's ``claim`` hook: the rows of accounts whose lease this worker holds,
        skipping rows another transaction has locked, with the leases fenced until commit."""
        return await repo.claim_orders(conn, order_ids, self.worker_id)

    @property
    def interval(self) -> float:
        return self.ttl / 3

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self, *, run: bool = True) -> None:
        """Register, take a first share of leases, and (``run``) keep ticking in the background."""
        self._stopped = False
        if self._runner is None:
            self._runner = asyncio.create_task(self._run_callbacks(), name=f"leases {self.worker_id} calls")
        await self.tick()
        if run and self._loop_task is None:
            self._loop_task = asyncio.create_task(self._every_tick(), name=f"leases {self.worker_id}")

    async def stop(self, *, release: bool = True) -> None:
        """Stop ticking; with ``release``, stop the work on every account and free its lease at once
        (others take over without waiting for the TTL) and unregister; without, just go silent as a
        killed worker would (the leases expire after the TTL)."""
        self._stopped = True
        task, self._loop_task = self._loop_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with self._tick_lock:
            mine = sorted(self._held)
            self._held.clear()
            self._valid_until = 0.0
        if release:
            if mine and self._runner is not None:
                self._events.put_nowait(("lost", mine))
            await self.settled()
            try:
                async with self._engine.begin() as conn:
                    now = await repo.db_now(conn)
                    await repo.release(conn, self.worker_id, None, now)  # any claim not yet seen too
                    await repo.remove_worker(conn, self.worker_id)
            except Exception as exc:  # the leases then expire after the TTL instead
                log.warning("worker %s: releasing its leases failed (%s)", self.worker_id, type(exc).__name__)
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    async def settled(self) -> None:
        """Wait until every callback queued so far has run."""
        await self._events.join()

    # -- one tick ----------------------------------------------------------------------------------

    async def tick(self) -> None:
        """Heartbeat, renew, claim up to the fair share, release above it (public: tests step it)."""
        async with self._tick_lock:
            if self._stopped:
                return
            loop = asyncio.get_running_loop()
            started = loop.time()
            ttl = timedelta(seconds=self.ttl)
            async with self._engine.begin() as conn:
                now = await repo.db_now(conn)
                await repo.heartbeat(conn, self.worker_id, self.label, now)
                kept = await repo.renew(conn, self.worker_id, self._held, now + ttl)
                live = max(1, await repo.live_workers(conn, now, ttl))
                await repo.ensure_leases(conn, now)
                share = math.ceil(await repo.linked_accounts(conn) / live)
                gained = await repo.claim(conn, self.worker_id, share - len(kept), now, now + ttl)
            lost = sorted(set(self._held) - set(kept))
            excess = sorted(kept)[share:] if len(kept) > share else []
            self._held = {a: e for a, e in {**kept, **gained}.items() if a not in excess}
            self._valid_until = started + self.ttl * (1 - SAFETY)
            if lost:
                log.warning("worker %s lost the leases of %d accounts", self.worker_id, len(lost))
                self._events.put_nowait(("lost", lost))
            if excess:
                self._events.put_nowait(("release", excess))
            if gained:
                self._events.put_nowait(("gained", sorted(gained)))

    async def _every_tick(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: owns() lapses by itself at the deadline
                log.warning("worker %s: lease tick failed (%s)", self.worker_id, type(exc).__name__)
                if asyncio.get_running_loop().time() >= self._valid_until and self._held:
                    lapsed, self._held = sorted(self._held), {}
                    self._events.put_nowait(("lost", lapsed))

    async def _run_callbacks(self) -> None:
        while True:
            kind, account_ids = await self._events.get()
            try:
                if kind == "gained":
                    await self.on_gained(account_ids)
                else:
                    await self.on_lost(account_ids)
                    if kind == "release":
                        await self._release(account_ids)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("worker %s: lease callback %s failed (%s)", self.worker_id, kind,
                            type(exc).__name__)
            finally:
                self._events.task_done()

    async def _release(self, account_ids: Sequence[str]) -> None:
        async with self._engine.begin() as conn:
            now = await repo.db_now(conn)
            await repo.release(conn, self.worker_id, account_ids, now)

    def __repr__(self) -> str:
        return f"LeaseKeeper({self.worker_id}, {len(self._held)} leases)"
