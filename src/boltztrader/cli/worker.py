"""``boltz worker``: trading without the API, on the accounts whose lease this process holds.

Run any number of them against one PostgreSQL, next to ``boltz serve --api-only`` (the API and
the intake): the workers split the linked accounts between them (fair shares, rebalanced as
workers come and go), reconcile each account they take over before sending for it, and send the
intents the API writes as soon as it wakes them. SIGTERM (or Ctrl-C) stops a worker cleanly: its
work stops, its leases are released, and the other workers take its accounts over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from boltztrader.cli.common import DatabaseUrlOption, err, out, run, settings_from
from boltztrader.errors import ConfigError
from boltztrader.settings import Role
from boltztrader.wiring import build_container


def worker(database_url: DatabaseUrlOption = None) -> None:
    """Start a trading worker (no HTTP API): it trades the accounts whose lease it holds."""
    settings = settings_from(database_url=database_url, role=Role.WORKER.value, demo=False)
    if settings.database_url.startswith("sqlite"):
        err.print("note: on SQLite run one process only (one worker, or `boltz serve`); several "
                  "processes need PostgreSQL")

    async def go() -> None:
        container = build_container(settings)
        try:
            await container.check_ready()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            await container.start(announce=err.print)
            runtime = container.runtime
            if runtime is None or runtime.leases is None:
                raise ConfigError("the worker runtime did not start")
            out.print(f"worker {runtime.leases.worker_id}", soft_wrap=True)
            out.file.flush()  # whoever started us may be waiting for this line on a pipe
            err.print(f"BoltzTrader worker {runtime.leases.worker_id} ({runtime.leases.label}) "
                      f"{settings.mode.value} mode on {container.database_display_url}; stop with SIGTERM")
            await stop.wait()
            err.print(f"worker {runtime.leases.worker_id}: stopping, releasing "
                      f"{len(runtime.leases.owned())} leases")
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                for signum in (signal.SIGTERM, signal.SIGINT):
                    asyncio.get_running_loop().remove_signal_handler(signum)
            await container.aclose()

    run(go)
