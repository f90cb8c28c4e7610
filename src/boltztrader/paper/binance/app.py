"""The paper Binance application: routes, per-endpoint request weights and the rate-limit middleware.

Spot lives under ``/api/v3``, USD-M futures under ``/fapi`` on the same server, the key's permissions at
``/sapi/v1/account/apiRestrictions`` (wallet: not weighed here); WebSockets at
``/ws-api/v3`` (WebSocket API) and ``/ws``, ``/stream``, ``/private/ws`` (listenKey streams).
Every REST response carries ``X-MBX-USED-WEIGHT-1M`` (and the legacy ``X-MBX-USED-WEIGHT``); an
accepted order adds ``X-MBX-ORDER-COUNT-10S`` and ``-1D`` (futures: ``-10S`` and ``-1M``).
Spot and futures keep separate weight budgets per IP (6000 and 2400 per minute).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from boltztrader.paper.binance import futures, public, spot, stream, wallet
from boltztrader.paper.binance.errors import BinanceError
from boltztrader.paper.binance.spot import ORDER_COUNTS
from boltztrader.paper.binance.state import BinanceVenue
from boltztrader.paper.http import VENUE_KEY, admin_routes
from boltztrader.paper.venue import PaperAccount, Venue, VenueConfig

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Weight = int | Callable[[Mapping[str, str]], int]


def _by_symbol(with_symbol: int, without: int) -> Weight:
    return lambda q: with_symbol if "symbol" in q else without


def _depth_weight(q: Mapping[str, str]) -> int:
    limit = int(q.get("limit", "100") or 100) if (q.get("limit") or "100").isdigit() else 100
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


# (method, path, handler, weight, zero weight when successful)
ROUTES: list[tuple[str, str, Handler, Weight, bool]] = [
    ("GET", "/api/v3/ping", public.ping, 1, False),
    ("GET", "/api/v3/time", public.server_time, 1, False),
    ("GET", "/api/v3/exchangeInfo", public.exchange_info, 20, False),
    ("GET", "/api/v3/ticker/price", public.ticker_price, _by_symbol(2, 4), False),
    ("GET", "/api/v3/ticker/bookTicker", public.book_ticker, _by_symbol(2, 4), False),
    ("GET", "/api/v3/depth", public.depth, _depth_weight, False),
    ("POST", "/api/v3/order", spot.new_order, 1, True),
    (
        "POST",
        "/api/v3/order/test",
        spot.test_order,
        lambda q: 20 if "computeCommissionRates" in q else 1,
        False,
    ),
    ("GET", "/api/v3/order", spot.get_order, 4, False),
    ("DELETE", "/api/v3/order", spot.cancel_order, 1, True),
    ("GET", "/api/v3/openOrders", spot.open_orders, _by_symbol(6, 80), False),
    ("DELETE", "/api/v3/openOrders", spot.cancel_open_orders, 1, True),
    ("GET", "/api/v3/allOrders", spot.all_orders, 20, False),
    ("GET", "/api/v3/myTrades", spot.my_trades, lambda q: 5 if "orderId" in q else 20, False),
    ("GET", "/api/v3/account", spot.account_info, 20, False),
    ("GET", "/api/v3/rateLimit/order", spot.order_rate_limit, 40, False),
    ("POST", "/api/v3/userDataStream", spot.listen_key, 2, False),
    ("PUT", "/api/v3/userDataStream", spot.listen_key, 2, False),
    ("DELETE", "/api/v3/userDataStream", spot.listen_key, 2, False),
    # USD-M futures
    ("GET", "/fapi/v1/ping", public.ping, 1, False),
    ("GET", "/fapi/v1/time", public.server_time, 1, False),
    ("GET", "/fapi/v1/exchangeInfo", public.futures_exchange_info, 1, False),
    ("GET", "/fapi/v1/ticker/price", public.ticker_price, _by_symbol(1, 2), False),
    ("GET", "/fapi/v2/ticker/price", public.ticker_price, _by_symbol(1, 2), False),
    ("GET", "/fapi/v1/ticker/bookTicker", public.book_ticker, _by_symbol(2, 5), False),
    ("GET", "/fapi/v1/depth", public.depth, 2, False),
    ("GET", "/fapi/v1/premiumIndex", public.premium_index, _by_symbol(1, 10), False),
    ("POST", "/fapi/v1/order", futures.new_order, 0, False),
    ("GET", "/fapi/v1/order", futures.get_order, 1, False),
    ("DELETE", "/fapi/v1/order", futures.cancel_order, 1, False),
    ("DELETE", "/fapi/v1/allOpenOrders", futures.cancel_all, 1, False),
    ("GET", "/fapi/v1/openOrders", futures.open_orders, _by_symbol(1, 40), False),
    ("GET", "/fapi/v1/allOrders", futures.all_orders, 5, False),
    ("GET", "/fapi/v1/userTrades", futures.user_trades, 5, False),
    ("POST", "/fapi/v1/leverage", futures.leverage, 1, False),
    ("POST", "/fapi/v1/marginType", futures.margin_type, 1, False),
    ("GET", "/fapi/v1/positionSide/dual", futures.position_mode, 30, False),
    ("POST", "/fapi/v1/positionSide/dual", futures.position_mode, 1, False),
    ("GET", "/fapi/v2/positionRisk", futures.position_risk, 5, False),
    ("GET", "/fapi/v3/positionRisk", futures.position_risk, 5, False),
    ("GET", "/fapi/v2/balance", futures.balance, 5, False),
    ("GET", "/fapi/v3/balance", futures.balance, 5, False),
    ("GET", "/fapi/v2/account", futures.account_info, 5, False),
    ("GET", "/fapi/v3/account", futures.account_info, 5, False),
    ("POST", "/fapi/v1/listenKey", spot.listen_key, 1, False),
    ("PUT", "/fapi/v1/listenKey", spot.listen_key, 1, False),
    ("DELETE", "/fapi/v1/listenKey", spot.listen_key, 1, False),
]
WEIGHTS: dict[tuple[str, str], tuple[Weight, bool]] = {(m, p): (w, z) for m, p, _, w, z in ROUTES}


@web.middleware
async def binance_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Charge the request weight, render Binance errors, and stamp the rate-limit headers."""
    path = request.path
    if path.startswith("/_paper") or not (path.startswith("/api/") or path.startswith("/fapi/")):
        try:
            return await handler(request)
        except BinanceError as exc:
            return exc.response()
    venue = request.app[VENUE_KEY]
    assert isinstance(venue, BinanceVenue)
    futures_path = path.startswith("/fapi/")
    limits = venue.binance.futures_limits if futures_path else venue.binance.spot_limits
    weight_rule, zero_on_success = WEIGHTS.get((request.method, path), (1, False))
    weight = weight_rule(request.query) if callable(weight_rule) else weight_rule
    ip = request.remote or "unknown"
    now = venue.now().timestamp()
    try:
        limits.charge(ip, weight, now)
        response = await handler(request)
    except BinanceError as exc:
        response = exc.response()
    if zero_on_success and response.status == 200:
        limits.refund(ip, weight)
    if not response.prepared:
        used = str(limits.used(ip, now))
        response.headers["X-MBX-USED-WEIGHT-1M"] = used
        response.headers["X-MBX-USED-WEIGHT"] = used
        counts = request.get(ORDER_COUNTS)
        if counts is not None:
            response.headers["X-MBX-ORDER-COUNT-10S"] = str(counts[0])
            response.headers["X-MBX-ORDER-COUNT-" + limits.long_label] = str(counts[1])
    return response


def credentials(account: PaperAccount) -> dict[str, str]:
    return {"api_key": account.api_key, "api_secret": account.api_secret}


def make_venue(config: VenueConfig) -> Venue:
    return BinanceVenue(config)


def _admin_routes() -> list[web.RouteDef]:
    """The shared admin API; opening an account here also takes the key's ``restrictions``."""
    routes = []
    for route in admin_routes(credentials, "USDT"):
        if route.method == "POST" and route.path == "/_paper/accounts":
            route = web.post(route.path, wallet.with_restrictions(route.handler))
        routes.append(route)
    return routes


def make_app(venue: Venue) -> web.Application:
    app = web.Application(middlewares=[binance_middleware])
    app[VENUE_KEY] = venue
    app.add_routes(_admin_routes())
    app.router.add_get(wallet.PATH, wallet.api_restrictions)
    for method, path, handler, _, _ in ROUTES:
        app.router.add_route(method, path, handler)
    for path in ("/ws-api/v3",):
        app.router.add_get(path, stream.ws_api)
    for path in ("/ws/{listenKey}", "/ws", "/stream", "/private/ws"):
        app.router.add_get(path, stream.listen_stream)
    return app
