"""The event bus: "chain X of the audit ledger moved", published in-process, bridged across processes.

The events themselves are the audit ledger's entries: every change of a user's orders, fills,
positions, approvals, accounts and risk appends to the chain ``user:<id>`` in the transaction that
makes the change, with a gapless ``seq``. So the bus carries no payloads, only wake-ups: a
subscriber of a chain learns that something new *may* be there and reads the entries after the last
``seq`` it has (:meth:`Bus.entries`). A missed or repeated wake-up costs nothing but a read; events
are never lost, duplicated or reordered, and every process sees the same stream.

Where the wake-ups come from:

- PostgreSQL: migration 0006's trigger on ``audit_heads`` calls ``pg_notify('boltz_audit', chain)``;
  PostgreSQL delivers it at commit to every listening process. The bus listens on a dedicated
  connection (not one of the engine's pool), checks it every ``KEEPALIVE_SECONDS``, reconnects
  with backoff after a drop, and then wakes every subscriber: notifications sent while it was away
  are lost, the entries are not.
- SQLite (embedded, one process, no NOTIFY): the bus polls the heads of the subscribed chains every
  ``POLL_SECONDS`` and publishes the ones that moved. Nothing is polled while nobody subscribes.

A subscription is an ``asyncio.Event`` underneath, so a slow subscriber holds one flag, not a queue:
wake-ups coalesce. Subscribe *before* reading the backlog and nothing can fall between the two.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db.audit import stream_entries
from boltztrader.db.engine import CONNECT_ERRORS, close_listener, connect_listener, display_url, first_line
from boltztrader.db.events import head_seq, head_seqs
from boltztrader.ledger import AuditEntry

__all__ = ["CHANNEL", "Bus", "Subscription"]

log = logging.getLogger(__name__)

CHANNEL = "boltz_audit"  # migration 0006 notifies on it
APPLICATION_NAME = "boltz-bus"  # how the listener shows in pg_stat_activity
POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
RECONNECT_SECONDS = (0.2, 10.0)  # first and longest wait between attempts to listen again


class Subscription:
    """Wake-ups for one chain: ``await wait()`` (or ``async for _ in subscription``)."""

    def __init__(self, chain: str) -> None:
        self.chain = chain
        self._flag = asyncio.Event()

    def wake(self) -> None:
        self._flag.set()

    async def wait(self, within: float | None = None) -> bool:
        """True once the chain may have moved since the previous wait; False after ``within`` seconds."""
        if not self._flag.is_set():
            try:
                await asyncio.wait_for(self._flag.wait(), within)
            except TimeoutError:
                return False
        self._flag.clear()
        return True

    def __aiter__(self) -> AsyncIterator[None]:
        return self._wakes()

    async def _wakes(self) -> AsyncIterator[None]:
        while True:
            await self.wait()
            yield None


class Bus:
    """Subscriptions to audit chains, woken by PostgreSQL notifications or by polling SQLite.

    ``start()`` is idempotent and ``subscribe`` calls it; ``stop()`` ends the background work for
    good (whoever owns the bus calls it before disposing of the engine).
    """

    def __init__(self, engine: AsyncEngine, *, poll_seconds: float = POLL_SECONDS,
                 keepalive_seconds: float = KEEPALIVE_SECONDS) -> None:
        self._engine = engine
        self._poll_seconds = poll_seconds
        self._keepalive_seconds = keepalive_seconds
        self._subscribers: dict[str, set[Subscription]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        #: Set while wake-ups flow: PostgreSQL listening, or SQLite polled at least once.
        self.live = asyncio.Event()

    @property
    def mode(self) -> str:
        """``"listen"`` (PostgreSQL NOTIFY) or ``"poll"`` (SQLite)."""
        return "listen" if self._engine.dialect.name == "postgresql" else "poll"

    async def start(self) -> None:
        if self._task is None and not self._stopped:
            run = self._listen if self.mode == "listen" else self._poll
            self._task = asyncio.create_task(run(), name=f"bus-{self.mode}")

    async def stop(self) -> None:
        self._stopped = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.live.clear()

    @contextlib.asynccontextmanager
    async def subscribe(self, chain: str) -> AsyncIterator[Subscription]:
        """Wake-ups for ``chain`` while the block runs."""
        await self.start()
        subscription = Subscription(chain)
        self._subscribers.setdefault(chain, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._subscribers.get(chain)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[chain]

    def publish(self, chain: str) -> None:
        """Wake every subscriber of ``chain`` in this process."""
        for subscription in self._subscribers.get(chain, ()):
            subscription.wake()

    def wake_all(self) -> None:
        for chain in list(self._subscribers):
            self.publish(chain)

    def subscriber_count(self, chain: str | None = None) -> int:
        if chain is not None:
            return len(self._subscribers.get(chain, ()))
        return sum(len(s) for s in self._subscribers.values())

    # -- the durable side: the chain itself ------------------------------------------------------

    async def head(self, chain: str) -> int:
        """The ``seq`` of the newest committed entry of ``chain`` (0: none yet)."""
        return await head_seq(self._engine, chain)

    def entries(self, chain: str, *, after_seq: int, batch_size: int = 200) -> AsyncIterator[AuditEntry]:
        """Every committed entry of ``chain`` after ``after_seq``, in seq order, page by page."""
        return stream_entries(self._engine, chain, after_seq=after_seq, batch_size=batch_size)

    # -- SQLite: poll the heads ------------------------------------------------------------------

    async def _poll(self) -> None:
        seen: dict[str, int] = {}
        failing = False
        while True:
            chains = list(self._subscribers)
            if chains:
                try:
                    heads = await head_seqs(self._engine, chains)
                except (SQLAlchemyError, OSError) as exc:
                    if not failing:
                        log.warning("event bus: polling the audit heads failed: %s", first_line(exc))
                    failing = True
                else:
                    failing = False
                    for chain, seq in heads.items():
                        # A chain seen for the first time is published too: cheap, and never late.
                        if seen.get(chain) != seq:
                            seen[chain] = seq
                            self.publish(chain)
                    for chain in [c for c in seen if c not in self._subscribers]:
                        del seen[chain]
            self.live.set()
            await asyncio.sleep(self._poll_seconds)

    # -- PostgreSQL: LISTEN on a dedicated connection ----------------------------------------------

    async def _listen(self) -> None:
        first, longest = RECONNECT_SECONDS
        delay = first
        while True:
            try:
                connection = await self._connect()
            except CONNECT_ERRORS as exc:
                log.warning("event bus: cannot listen on %s (%s); again in %.1fs",
                            display_url(self._engine.url), first_line(exc), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, longest)
                continue
            delay = first
            try:
                await self._serve(connection)
            except (*CONNECT_ERRORS, asyncpg.PostgresError) as exc:
                log.warning("event bus: the listening connection failed: %s", first_line(exc))
            finally:
                self.live.clear()
                await close_listener(connection)
            # Whatever was notified while we were not listening is lost: everyone reads again.
            self.wake_all()
            await asyncio.sleep(delay)

    async def _connect(self) -> Any:
        return await connect_listener(self._engine, APPLICATION_NAME)

    async def _serve(self, connection: Any) -> None:
        """Listen until the connection drops (or stops answering within the keepalive)."""
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        await connection.add_listener(CHANNEL, self._on_notification)
        self.live.set()
        # Commits between the subscribers' reads and this LISTEN notified nobody: read again.
        self.wake_all()
        while True:
            try:
                await asyncio.wait_for(lost.wait(), self._keepalive_seconds)
                break
            except TimeoutError:  # quiet for a while: make sure the connection still answers
                await asyncio.wait_for(connection.fetchval("SELECT 1"), self._keepalive_seconds)
        log.warning("event bus: the listening connection was closed; listening again")

    def _on_notification(self, _connection: object, _pid: int, _channel: str, chain: str) -> None:
        self.publish(chain)

