"""The Alpaca paper server: Trading API v2, the market-data paths, the trade_updates stream, admin.

One middleware authenticates (``APCA-API-*`` headers), counts the request against the per-key
limit, renders every error as Alpaca's JSON body, and adds the ``X-Ratelimit-*`` headers.
Duplicate slashes in a path are collapsed without a redirect (alpaca-py never follows one).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from boltztrader.paper.alpaca import errors, marketdata, orders, portfolio, stream
from boltztrader.paper.alpaca.auth import DEFAULT_PER_MINUTE, RateLimiter, credentials, from_headers
from boltztrader.paper.alpaca.book import Book
from boltztrader.paper.alpaca.catalogue import CURRENCY, DEFAULT_CASH, instruments, start_prices
from boltztrader.paper.alpaca.context import ACCOUNT, BOOK_KEY, LIMITER_KEY
from boltztrader.paper.http import VENUE_KEY, admin_routes
from boltztrader.paper.venue import Venue, VenueConfig

_SLASHES = re.compile(r"/{2,}")
_STREAM_PATHS = frozenset({"/stream", "/stream/"})
Handler = Any


async def _fallback(request: web.Request) -> web.StreamResponse:
    """No route matched: ``//v2/orders`` (a trailing slash on the SDK's url_override) is served as
    ``/v2/orders``, without a redirect; anything else is Alpaca's 404 ``endpoint not found``."""
    path = request.rel_url.path
    clone = request.clone(rel_url=request.rel_url.with_path(_SLASHES.sub("/", path)))
    match = await request.app.router.resolve(clone)
    if match.handler is _fallback:  # nothing else matches (an unknown path, or a method a path lacks)
        raise web.HTTPNotFound()
    match.add_app(request.app)
    clone._match_info = match  # aiohttp keeps the resolved route here; handlers read match_info
    response: web.StreamResponse = await match.handler(clone)
    return response


@web.middleware
async def alpaca_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = _SLASHES.sub("/", request.path)
    if path.startswith("/_paper/") or path in _STREAM_PATHS:
        return await handler(request)
    headers: dict[str, str] = {}
    try:
        account = from_headers(request.app[VENUE_KEY], request)
        request[ACCOUNT] = account
        allowed, headers = request.app[LIMITER_KEY].hit(account.api_key)
        if not allowed:
            raise errors.rate_limited()
        response: web.StreamResponse = await handler(request)
    except errors.AlpacaError as exc:
        response = exc.response()
    except web.HTTPNotFound:
        response = errors.endpoint_not_found().response()
    if headers and not response.prepared:
        response.headers.update(headers)
    return response


async def _rate_limit(request: web.Request) -> web.Response:
    """``GET/PUT /_paper/rate_limit``: read or set the per-key requests per minute (0 = no limit)."""
    limiter = request.app[LIMITER_KEY]
    if request.method == "PUT":
        body = await request.json()
        value = body.get("per_minute") if isinstance(body, dict) else None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return web.json_response({"error": "send {\"per_minute\": <non-negative integer>}"}, status=400)
        limiter.per_minute = value
        limiter.reset()
    return web.json_response({"per_minute": limiter.per_minute})


async def _session_clock(app: web.Application) -> AsyncIterator[None]:
    """With real hours, act on session changes (queued orders, pending cancels, DAY expiry)."""
    venue = app[VENUE_KEY]
    task = None
    if venue.hours.real_hours:
        async def run() -> None:
            while True:
                await asyncio.sleep(0.5)
                app[BOOK_KEY].fresh().sync_session(venue.now())

        task = asyncio.create_task(run())
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def make_venue(config: VenueConfig) -> Venue:
    return Venue("alpaca", instruments(), start_prices(), {CURRENCY: DEFAULT_CASH}, config=config)


def make_app(venue: Venue) -> web.Application:
    app = web.Application(middlewares=[alpaca_middleware])
    app[VENUE_KEY] = venue
    app[BOOK_KEY] = Book(venue)
    app[LIMITER_KEY] = RateLimiter(DEFAULT_PER_MINUTE if venue.config.rate_limits else 0)
    app.add_routes(admin_routes(credentials, CURRENCY))
    app.add_routes([
        web.get("/_paper/rate_limit", _rate_limit),
        web.put("/_paper/rate_limit", _rate_limit),
        web.post("/v2/orders", orders.place),
        web.get("/v2/orders", orders.list_orders),
        web.delete("/v2/orders", orders.cancel_all),
        web.get("/v2/orders:by_client_order_id", orders.get_by_client_id),
        web.get("/v2/orders/{order_id}", orders.get_order),
        web.patch("/v2/orders/{order_id}", orders.replace),
        web.delete("/v2/orders/{order_id}", orders.cancel),
        web.get("/v2/account", portfolio.get_account),
        web.get("/v2/positions", portfolio.list_positions),
        web.delete("/v2/positions", portfolio.close_all_positions),
        web.get("/v2/positions/{symbol}", portfolio.get_position),
        web.delete("/v2/positions/{symbol}", portfolio.close_position),
        web.get("/v2/assets", portfolio.list_assets),
        web.get("/v2/assets/{symbol}", portfolio.get_asset),
        web.get("/v2/clock", portfolio.get_clock),
        web.get("/v2/calendar", portfolio.get_calendar),
        web.get("/v2/stocks/quotes/latest", marketdata.latest_quotes),
        web.get("/v2/stocks/trades/latest", marketdata.latest_trades),
        web.get("/v2/stocks/{symbol}/quotes/latest", marketdata.latest_quote),
        web.get("/v2/stocks/{symbol}/trades/latest", marketdata.latest_trade),
        web.get("/stream", stream.handler),
        web.get("/stream/", stream.handler),
        web.route("*", "/{tail:.*}", _fallback),  # last: only what nothing else matched
    ])
    app.cleanup_ctx.append(_session_clock)
    return app
