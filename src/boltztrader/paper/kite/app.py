"""The Kite Connect v3 routes, served at the root path (the official client drops any path of its root)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from boltztrader.paper.hours import Session as MarketSession
from boltztrader.paper.http import VENUE_KEY, admin_routes, guarded
from boltztrader.paper.kite import errors, limits, orders, portfolio, quotes, session, stream
from boltztrader.paper.kite.book import BookKeeper, KiteAccount, state_of
from boltztrader.paper.kite.catalogue import CURRENCY
from boltztrader.paper.kite.wire import current_json, ok, order_json, required, trade_json
from boltztrader.paper.venue import PaperAccount, Venue

log = logging.getLogger(__name__)

DESK_KEY: web.AppKey[orders.Desk] = web.AppKey("kite_desk", orders.Desk)
POSTBACKS_KEY: web.AppKey[stream.Postbacks] = web.AppKey("kite_postbacks", stream.Postbacks)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Action = Callable[[PaperAccount, KiteAccount], Any]


@web.middleware
async def kite_envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    """X-Kite-Version check, and every failure in Kite's error envelope (never a bare text body)."""
    path = request.path
    if path.startswith("/_paper/") or path == "/":
        return await handler(request)
    if request.headers.get("X-Kite-Version") != "3":
        return errors.render(errors.input_error(errors.BAD_VERSION))
    try:
        return await handler(request)
    except errors.KiteError as exc:
        return errors.render(exc)
    except web.HTTPNotFound:
        return errors.error_response(404, "GeneralException", errors.ROUTE_NOT_FOUND)
    except web.HTTPMethodNotAllowed:
        return errors.error_response(405, "GeneralException", "Method not allowed")


async def _form(request: web.Request) -> dict[str, str]:
    posted = await request.post()
    return {key: value for key, value in posted.items() if isinstance(value, str)}


