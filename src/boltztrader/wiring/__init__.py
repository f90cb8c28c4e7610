"""Composition root: settings in, a container of long-lived parts out.

The only place that decides which concrete parts run together. ``build_container`` is cheap (the
database engine only: enough for ``boltz db``); ``Container.start`` adds the trading runtime (vault,
broker adapters, intake, order manager and their background work) and, with BOLTZ_DEMO, the
embedded paper brokers and the demo model.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db import migrate
from boltztrader.db.engine import create_engine, display_url, ping
from boltztrader.errors import ConfigError, DatabaseUnavailable
from boltztrader.settings import Role, Settings

if TYPE_CHECKING:
    from boltztrader.orders.execution import ExecutionPolicy
    from boltztrader.wiring.demo import Demo
    from boltztrader.wiring.runtime import Runtime


@dataclass
class Container:
    """The running application's parts; owned by whoever built it, closed with ``aclose``."""

    settings: Settings
    engine: AsyncEngine
    runtime: Runtime | None = None
    demo: Demo | None = None
    _paper: asyncio.Task[None] | None = field(default=None, repr=False)

    async def start(self, announce: Callable[[str], None] = print, *,
                    policy: ExecutionPolicy | None = None) -> None:
        """Start trading: the runtime's parts and background work (and the demo, when enabled)."""
        from boltztrader.wiring.demo import DEMO_EMAIL, DEMO_MODEL, start_demo, start_paper_brokers
        from boltztrader.wiring.runtime import build_runtime

        if self.settings.demo:
            self._paper = await start_paper_brokers(self.settings, announce)
        self.runtime = await build_runtime(self.settings, self.engine, policy=policy)
        if self.settings.demo:
            self.demo = await start_demo(self.settings, self.engine, self.runtime)
            announce(f"demo: user {DEMO_EMAIL}, paper accounts at Kite, Binance and Alpaca, "
                     f"model {DEMO_MODEL} sending signals")
            announce(f"demo: API token (shown once): {self.demo.token.reveal()}")
            announce(f"dashboard: http://{self.settings.host}:{self.settings.port}/ "
                     "(sign in with the token above)")
        await self.runtime.start()
        announce(_trading_line(self.runtime))

    @property
    def database_display_url(self) -> str:
        return display_url(self.engine.url)

    async def database_ok(self) -> bool:
        """True when the database answers a trivial query right now."""
        try:
            await ping(self.engine, within_seconds=2.0)
        except DatabaseUnavailable:
            return False
        return True

    async def check_ready(self) -> None:
        """Raise a one-line error unless the database is reachable and fully migrated."""
        await ping(self.engine)
        current = await migrate.current_revision(self.engine)
        head = migrate.head_revision()
        if current != head:
            raise ConfigError(
                f"database {self.database_display_url} is at revision {current or 'none'}, "
                f"the code needs {head}: run `boltz db upgrade`"
            )

    async def aclose(self) -> None:
        if self.demo is not None:
            await self.demo.aclose()
        if self.runtime is not None:
            await self.runtime.aclose()
        if self._paper is not None:
            self._paper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._paper
        await self.engine.dispose()


def _trading_line(runtime: Runtime) -> str:
    if runtime.role is Role.API:
        return (f"API only: {len(runtime.directory)} linked accounts; intents wait in the outbox for the "
                "workers (`boltz worker`), nothing is sent from here")
    if runtime.leases is not None:
        return (f"worker {runtime.leases.worker_id}: trading {len(runtime.leases.owned())} of "
                f"{len(runtime.directory)} linked accounts (leases of {runtime.leases.ttl:g} s)")
    return f"trading: {len(runtime.directory)} linked accounts; orders go out as signals arrive"


def build_container(settings: Settings) -> Container:
    return Container(settings=settings, engine=create_engine(settings.database_url))
