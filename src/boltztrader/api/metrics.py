"""``/metrics``: Prometheus text for the service's requests, signals, orders and process.

``install(app)`` adds a small ASGI middleware that counts every HTTP request and times it, by
method, route *template* (``/v1/signals/{signal_id}``, never the path itself) and status; requests
that match no route share the template ``unmatched``, so a stranger probing paths cannot grow the
series without bound. Orders by status and signals by source are read from the database at
scrape time (two GROUP BYs), at most once per ``DATABASE_TTL_SECONDS`` however often it is scraped;
``boltz_database_up`` says whether that read worked, and ``boltz_outbox_depth`` (orders persisted but
not yet answered by their broker: ``pending_submit`` plus ``submitting``) comes from the same read.
The process collectors add CPU, memory (``process_resident_memory_bytes``), file descriptors and
garbage collection; ``_RuntimeFigures`` adds what a load or soak test watches for leaks, each read in
microseconds at scrape time: ``boltz_asyncio_tasks``, ``boltz_open_fds`` and
``boltz_db_pool_checked_out``.

Like ``/healthz`` the endpoint needs no token, so nothing in it names a user, an account, an email
or a token: only route templates, statuses, sources and counts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from boltztrader.api.deps import engine_of
from boltztrader.domain.order_states import OrderStatus
from boltztrader.orders.counts import Counts, counts

__all__ = ["Metrics", "MetricsMiddleware", "install", "router"]

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DATABASE_TTL_SECONDS = 5.0
DATABASE_TIMEOUT_SECONDS = 5.0
UNMATCHED = "unmatched"
OUTBOX_STATUSES = (OrderStatus.PENDING_SUBMIT, OrderStatus.SUBMITTING)
_FD_DIR = "/proc/self/fd"

router = APIRouter(tags=["health"])


class _DatabaseFigures(Collector):
    """Orders by status and signals by source, as last read; nothing of them when the read failed."""

    def __init__(self) -> None:
        self.counts: Counts | None = None
        self.up = False

    def collect(self) -> Iterable[Any]:
        up = GaugeMetricFamily("boltz_database_up", "1 when the last read of the figures below worked.")
        up.add_metric([], 1 if self.up else 0)
        yield up
        if self.counts is None:
            return
        orders = GaugeMetricFamily("boltz_orders", "Orders in each status, now.", labels=["status"])
        for status in OrderStatus:
            orders.add_metric([status.value], self.counts.orders_by_status.get(status.value, 0))
        yield orders
        outbox = GaugeMetricFamily("boltz_outbox_depth", "Orders persisted but not yet answered by their "
                                   "broker (pending_submit + submitting); growing means the sends fall "
                                   "behind.")
        outbox.add_metric([], sum(self.counts.orders_by_status.get(s.value, 0) for s in OUTBOX_STATUSES))
        yield outbox
        received = CounterMetricFamily("boltz_signals_received", "Signals received, by source (api, cli, "
                                       "demo, ...).", labels=["source"])
        for source, n in sorted(self.counts.signals_by_source.items()):
            received.add_metric([source], n)
        yield received


class _RuntimeFigures(Collector):
    """What grows when something leaks: event-loop tasks, file descriptors, borrowed database
    connections. Each is read when scraped (no database query); one that cannot be read here (no
    running loop, no ``/proc``, a pool without a count) is left out rather than reported as 0."""

    def __init__(self) -> None:
        self.engine: AsyncEngine | None = None

    def collect(self) -> Iterable[Any]:
        tasks = _task_count()
        if tasks is not None:
            family = GaugeMetricFamily("boltz_asyncio_tasks", "Tasks alive on the service's event loop.")
            family.add_metric([], tasks)
            yield family
        fds = _fd_count()
        if fds is not None:
            family = GaugeMetricFamily("boltz_open_fds", "File descriptors open in this process (sockets, "
                                       "database connections, files).")
            family.add_metric([], fds)
            yield family
        checked_out = _pool_checked_out(self.engine)
        if checked_out is not None:
            family = GaugeMetricFamily("boltz_db_pool_checked_out", "Database connections borrowed from "
                                       "the pool right now.")
            family.add_metric([], checked_out)
            yield family


def _task_count() -> int | None:
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:  # collected outside the event loop (e.g. by a test calling render directly)
        return None


def _fd_count() -> int | None:
    try:
        return len(os.listdir(_FD_DIR))
    except OSError:  # no /proc (macOS, Windows)
        return None


def _pool_checked_out(engine: AsyncEngine | None) -> int | None:
    if engine is None:
        return None
    count = getattr(engine.pool, "checkedout", None)
    if not callable(count):  # NullPool, StaticPool: nothing is lent out
        return None
    return int(count())


class Metrics:
    """The app's own registry (one per app, so several apps in one process never collide)."""

    def __init__(self, *, database_ttl: float = DATABASE_TTL_SECONDS) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        labels = ("method", "route", "status")
        self.requests = Counter("boltz_http_requests", "HTTP requests answered, by route and status.", labels,
                                registry=self.registry)
        self.latency = Histogram("boltz_http_request_duration_seconds", "Time to answer an HTTP request.",
                                 labels, registry=self.registry)
        self._database = _DatabaseFigures()
        self.registry.register(self._database)
        self._runtime = _RuntimeFigures()
        self.registry.register(self._runtime)
        self._ttl = database_ttl
        self._read_at: float | None = None
        self._lock = asyncio.Lock()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    async def refresh(self, read: Callable[[], Awaitable[Counts]]) -> None:
        """Read the database figures unless they are fresher than the TTL; one read at a time."""
        async with self._lock:
            now = time.monotonic()
            if self._read_at is not None and now - self._read_at < self._ttl:
                return
            try:
                self._database.counts = await asyncio.wait_for(read(), DATABASE_TIMEOUT_SECONDS)
                self._database.up = True
            except Exception as exc:  # the scrape still answers, with boltz_database_up 0
                log.warning("metrics: the database figures could not be read (%s)", type(exc).__name__)
                self._database.counts = None
                self._database.up = False
            self._read_at = time.monotonic()

    def watch(self, engine: AsyncEngine) -> None:
        """Report the connection pool of ``engine`` (the service's one engine)."""
        self._runtime.engine = engine

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, routes: list[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before it answers

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.observe(scope["method"], self._template(scope), status, elapsed)

    def _template(self, scope: Scope) -> str:
        route = scope.get("route")
        path = getattr(route, "path", None)
        if isinstance(path, str):
            return path
        # Answered before routing (e.g. by the rate limiter): find the template ourselves.
        probe = dict(scope)
        for candidate in self.routes:
            match, _child = candidate.matches(probe)
            if match is Match.FULL:
                found = getattr(candidate, "path", None)
                return found if isinstance(found, str) else UNMATCHED
        return UNMATCHED


@router.get("/metrics", response_class=Response, summary="Prometheus metrics",
            responses={200: {"content": {"text/plain": {}},
                             "description": "Prometheus text format 0.0.4; no user data."}})
async def metrics(request: Request) -> Response:
    """Request counts and latencies by route, orders by status, signals by source, process figures."""
    collected: Metrics = request.app.state.metrics
    engine = engine_of(request)
    collected.watch(engine)
    await collected.refresh(lambda: counts(engine))
    return Response(collected.render(), media_type=CONTENT_TYPE)


def install(app: FastAPI) -> None:
    """Serve ``/metrics`` and count every request of ``app``; call once, in the app factory."""
    collected = Metrics()
    app.state.metrics = collected
    app.add_middleware(MetricsMiddleware, metrics=collected, routes=app.router.routes)
    app.include_router(router)
