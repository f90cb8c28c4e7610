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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
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
from boltztrader.orders.reconcile import Reconciler

__all__ = ["Accounts", "Execution", "ExecutionPolicy", "PostbackReader"]

log = logging.getLogger(__name__)


class Accounts(Protocol):
    """The linked accounts and their brokers (the wiring's broker directory)."""

    def __getitem__(self, account_id: str) -> Broker: ...

    def __iter__(self) -> Iterator[str]: ...

    def __len__(self) -> int: ...

    def owner(self, account_id: str) -> str: ...


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


class Execution:
    def __init__(self, engine: AsyncEngine, accounts: Accounts, clock: Clock, *, intake: Intake,
                 manager: OrderManager, reconciler: Reconciler, approvals: Approvals, balances: Balances,
                 policy: ExecutionPolicy | None = None) -> None:
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
        self._in_flight: set[str] = set()
        self._stopping = False

    # -- signals -----------------------------------------------------------------------------------

    async def handle_signal(self, data: Mapping[str, Any] | Signal, *, source: str = "api",
                            wait: bool = False) -> SignalResult:
        """Write the signal and its intents (the acknowledgement), then send them: in the
        background, or before returning when ``wait``."""
        result = await self.intake.process_signal(data, source=source)
        if result.to_submit:
            if wait:
                await self._submit(result.to_submit)
            else:
                self._spawn(self._submit(result.to_submit), f"submit {result.signal_id}")
        return result

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
        self._spawn(self._start_accounts(list(self._accounts)), "start-up reconciliation")
        p = self._policy
        for interval, work, name in (
            (p.dispatch_interval, self.dispatch, "dispatch"),
            (p.approvals_interval, self._expire_approvals, "approvals"),
            (p.sweep_interval, self.sweep_all, "reconcile"),
            (p.positions_interval, self.check_positions, "positions"),
            (p.balances_interval if self._balances.max_age.total_seconds() > 0 else 0, self.sync_balances,
             "balances"),
        ):
            if interval > 0:
                self._spawn(self._every(interval, work, name), name)

    async def account_added(self, account_id: str) -> None:
        """A newly linked account: reconcile it (there is nothing yet, so this is quick) and listen."""
        self._spawn(self._start_accounts([account_id]), f"start {account_id}")

    async def account_removed(self, account_id: str) -> None:
        task = self._streams.pop(account_id, None)
        if task is not None:
            task.cancel()

    async def stop(self) -> None:
        """Stop the passes and streams; sends in flight finish (or are recorded unknown if cancelled)."""
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._streams.clear()

    # -- passes (public: tests and operators run them directly) ---------------------------------------

    async def dispatch(self) -> int:
        """Send every ``pending_submit`` row of a ready account that no send of ours is handling."""
        async with self._engine.connect() as conn:
            rows = await repo.non_terminal(conn, statuses=[OrderStatus.PENDING_SUBMIT])
            await conn.rollback()
        ids = [r.id for r in rows if r.id not in self._in_flight]
        await self._submit(ids)
        return len(ids)

    async def sweep_all(self) -> None:
        """One continuous reconciliation pass over every ready account."""
        await self._each_ready(self.reconciler.sweep)

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
                 and self.reconciler.is_ready(r.account_id) and i not in self._in_flight]
        self._in_flight.update(ready)
        try:
            await self.manager.submit_many(ready)
        finally:
            self._in_flight.difference_update(ready)

    async def _start_accounts(self, account_ids: list[str]) -> None:
        gate = asyncio.Semaphore(self._policy.startup_concurrency)

        async def one(account_id: str) -> None:
            async with gate:
                try:
                    await self.reconciler.startup(account_id)
                except Exception as exc:  # the account stays not ready; the next pass tries again
                    log.warning("account %s: start-up reconciliation failed (%s)", account_id,
                                type(exc).__name__)
                    return
            if self._policy.streams:
                self._listen(account_id)

        await asyncio.gather(*(one(a) for a in account_ids))

    def _listen(self, account_id: str) -> None:
        if account_id in self._streams or self._stopping:
            return

        async def consume() -> None:
            while not self._stopping:
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

    async def _each_ready(self, work: Callable[[str], Awaitable[object]]) -> None:
        gate = asyncio.Semaphore(self._policy.sweep_concurrency)

        async def one(account_id: str) -> None:
            async with gate:
                with contextlib.suppress(Exception):
                    await work(account_id)

        await asyncio.gather(*(one(a) for a in list(self._accounts) if self.reconciler.is_ready(a)))

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
