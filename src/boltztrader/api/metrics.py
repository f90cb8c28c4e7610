"""``/metrics``: Prometheus text for the service's requests, signals, orders and process.

``install(app)`` adds a small ASGI middleware that counts every HTTP request and times it, by
method, route *template* (``/v1/signals/{signal_id}``, never the path itself) and status; requests
that match no route share the template ``unmatched``, so a stranger probing paths cannot grow the
series without bound. Orders by status and signals by source are read from the database at
scrape time (two GROUP BYs), at most once per ``DATABASE_TTL_SECONDS`` however often it is scraped;
``boltz_database_up`` says whether that read worked. The process collectors add CPU, memory,
file descriptors and garbage collection.

Like ``/healthz`` the endpoint needs no token, so nothing in it names a user, an account, an email
or a token: only route templates, statuses, sources and counts.
"""

from __future__ import annotations

import asyncio
import logging
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
        received = CounterMetricFamily("boltz_signals_received", "Signals received, by source (api, cli, "
                                       "demo, ...).", labels=["source"])
        for source, n in sorted(self.counts.signals_by_source.items()):
            received.add_metric([source], n)
        yield received


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
    await collected.refresh(lambda: counts(engine))
    return Response(collected.render(), media_type=CONTENT_TYPE)


def install(app: FastAPI) -> None:
    """Serve ``/metrics`` and count every request of ``app``; call once, in the app factory."""
    collected = Metrics()
    app.state.metrics = collected
    app.add_middleware(MetricsMiddleware, metrics=collected, routes=app.router.routes)
    app.include_router(router)
