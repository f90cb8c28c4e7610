"""The running pipeline: signals in, orders out, and the background work that keeps rows true.

``Execution`` owns what a service process runs around the intake and the order manager:

- ``handle_signal``: the intake writes the signal and every intent (that is the acknowledgement);
  the sends then go out in the background (``wait=True`` waits for them, as the CLI does);
- start-up: every account is reconciled (``Reconciler.startup``) before it sends anything new;
  intents for an account that is not ready yet stay ``pending_submit`` until it is;
- one stream consumer per account (``Ingestor``), restarted when the stream ends;
- periodic passes: stray ``pending_submit`` rows sent, approvals past their TTL declined, each
  account's open orders reconciled, positions compared with the broker's, balances refreshed;
- Kite postbacks applied like stream events once their checksum is verified.

Nothing here decides anything the lower parts do not: a crash at any point leaves rows that the
next start-up reconciles.

Several processes (``boltz serve --api-only`` and ``boltz worker``s on one PostgreSQL): ``owns``
is the ownership gate, "does this process trade this account now", asked by dispatch, submission,
streams and the periodic passes. The default owns every account (one process does everything).
In a worker it is its ``LeaseKeeper``'s: ``accounts_gained`` reconciles an account before anything
is sent for it, ``accounts_lost`` stops its streams and start-up at once and waits (briefly) for
sends in flight. In an API-only service it owns nothing: ``handle_signal`` writes the signal and
its intents (the outbox) and wakes the owning workers through ``outbox``; ``wake`` is the
workers' side (their dispatch runs at once for the woken accounts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.brokers.base import Broker
from boltztrader.db import orders as repo
from boltztrader.domain.clock import Clock
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import OrderUpdate
from boltztrader.domain.signals import Signal
from boltztrader.errors import AccountError, AccountNotFound
from boltztrader.orders.approvals import Approvals
from boltztrader.orders.balances import Balances
from boltztrader.orders.ingest import Ingestor
from boltztrader.orders.intake import Intake, SignalResult
from boltztrader.orders.manager import OrderManager
from boltztrader.orders.positions import reconcile_positions
from boltztrader.orders.reconcile import WORKING, Reconciler

__all__ = ["Accounts", "Execution", "ExecutionPolicy", "Notifier", "PostbackReader"]

log = logging.getLogger(__name__)


class Accounts(Protocol):
    """The linked accounts and their brokers (the wiring's broker directory)."""

    def __getitem__(self, account_id: str) -> Broker: ...

    def __iter__(self) -> Iterator[str]: ...

    def __len__(self) -> int: ...

    def owner(self, account_id: str) -> str: ...


class Notifier(Protocol):
    """Wakes whoever sends for the given accounts (``orders.outbox.Outbox``)."""

    async def notify(self, account_ids: Iterable[str]) -> None: ...


def _everything(_account_id: str) -> bool:
    return True


class PostbackReader(Protocol):
    """A broker that turns a pushed HTTP body into an order update after checking it (Kite)."""

    def postback_update(self, body: bytes) -> OrderUpdate: ...


@dataclass(frozen=True, slots=True)
class ExecutionPolicy:
    """How often each background pass runs, in seconds (0 switches a pass off)."""

    dispatch_interval: float = 2.0
    approvals_interval: float = 5.0
    sweep_interval: float = 30.0
    positions_interval: float = 300.0
    balances_interval: float = 30.0
    startup_concurrency: int = 16
    sweep_concurrency: int = 16
    streams: bool = True
    drain_seconds: float = 10.0  # how long a lost account's sends in flight are waited for
    full_sweep_every: int = 10  # every tenth reconcile pass covers every account, quiet ones too
    restart_interval: float = 10.0  # start-up reconciliation again for accounts whose start-up failed
    restart_max: float = 300.0  # ... backing off to this for an account that keeps failing
    wake_batch_seconds: float = 0.01  # wake-ups arriving this close together are dispatched together
    orphan_after: float = 60.0  # a `submitting` row no send of ours handles, this old, is looked up


class Execution:
    def __init__(self, engine: AsyncEngine, accounts: Accounts, clock: Clock, *, intake: Intake,
                 manager: OrderManager, reconciler: Reconciler, approvals: Approvals, balances: Balances,
                 policy: ExecutionPolicy | None = None, owns: Callable[[str], bool] | None = None,
                 outbox: Notifier | None = None) -> None:
        self._engine = engine
        self._accounts = accounts
        self._clock = clock
        self.intake = intake
        self.manager = manager
        self.reconciler = reconciler
        self.approvals = approvals
        self._balances = balances
        self._policy = policy or ExecutionPolicy()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._streams: dict[str, asyncio.Task[None]] = {}
        self._in_flight: dict[str, str] = {}  # order id -> account id, while a send of ours handles it
        self._stopping = False
        self._owns = owns or _everything
        self._outbox = outbox
        self._stale: set[str] = set()  # lost since their last start-up: not ready until the next one
        self._generation: dict[str, int] = {}  # bumped on every loss: a start-up of an older one is void
        self._startups: dict[str, asyncio.Task[Any]] = {}
        self._woken: set[str] = set()
        self._sweeps = 0  # reconcile passes run (every ``full_sweep_every``-th is full)
        self._retry: dict[str, tuple[float, int]] = {}  # failed start-up: (next try, failures so far)
        self._wake_all = False
        self._wakeup = asyncio.Event()
        self._landed = asyncio.Event()  # set whenever sends of ours finish

    # -- signals -----------------------------------------------------------------------------------

    async def handle_signal(self, data: Mapping[str, Any] | Signal, *, source: str = "api",
                            wait: bool = False) -> SignalResult:
        """Write the signal and its intents (the acknowledgement), then send them: in the
        background, or before returning when ``wait``."""
        result = await self.intake.process_signal(data, source=source)
        if result.to_submit:
            if self._outbox is not None:
                waiting = (o.account_id for o in result.outcomes if o.status is OrderStatus.PENDING_SUBMIT)
                await self._notify({a for a in waiting if not self._owns(a)})
            if wait:
                await self._submit(result.to_submit)
            else:
                self._spawn(self._submit(result.to_submit), f"submit {result.signal_id}")
        return result

    def owns(self, account_id: str) -> bool:
        """True when this process trades the account now (every account, unless leases decide)."""
        return self._owns(account_id)

    def is_ready(self, account_id: str) -> bool:
        """Owned, and reconciled since this process last gained it: its intents may be sent."""
        return (self._owns(account_id) and account_id not in self._stale
                and self.reconciler.is_ready(account_id))

    def listening(self) -> frozenset[str]:
        """The accounts whose stream this process consumes now."""
        return frozenset(a for a, task in self._streams.items() if not task.done())

    def wake(self, account_ids: Sequence[str] | None) -> None:
        """Dispatch the ``pending_submit`` rows of these accounts (None: of every account) now."""
        if account_ids is None:
            self._wake_all = True
        else:
            self._woken.update(a for a in account_ids if self._owns(a))
        if self._wake_all or self._woken:
            self._wakeup.set()

    async def _notify(self, account_ids: set[str]) -> None:
        assert self._outbox is not None
        try:
            await self._outbox.notify(account_ids)
        except Exception as exc:  # the intents are committed: the workers' periodic dispatch sends them
            log.warning("outbox: waking the workers failed (%s)", type(exc).__name__)

    async def postback(self, account_id: str, body: bytes) -> None:
        """Apply a pushed order update (Kite postback) once its checksum is verified."""
        try:
            broker = self._accounts[account_id]
        except KeyError:
            raise AccountNotFound(f"no linked account {account_id}") from None
        if not hasattr(broker, "postback_update"):
            raise AccountError(f"account {account_id} does not take postbacks")
        reader: PostbackReader = broker  # type: ignore[assignment]
        update = reader.postback_update(body)
        await Ingestor(self._engine, account_id, broker, self._clock, actor="postback").handle(update)

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Reconcile every account (in the background), start the streams and the periodic passes."""
        self._stopping = False
        mine = [a for a in self._accounts if self._owns(a)]
        self._spawn(self._start_accounts(mine), "start-up reconciliation")
        self._spawn(self._dispatch_woken(), "wake-ups")
        p = self._policy
        for interval, work, name in (
            (p.dispatch_interval, self.dispatch, "dispatch"),
            (p.restart_interval, self.start_unready, "start-up retries"),
            (p.approvals_interval, self._expire_approvals, "approvals"),
            (p.sweep_interval, self.sweep_active, "reconcile"),
            (p.positions_interval, self.check_positions, "positions"),
            (p.balances_interval if self._balances.max_age.total_seconds() > 0 else 0, self.sync_balances,
             "balances"),
        ):
            if interval > 0:
                self._spawn(self._every(interval, work, name), name)

    async def account_added(self, account_id: str) -> None:
        """A newly linked account: reconcile it (there is nothing yet, so this is quick) and listen."""
        if self._owns(account_id):
            self._spawn(self._start_accounts([account_id]), f"start {account_id}")

    async def account_removed(self, account_id: str) -> None:
        task = self._streams.pop(account_id, None)
        if task is not None:
            task.cancel()

    async def accounts_gained(self, account_ids: list[str]) -> None:
        """Leases taken: reconcile each account (``Reconciler.startup``) before it sends, then listen."""
        wanted = [a for a in account_ids if a in self._accounts]
        if wanted and not self._stopping:
            self._spawn(self._start_accounts(wanted), f"start {len(wanted)} gained accounts")

    async def accounts_lost(self, account_ids: list[str]) -> None:
        """Leases lost or given up: no new send for these accounts from now on; their streams and
        start-ups stop at once; sends already in flight are waited for (``drain_seconds`` at most)."""
        for account_id in account_ids:
            self._generation[account_id] = self._generation.get(account_id, 0) + 1
            self._stale.add(account_id)
            self._woken.discard(account_id)
            for task in (self._streams.pop(account_id, None), self._startups.pop(account_id, None)):
                if task is not None:
                    task.cancel()
        lost = set(account_ids)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._policy.drain_seconds
        while lost.intersection(self._in_flight.values()) and loop.time() < deadline:
            self._landed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._landed.wait(), deadline - loop.time())

    async def stop(self) -> None:
        """Stop the passes and streams; sends in flight finish (or are recorded unknown if cancelled)."""
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._streams.clear()

    # -- passes (public: tests and operators run them directly) ---------------------------------------

    async def dispatch(self, account_ids: Iterable[str] | None = None) -> int:
        """Send every ``pending_submit`` row (of ``account_ids``, or of any account) of a ready account
        that no send of ours is handling."""
        if self._owns is not _everything:
            # Only the accounts this worker holds (a wake-up names a few: never scan all of them then).
            named = self._accounts if account_ids is None else account_ids
            account_ids = [a for a in named if self._owns(a)]
            if not account_ids:
                return 0  # an API-only service, or a worker without leases yet
        async with self._engine.connect() as conn:
            if account_ids is None:
                rows = await repo.non_terminal(conn, statuses=[OrderStatus.PENDING_SUBMIT])
            else:
                found = await repo.non_terminal_for(conn, sorted(set(account_ids)),
                                                    statuses=[OrderStatus.PENDING_SUBMIT])
                rows = [r for part in found.values() for r in part]
            await conn.rollback()
        ids = [r.id for r in rows if r.id not in self._in_flight and self._owns(r.account_id)]
        await self._submit(ids)
        return len(ids)

    async def sweep_all(self) -> None:
        """One continuous reconciliation pass over every ready account (with its orphaned sends)."""
        await self._each_ready(self._sweep)

    async def sweep_active(self) -> int:
        """The periodic pass: the ready accounts with something in flight (a working, ``unknown`` or
        ``submitting`` row) or no live stream; how many. An account with neither has nothing to
        reconcile that its stream would not report (a foreign order included), and sweeping ten
        thousand of them every 30 s costs a core. Every ``full_sweep_every``-th pass is full."""
        self._sweeps += 1
        if self._sweeps % max(1, self._policy.full_sweep_every) == 0:
            await self.sweep_all()
            return len(self._accounts)
        ready = [a for a in list(self._accounts) if self.is_ready(a)]
        async with self._engine.connect() as conn:
            found = await repo.non_terminal_for(conn, ready, statuses=[*WORKING, OrderStatus.UNKNOWN,
                                                                       OrderStatus.SUBMITTING])
            await conn.rollback()
        live = self.listening()
        wanted = [a for a in ready if found.get(a) or a not in live]
        await self._each_ready(self._sweep, only=wanted)
        return len(wanted)

    async def _sweep(self, account_id: str) -> None:
        await self.reconciler.sweep(account_id)
        await self._resolve_orphans(account_id)

    async def _resolve_orphans(self, account_id: str) -> None:
        """``submitting`` rows that no send of ours is handling and that have not moved for
        ``orphan_after``: the send's outcome was never recorded (the database failed between the send
        and its record), so look them up, as start-up would (never a resend)."""
        cutoff = self._clock.now() - timedelta(seconds=self._policy.orphan_after)
        async with self._engine.connect() as conn:
            rows = await repo.non_terminal(conn, account_id, statuses=[OrderStatus.SUBMITTING])
            await conn.rollback()
        for record in rows:
            if record.id not in self._in_flight and record.updated_at < cutoff and self.is_ready(account_id):
                await self.manager.resolver.resolve(record.id, give_up_after=0)

    async def check_positions(self) -> None:
        """Compare every ready account's positions with its broker's (differences are audited)."""
        async def one(account_id: str) -> None:
            await reconcile_positions(self._engine, user_id=self._accounts.owner(account_id),
                                      account_id=account_id, broker=self._accounts[account_id],
                                      clock=self._clock)
        await self._each_ready(one)

    async def sync_balances(self) -> int:
        """Refresh the kept balance of every account."""
        return await self._balances.refresh((a, self._accounts[a]) for a in list(self._accounts))

    # -- internals -----------------------------------------------------------------------------------

    async def _submit(self, order_ids: list[str]) -> None:
        """Send the intents of linked, ready accounts (the others wait for their start-up reconciliation;
        an unlinked account's intents wait for it to be linked again)."""
        if not order_ids:
            return
        async with self._engine.connect() as conn:
            rows = await repo.get_many(conn, order_ids)
            await conn.rollback()
        linked = set(self._accounts)
        ready = [i for i, r in rows.items() if r.account_id in linked
                 and self.is_ready(r.account_id) and i not in self._in_flight]
        self._in_flight.update((i, rows[i].account_id) for i in ready)
        try:
            await self.manager.submit_many(ready)
        finally:
            for order_id in ready:
                self._in_flight.pop(order_id, None)
            self._landed.set()

    async def _start_accounts(self, account_ids: list[str]) -> None:
        gate = asyncio.Semaphore(self._policy.startup_concurrency)

        async def one(account_id: str) -> None:
            generation = self._generation.get(account_id, 0)
            async with gate:
                # A lease that lapses for a moment (a slow renewal) is not a loss: wait for it, or
                # for the loss itself (the generation moves), rather than leave the account unstarted.
                if not await self._until_owned(account_id, generation):
                    return
                try:
                    await self.reconciler.startup(account_id)
                except Exception as exc:  # the account stays not ready; ``start_unready`` tries again
                    failures = self._retry.get(account_id, (0.0, 0))[1] + 1
                    wait = min(self._policy.restart_interval * 2 ** (failures - 1), self._policy.restart_max)
                    self._retry[account_id] = (asyncio.get_running_loop().time() + wait, failures)
                    log.warning("account %s: start-up reconciliation failed (%s); again in %.1f s",
                                account_id, type(exc).__name__, wait)
                    return
                self._retry.pop(account_id, None)
            if self._generation.get(account_id, 0) != generation:
                return  # lost meanwhile: whoever owns it now reconciles it again
            self._stale.discard(account_id)
            if self._policy.streams:
                self._listen(account_id)
            if self._owns is not _everything:
                # Intents written while the start-up ran (their wake-up found the account not ready):
                # a wake-up, so that the accounts of one takeover are dispatched together.
                self.wake([account_id])

        async def tracked(account_id: str) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._startups[account_id] = task
            try:
                await one(account_id)
            finally:
                if self._startups.get(account_id) is task:
                    del self._startups[account_id]

        await asyncio.gather(*(self._spawn(tracked(a), f"start {a}") for a in account_ids),
                             return_exceptions=True)

    async def _until_owned(self, account_id: str, generation: int) -> bool:
        """Wait while the account's lease is lapsing but not lost; False once it is lost (or we stop)."""
        while not self._owns(account_id):
            if self._stopping or self._generation.get(account_id, 0) != generation:
                return False
            await asyncio.sleep(0.1)
        return self._generation.get(account_id, 0) == generation

    async def start_unready(self) -> int:
        """Start-up reconciliation again for the accounts this process trades that are not ready and
        not starting (a start-up that failed: the broker was down, or the database); how many.

        An account whose start-up keeps failing (a Kite session past its daily expiry, until the user
        logs in again) is retried ever less often, up to every ``restart_max`` seconds."""
        now = asyncio.get_running_loop().time()
        waiting = [a for a in list(self._accounts)
                   if self._owns(a) and not self.is_ready(a) and a not in self._startups
                   and self._retry.get(a, (0.0, 0))[0] <= now]
        if waiting:
            await self._start_accounts(waiting)
        return len(waiting)

    def _listen(self, account_id: str) -> None:
        running = self._streams.get(account_id)
        if (running is not None and not running.done()) or self._stopping or account_id in self._stale:
            return
        generation = self._generation.get(account_id, 0)

        async def consume() -> None:
            # Until the account is lost (``accounts_lost`` also cancels this task at once): a lease
            # lapsing for a moment must not end the stream for good.
            while not self._stopping and self._generation.get(account_id, 0) == generation:
                try:
                    broker = self._accounts[account_id]
                except KeyError:
                    return  # unlinked
                ingestor = Ingestor(self._engine, account_id, broker, self._clock,
                                    on_gap=self.reconciler.sweep)
                try:
                    await ingestor.run()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("account %s: stream ended (%s); reconnecting", account_id, type(exc).__name__)
                await asyncio.sleep(1.0)

        task = self._spawn(consume(), f"stream {account_id}")
        self._streams[account_id] = task

    async def _expire_approvals(self) -> None:
        await self.approvals.expire()

    async def _each_ready(self, work: Callable[[str], Awaitable[object]],
                          only: Iterable[str] | None = None) -> None:
        gate = asyncio.Semaphore(self._policy.sweep_concurrency)

        async def one(account_id: str) -> None:
            async with gate:
                with contextlib.suppress(Exception):
                    await work(account_id)

        accounts = list(self._accounts) if only is None else [a for a in only if a in self._accounts]
        await asyncio.gather(*(one(a) for a in accounts if self.is_ready(a)))

    async def _dispatch_woken(self) -> None:
        """Dispatch the accounts ``wake`` named, as soon as it names them (wake-ups coalesce)."""
        while True:
            await self._wakeup.wait()
            # A fan-out's notifications arrive as a burst, one per account: gather them for a moment
            # so that they go out in a few large batches, not thousands of one-account dispatches.
            await asyncio.sleep(self._policy.wake_batch_seconds)
            self._wakeup.clear()
            everything, self._wake_all = self._wake_all, False
            woken, self._woken = self._woken, set()
            # Not awaited: a send that takes long (an unknown outcome's look-ups) must not hold the
            # next wake-up back; rows already in flight here are skipped by the next dispatch.
            self._spawn(self._dispatch_logged(None if everything else woken), "dispatch woken")

    async def _dispatch_logged(self, account_ids: Iterable[str] | None) -> None:
        try:
            await self.dispatch(account_ids)
        except Exception as exc:  # the periodic dispatch is the safety net
            log.warning("dispatch of woken accounts failed (%s)", type(exc).__name__)

    async def _every(self, interval: float, work: Callable[[], Awaitable[object]], name: str) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s pass failed (%s)", name, type(exc).__name__)

    def _spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
