"""Run a paper broker on a real socket in a background thread, for clients that block (the SDKs)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from aiohttp import web

from boltztrader.paper.server import BrokerSpec, build
from boltztrader.paper.venue import Venue, VenueConfig


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningPaper:
    """A paper broker serving on 127.0.0.1:port from its own thread and event loop."""

    url: str
    port: int
    app: web.Application
    loop: asyncio.AbstractEventLoop

    @property
    def venue(self) -> Venue:
        from boltztrader.paper.http import VENUE_KEY

        return self.app[VENUE_KEY]

    def call(self, fn: Callable[[], object]) -> object:
        """Run ``fn`` on the server's loop thread (the venue is not thread-safe) and return its result."""
        async def wrapper() -> object:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout=10)


def start_paper(spec: BrokerSpec,
                config: VenueConfig | None = None) -> tuple[RunningPaper, Callable[[], None]]:
    """Start ``spec`` on a free port; return the running server and a function that stops it."""
    config = config or VenueConfig(tick_seconds=0)
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, object] = {}

    async def main() -> None:
        app = build(spec, config)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        holder["app"], holder["runner"] = app, runner
        ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(main())
        loop.run_forever()
        runner = holder.get("runner")
        if isinstance(runner, web.AppRunner):
            loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, name=f"paper-{spec.name}", daemon=True)
    thread.start()
    if not ready.wait(15):
        raise RuntimeError(f"paper {spec.name} did not start")
    app = holder["app"]
    assert isinstance(app, web.Application)
    running = RunningPaper(url=f"http://127.0.0.1:{port}", port=port, app=app, loop=loop)

    def stop() -> None:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(15)

    return running, stop


@pytest.fixture
def paper_factory() -> Iterator[Callable[..., RunningPaper]]:
    """Start paper brokers on demand (``paper_factory(SPEC, config=None)``); all stop after the test."""
    stops: list[Callable[[], None]] = []

    def factory(spec: BrokerSpec, config: VenueConfig | None = None) -> RunningPaper:
        running, stop = start_paper(spec, config)
        stops.append(stop)
        return running

    yield factory
    for stop in reversed(stops):
        stop()
