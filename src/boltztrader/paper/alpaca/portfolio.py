"""Account, positions (and closing them), assets, clock and calendar."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web

from boltztrader.paper.alpaca import errors
from boltztrader.paper.alpaca.book import Book
from boltztrader.paper.alpaca.catalogue import ASSETS, Asset, lookup
from boltztrader.paper.alpaca.context import account_of, book_of, venue_of
from boltztrader.paper.alpaca.errors import RENDERER, AlpacaError
from boltztrader.paper.alpaca.orders import _accepted, json_response
from boltztrader.paper.alpaca.views import account_json, asset_json, calendar_json, clock_json, position_json
from boltztrader.paper.alpaca.wire import OrderInput, decimal_of, num, query_bool
from boltztrader.paper.hours import ET, Session
from boltztrader.paper.http import guarded
from boltztrader.paper.model import ZERO
from boltztrader.paper.venue import PaperAccount


async def get_account(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        engine = book_of(request).engine
        return json_response(account_json(account, engine, account.extra["account_number"]))

    return await guarded(request, "account", account.account_id, RENDERER, act)


def _positions(book: Book, account: PaperAccount) -> list[tuple[Asset, dict[str, Any]]]:
    engine = book.engine
    found = []
    for symbol, position in sorted(engine.account(account.account_id).positions.items()):
        asset = lookup(symbol)
        if asset is None or not position.quantity:
            continue
        held, _ = book.held_for_orders(account.account_id, symbol) if position.quantity > 0 else (ZERO, [])
        found.append((asset, position_json(asset, position, engine.quote(symbol).last, held)))
    return found


async def list_positions(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        return json_response([body for _, body in _positions(book_of(request), account)])

    return await guarded(request, "account", account.account_id, RENDERER, act)


async def get_position(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        asset = lookup(request.match_info["symbol"])
        for found, body in _positions(book_of(request), account):
            if asset is not None and found.symbol == asset.symbol:
                return json_response(body)
        raise errors.position_not_found()

    return await guarded(request, "account", account.account_id, RENDERER, act)


def _close(request: web.Request, book: Book, account: PaperAccount, asset: Asset, qty: Decimal | None,
           percentage: Decimal | None) -> dict[str, Any]:
    position = book.engine.account(account.account_id).positions.get(asset.symbol)
    if position is None or not position.quantity:
        raise errors.position_not_found()
    size = abs(position.quantity)
    if percentage is not None:
        if not 0 < percentage <= 100:
            raise errors.invalid("percentage must be between 0 and 100")
        size = (size * percentage / 100).quantize(Decimal("0.000000001"))
    elif qty is not None:
        if qty <= 0:
            raise errors.invalid("qty must be > 0")
        size = qty
    side = "sell" if position.quantity > 0 else "buy"
    if side == "sell":
        held, related = book.held_for_orders(account.account_id, asset.symbol)
        available = position.quantity - held
        if size > available:
            raise errors.insufficient_qty(asset.symbol, num(size), num(max(available, ZERO)),
                                          num(position.quantity), num(held), related)
    spec = OrderInput(symbol=asset.symbol, side=side, type="market", time_in_force="day", qty=size,
                      notional=None, limit_price=None, stop_price=None, extended_hours=False,
                      client_order_id=None)
    order = book.submit(account.account_id, spec, venue_of(request).now())
    return _accepted(order)


async def close_position(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        asset = lookup(request.match_info["symbol"])
        if asset is None:
            raise errors.position_not_found()
        qty = decimal_of(request.query.get("qty"), "qty")
        percentage = decimal_of(request.query.get("percentage"), "percentage")
        if qty is not None and percentage is not None:
            raise errors.invalid("only one of qty or percentage may be set")
        return json_response(_close(request, book_of(request), account, asset, qty, percentage))

    return await guarded(request, "place_order", account.account_id, RENDERER, act)


async def close_all_positions(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        book = book_of(request)
        if query_bool(request.query.get("cancel_orders")):
            now = venue_of(request).now()
            for order in book.open_orders(account.account_id):
                try:
                    book.cancel(account.account_id, order.id, now)
                except AlpacaError:
                    continue
        results: list[dict[str, Any]] = []
        for asset, _ in _positions(book, account):
            try:
                body = _close(request, book, account, asset, None, None)
            except AlpacaError as exc:
                results.append({"symbol": asset.symbol, "status": exc.status, "body": exc.body()})
            else:
                results.append({"symbol": asset.symbol, "status": 200, "body": body})
        return json_response(results, status=207)

    return await guarded(request, "place_order", account.account_id, RENDERER, act)


async def list_assets(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        query = request.query
        status = query.get("status")
        asset_class = query.get("asset_class")
        exchange = query.get("exchange")
        assets = [asset_json(a) for a in ASSETS
                  if status in (None, "", "active") and asset_class in (None, "", "us_equity")
                  and exchange in (None, "", a.exchange)]
        return json_response(assets)

    return await guarded(request, "account", account.account_id, RENDERER, act)


async def get_asset(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        symbol = request.match_info["symbol"]
        asset = lookup(symbol)
        if asset is None:
            raise errors.asset_not_found(symbol)
        return json_response(asset_json(asset))

    return await guarded(request, "account", account.account_id, RENDERER, act)


async def get_clock(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        venue = venue_of(request)
        now = venue.now()
        book_of(request).sync_session(now)
        return json_response(clock_json(now, venue.hours.real_hours, venue.hours.us(now) is Session.OPEN))

    return await guarded(request, "account", account.account_id, RENDERER, act)


async def get_calendar(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        today = venue_of(request).now().astimezone(ET).date()
        start = _date(request.query.get("start"), "start") or today
        end = _date(request.query.get("end"), "end") or (start + timedelta(days=30))
        return json_response(calendar_json(start, end))

    return await guarded(request, "account", account.account_id, RENDERER, act)


def _date(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise errors.invalid(f"invalid {name}") from None