def make_app(venue: Venue) -> web.Application:
    app = web.Application(middlewares=[kite_envelope])
    app[VENUE_KEY] = venue
    books = BookKeeper(venue)
    venue.listeners.append(books)
    desk = orders.Desk(venue, books)
    if not venue.config.rate_limits:
        desk.limits = limits.Limits.unlimited()
    postbacks = stream.Postbacks()
    books.hooks.append(postbacks.hook)
    app[DESK_KEY] = desk
    app[POSTBACKS_KEY] = postbacks

    def credentials(account: PaperAccount) -> dict[str, Any]:
        state = state_of(venue, account)
        return {"api_key": account.api_key, "api_secret": account.api_secret, "user_id": state.user_id,
                "request_token": session.issue_request_token(venue, account)}

    async def serve(request: web.Request, op: str, check: Callable[[KiteAccount], None], act: Action,
                    ) -> web.StreamResponse:
        account, state = session.authenticate(request, venue)
        check(state)

        async def run() -> web.StreamResponse:
            return ok(act(account, state))

        return await guarded(request, op, account.account_id, errors.RENDERER, run)

    def other(state: KiteAccount) -> None:
        limits.check_other(desk.limits, state)

    def quote_limit(state: KiteAccount) -> None:
        limits.check_quote(desk.limits, state)

    def order_limit(state: KiteAccount) -> None:
        limits.check_order(desk.limits, state, venue.now())

    # -- session and user ------------------------------------------------------------------------------
    async def session_token(request: web.Request) -> web.StreamResponse:
        form = await _form(request)
        fields = (required(form, "api_key"), required(form, "request_token"), required(form, "checksum"))

        async def run() -> web.StreamResponse:
            return ok(session.generate_session(venue, *fields))

        return await guarded(request, "account", None, errors.RENDERER, run)

    async def session_logout(request: web.Request) -> web.StreamResponse:
        query = request.query
        return ok(session.logout(venue, query.get("api_key", ""), query.get("access_token", "")))

    async def refresh_token(request: web.Request) -> web.StreamResponse:
        raise errors.token_error(errors.EXPIRED_TOKEN)  # no refresh tokens are issued (not an approved app)

    async def profile(request: web.Request) -> web.StreamResponse:
        return await serve(request, "account", other, lambda account, state: session.profile(state))

    async def margins(request: web.Request) -> web.StreamResponse:
        segment = request.match_info.get("segment")
        if segment is not None and segment not in ("equity", "commodity"):
            raise errors.input_error(errors.invalid("segment"))

        def act(account: PaperAccount, state: KiteAccount) -> Any:
            both = portfolio.margins(venue, account.account_id, state)
            return both if segment is None else both[segment]

        return await serve(request, "account", other, act)

    # -- orders ------------------------------------------------------------------------------------------
    async def place(request: web.Request) -> web.StreamResponse:
        form = await _form(request)
        variety = request.match_info["variety"]
        return await serve(request, "place_order", order_limit, lambda account, state: {
            "order_id": orders.place(desk, account, state, variety, form)})

    async def modify(request: web.Request) -> web.StreamResponse:
        form = await _form(request)
        order_id = request.match_info["order_id"]
        return await serve(request, "place_order", other, lambda account, state: {
            "order_id": orders.modify(desk, account, state, order_id, form)})

    async def cancel(request: web.Request) -> web.StreamResponse:
        order_id = request.match_info["order_id"]
        return await serve(request, "cancel_order", other, lambda account, state: {
            "order_id": orders.cancel(desk, account, state, order_id)})

    async def order_book(request: web.Request) -> web.StreamResponse:
        return await serve(request, "list_orders", other, lambda account, state: [
            current_json(state, order) for order in state.orders.values()])

    async def order_history(request: web.Request) -> web.StreamResponse:
        order_id = request.match_info["order_id"]

        def act(account: PaperAccount, state: KiteAccount) -> Any:
            order = orders.find(state, order_id)
            return [order_json(state, order, snap) for snap in order.history]

        return await serve(request, "get_order", other, act)

    async def order_trades(request: web.Request) -> web.StreamResponse:
        order_id = request.match_info["order_id"]

        def act(account: PaperAccount, state: KiteAccount) -> Any:
            order = orders.find(state, order_id)
            if order.engine_id is None:
                return []
            fills = venue.engine.get(account.account_id, order.engine_id).fills
            return [trade_json(order, fill) for fill in fills]

        return await serve(request, "get_order", other, act)

    async def trade_book(request: web.Request) -> web.StreamResponse:
        def act(account: PaperAccount, state: KiteAccount) -> Any:
            rows = []
            for fill in venue.engine.fills(account.account_id):
                order = state.by_engine.get(fill.order_id)
                if order is not None:
                    rows.append(trade_json(order, fill))
            return rows

        return await serve(request, "list_orders", other, act)

    # -- portfolio ---------------------------------------------------------------------------------------
    async def positions(request: web.Request) -> web.StreamResponse:
        return await serve(request, "account", other,
                           lambda account, state: portfolio.positions(venue, state))

    async def holdings(request: web.Request) -> web.StreamResponse:
        return await serve(request, "account", other,
                           lambda account, state: portfolio.holdings(venue, state))

    # -- market data -------------------------------------------------------------------------------------
    async def instruments(request: web.Request) -> web.StreamResponse:
        exchange = request.match_info.get("exchange")
        if exchange is not None and not quotes.known_exchange(exchange):
            raise errors.input_error(errors.invalid("exchange"))

        async def run() -> web.StreamResponse:
            return web.Response(text=quotes.instruments_csv(exchange), content_type="text/csv")

        return await guarded(request, "market_data", None, errors.RENDERER, run)

    def quote_route(render: Callable[[Venue, list[str]], Any], cap: int) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            keys = request.query.getall("i", [])
            if not keys:
                raise errors.input_error("No instruments specified.")
            if len(keys) > cap:
                raise errors.input_error(f"Too many instruments; at most {cap} per request.")
            return await serve(request, "market_data", quote_limit,
                               lambda account, state: render(venue, keys))

        return handler

    async def root(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await stream.order_updates(request, venue)
        return errors.error_response(404, "GeneralException", errors.ROUTE_NOT_FOUND)

    app.add_routes([
        web.get("/", root),
        web.post("/session/token", session_token),
        web.delete("/session/token", session_logout),
        web.post("/session/refresh_token", refresh_token),
        web.get("/user/profile", profile),
        web.get("/user/profile/full", profile),
        web.get("/user/margins", margins),
        web.get("/user/margins/{segment}", margins),
        web.post("/orders/{variety}", place),
        web.put("/orders/{variety}/{order_id}", modify),
        web.delete("/orders/{variety}/{order_id}", cancel),
        web.get("/orders", order_book),
        web.get("/orders/{order_id}", order_history),
        web.get("/orders/{order_id}/trades", order_trades),
        web.get("/trades", trade_book),
        web.get("/portfolio/positions", positions),
        web.get("/portfolio/holdings", holdings),
        web.get("/instruments", instruments),
        web.get("/instruments/{exchange}", instruments),
        web.get("/quote", quote_route(quotes.full, quotes.MAX_FULL)),
        web.get("/quote/ohlc", quote_route(quotes.ohlc, quotes.MAX_LTP)),
        web.get("/quote/ltp", quote_route(quotes.ltp, quotes.MAX_LTP)),
    ])
    app.add_routes(admin_routes(credentials, CURRENCY))
    app.add_routes(_kite_admin(venue, desk))
    app.cleanup_ctx.append(lambda _app: stream.postback_worker(postbacks))
    app.cleanup_ctx.append(lambda _app: _session_watch(desk))
    return app


def _kite_admin(venue: Venue, desk: orders.Desk) -> list[web.RouteDef]:
    """Kite-only admin routes: fresh request tokens, postback URLs, rate limits and rules."""

    def account_of(request: web.Request) -> PaperAccount:
        account = venue.by_api_key(request.match_info["api_key"])
        if account is None:
            raise web.HTTPNotFound(text=json.dumps({"error": "no paper account with that api_key"}),
                                   content_type="application/json")
        return account

    async def body(request: web.Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.read() or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise _bad("body must be a JSON object")
        return data

    async def request_token(request: web.Request) -> web.Response:
        account = account_of(request)
        return web.json_response({"request_token": session.issue_request_token(venue, account)}, status=201)

    async def postback(request: web.Request) -> web.Response:
        account = account_of(request)
        url = (await body(request)).get("url")
        if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
            raise _bad("url must be an http(s) URL or null")
        state_of(venue, account).postback_url = url
        return web.json_response({"api_key": account.api_key, "url": url})

    async def get_limits(request: web.Request) -> web.Response:
        return web.json_response({**desk.limits.to_json(),
                                  "require_market_protection": desk.require_market_protection})

    async def put_limits(request: web.Request) -> web.Response:
        data = await body(request)
        rule = data.pop("require_market_protection", None)
        if rule is not None and not isinstance(rule, bool):
            raise _bad("require_market_protection must be a boolean")
        try:
            desk.limits.update(data)
        except ValueError as exc:
            raise _bad(str(exc)) from None
        if rule is not None:
            desk.require_market_protection = rule
        return await get_limits(request)

    return [
        web.post("/_paper/accounts/{api_key}/request_token", request_token),
        web.put("/_paper/accounts/{api_key}/postback", postback),
        web.get("/_paper/limits", get_limits),
        web.put("/_paper/limits", put_limits),
    ]


def _bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


async def _session_watch(desk: orders.Desk) -> AsyncIterator[None]:
    """Every second: send waiting AMOs once the NSE session opens; expire DAY orders when it closes."""
    venue = desk.venue

    async def run() -> None:
        was_open = venue.hours.nse(venue.now()) is MarketSession.OPEN
        while True:
            await asyncio.sleep(1)
            try:
                now = venue.now()
                is_open = venue.hours.nse(now) is MarketSession.OPEN
                if is_open:
                    orders.release_amos(desk)
                elif was_open:
                    venue.publish(venue.engine.expire_day_orders(now))
                was_open = is_open
            except Exception:
                log.exception("paper kite session watch failed")

    task = asyncio.create_task(run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
