"""The outbox between an API-only service and the workers: ``pending_submit`` rows, and wake-ups.

The outbox *is* the orders table: the intake commits each intent ``pending_submit`` (with its
signal and audit entries) before anything is sent, in every role. What this module adds is the
wake-up, so that a worker need not wait for its periodic dispatch:

- ``Outbox.notify(account_ids)``: after the intake's commit, ``pg_notify('boltz_outbox', account
  id)`` once per account (one statement); PostgreSQL delivers it to every listening worker. A
  notification lost (a crash between the commit and the notify, a listener reconnecting) costs
  only latency: the workers' periodic dispatch sends every ``pending_submit`` row it owns.
- ``OutboxListener``: a worker's own LISTEN connection (not one of the engine's pool), with a
  keepalive and reconnection; it reports each woken account id, and ``None`` ("look at every
  account") whenever it (re)starts listening, since notifications sent meanwhile are lost.
- ``OutboxSubmitter``: what approvals submit through in an API-only service: the approved row is
  ``pending_submit`` already, so submitting it means waking its worker.

SQLite has no NOTIFY: ``notify`` does nothing there and the periodic dispatch carries everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db import orders as repo
from boltztrader.db.engine import CONNECT_ERRORS, close_listener, connect_listener, display_url, first_line

__all__ = ["CHANNEL", "Outbox", "OutboxListener", "OutboxSubmitter"]

log = logging.getLogger(__name__)

CHANNEL = "boltz_outbox"
APPLICATION_NAME = "boltz-outbox"
KEEPALIVE_SECONDS = 15.0
RECONNECT_SECONDS = (0.2, 10.0)


class Outbox:
    """Wakes the workers that own the given accounts (PostgreSQL NOTIFY; nothing on SQLite)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def live(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    async def notify(self, account_ids: Iterable[str]) -> None:
        ids = sorted(set(account_ids))
        if not ids or not self.live:
            return
        async with self._engine.begin() as conn:
            await conn.execute(text("SELECT pg_notify(:channel, a) FROM unnest(CAST(:ids AS text[])) AS a"),
                               {"channel": CHANNEL, "ids": ids})


class OutboxSubmitter:
    """``submit`` for an API-only service: the row waits ``pending_submit``; its worker is woken."""

    def __init__(self, engine: AsyncEngine, outbox: Outbox) -> None:
        self._engine = engine
        self._outbox = outbox

    async def submit(self, order_id: str) -> repo.OrderRecord:
        async with self._engine.connect() as conn:
            record = await repo.get(conn, order_id)
            await conn.rollback()
        try:
            await self._outbox.notify([record.account_id])
        except Exception as exc:  # the workers' periodic dispatch sends it anyway
            log.warning("outbox: waking the worker of account %s failed (%s)", record.account_id,
                        type(exc).__name__)
        return record


class OutboxListener:
    """LISTENs on ``boltz_outbox`` and calls ``on_wake(account_ids)`` (None: every account)."""

    def __init__(self, engine: AsyncEngine, on_wake: Callable[[list[str] | None], None], *,
                 keepalive_seconds: float = KEEPALIVE_SECONDS) -> None:
        self._engine = engine
        self._on_wake = on_wake
        self._keepalive = keepalive_seconds
        self._task: asyncio.Task[None] | None = None
        #: Set while notifications flow.
        self.live = asyncio.Event()

    async def start(self) -> None:
        if self._task is None and self._engine.dialect.name == "postgresql":
            self._task = asyncio.create_task(self._listen(), name="outbox-listen")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.live.clear()

    async def _listen(self) -> None:
        first, longest = RECONNECT_SECONDS
        delay = first
        while True:
            try:
                connection = await self._connect()
            except CONNECT_ERRORS as exc:
                log.warning("outbox: cannot listen on %s (%s); again in %.1fs", display_url(self._engine.url),
                            first_line(exc), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, longest)
                continue
            delay = first
            try:
                await self._serve(connection)
            except (*CONNECT_ERRORS, asyncpg.PostgresError) as exc:
                log.warning("outbox: the listening connection failed: %s", first_line(exc))
            finally:
                self.live.clear()
                await close_listener(connection)
            await asyncio.sleep(delay)

    async def _connect(self) -> Any:
        return await connect_listener(self._engine, APPLICATION_NAME)

    async def _serve(self, connection: Any) -> None:
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        await connection.add_listener(CHANNEL, self._on_notification)
        self.live.set()
        self._on_wake(None)  # whatever was notified before this LISTEN reached nobody
        while True:
            try:
                await asyncio.wait_for(lost.wait(), self._keepalive)
                return
            except TimeoutError:
                await asyncio.wait_for(connection.fetchval("SELECT 1"), self._keepalive)

    def _on_notification(self, _connection: object, _pid: int, _channel: str, account_id: str) -> None:
        self._on_wake([account_id])

