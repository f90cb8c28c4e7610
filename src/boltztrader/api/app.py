"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

import boltztrader
from boltztrader.api import (
    accounts,
    audit,
    compliance,
    dashboard,
    me,
    metrics,
    orders,
    portfolio,
    postbacks,
    problems,
    risk,
    signals,
    subscriptions,
    ws,
)
from boltztrader.api.ratelimit import RateLimit, RateLimiter
from boltztrader.orders.execution import ExecutionPolicy
from boltztrader.wiring import Container


def create_app(container: Container, *, trading: bool = False,
               announce: Callable[[str], None] = print, policy: ExecutionPolicy | None = None) -> FastAPI:
    """Build the service around ``container``; the app closes the container when it stops.

    ``trading``: start the trading runtime (and the demo, when configured) with the app; without
    it the routes that need it answer 500 "not configured" (tests of the plain service).
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            if trading:
                await container.start(announce, policy=policy)
            yield
        finally:
            await ws.stop_bus(_app)
            await container.aclose()

    app = FastAPI(
        title="BoltzTrader",
        version=boltztrader.__version__,
        summary="AI signals to broker orders, exactly once, audited.",
        lifespan=lifespan,
    )
    app.state.container = container
    problems.install(app)
    limit = RateLimit(container.settings.rate_limit, container.settings.rate_burst)
    app.add_middleware(RateLimiter, limit=limit)
    app.include_router(signals.router)
    app.include_router(postbacks.router)
    app.include_router(risk.router)
    app.include_router(subscriptions.router)
    app.include_router(audit.router)
    app.include_router(compliance.router)
    metrics.install(app)
    app.include_router(accounts.router)
    app.include_router(ws.router)
    app.include_router(orders.router)
    app.include_router(portfolio.router)
    app.include_router(me.router)
    app.include_router(dashboard.router)

    @app.get("/healthz", tags=["health"], summary="Liveness and database reachability")
    async def healthz() -> JSONResponse:
        database_ok = await container.database_ok()
        body = {
            "status": "ok" if database_ok else "degraded",
            "database": "ok" if database_ok else "unreachable",
            "version": boltztrader.__version__,
            "mode": container.settings.mode.value,
        }
        return JSONResponse(body, status_code=200 if database_ok else 503)

    return app
