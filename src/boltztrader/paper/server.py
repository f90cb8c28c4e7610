"""Run paper brokers: one aiohttp application per broker, each on its own port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from boltztrader.paper.http import VENUE_KEY
from boltztrader.paper.venue import Venue, VenueConfig


@dataclass(frozen=True, slots=True)
class BrokerSpec:
    """What ``boltz paper serve`` needs to know of one paper broker."""

    name: str  # kite, binance, alpaca
    default_port: int
    make_venue: Callable[[VenueConfig], Venue]
    make_app: Callable[[Venue], web.Application]  # must store the venue under VENUE_KEY


def build(spec: BrokerSpec, config: VenueConfig | None = None) -> web.Application:
    """The broker's application around a fresh venue, with the price ticker as a background task."""
    venue = spec.make_venue(config or VenueConfig())
    app = spec.make_app(venue)
    app[VENUE_KEY] = venue
    app.cleanup_ctx.append(_ticker)
    return app


async def _ticker(app: web.Application) -> AsyncIterator[None]:
    venue = app[VENUE_KEY]
    task = None
    if venue.config.tick_seconds > 0:
        async def run() -> None:
            while True:
                await asyncio.sleep(venue.config.tick_seconds)
                venue.advance()

        task = asyncio.create_task(run())
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def serve(specs: Sequence[BrokerSpec], host: str, ports: dict[str, int], config: VenueConfig,
                announce: Callable[[str], None] = print) -> None:
    """Serve every broker in ``specs`` until cancelled."""
    runners = []
    try:
        for spec in specs:
            runner = web.AppRunner(build(spec, config), access_log=None, handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, host, ports[spec.name], reuse_address=True)
            await site.start()
            runners.append(runner)
            announce(f"paper {spec.name} on http://{host}:{ports[spec.name]}")
        await asyncio.Event().wait()
    finally:
        for runner in runners:
            await runner.cleanup()
