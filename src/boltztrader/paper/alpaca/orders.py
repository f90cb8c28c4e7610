"""``/v2/orders``: place, list, look up, replace and cancel, under the venue's fault plan."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from boltztrader.paper.alpaca import errors
from boltztrader.paper.alpaca.context import account_of, book_of, venue_of
from boltztrader.paper.alpaca.errors import RENDERER, AlpacaError
from boltztrader.paper.alpaca.records import FINAL, AlpacaOrder
from boltztrader.paper.alpaca.views import order_json
from boltztrader.paper.alpaca.wire import (
    TIFS,
    decimal_of,
    decimals,
    num,
    parse_body,
    parse_order,
    parse_time,
    query_bool,
)
from boltztrader.paper.http import guarded

JSON = "application/json"
MAX_LIMIT = 500


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type=JSON)


async def place(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        spec = parse_order(parse_body(await request.read()))
        venue = venue_of(request)
        order = book_of(request).submit(account.account_id, spec, venue.now())
        return json_response(_accepted(order))

    return await guarded(request, "place_order", account.account_id, RENDERER, act)


def _accepted(order: AlpacaOrder) -> dict[str, Any]:
    """The POST/PATCH reply: the order as just accepted (fills are reported afterwards)."""
    if order.status == "rejected":
        return order_json(order)
    status = "accepted" if order.engine is None else "pending_new"
    return order_json(order, status=status, filled_qty=Decimal(0), filled_quote=Decimal(0),
                      updated_at=order.submitted_at)


async def list_orders(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        query = request.query
        status = query.get("status", "open") or "open"
        if status not in ("open", "closed", "all"):
            raise errors.invalid("invalid status")
        limit = _int(query.get("limit"), "limit", 50)
        if not 1 <= limit <= MAX_LIMIT:
            raise errors.invalid(f"limit must be between 1 and {MAX_LIMIT}")
        direction = (query.get("direction") or "desc").lower()
        if direction not in ("asc", "desc"):
            raise errors.invalid("invalid direction")
        after = parse_time(query["after"], "after") if query.get("after") else None
        until = parse_time(query["until"], "until") if query.get("until") else None
        symbols = {s.strip() for s in query.get("symbols", "").split(",") if s.strip()} or None
        side = query.get("side") or None
        query_bool(query.get("nested"))  # no multi-leg orders here: nested changes nothing
        book = book_of(request)
        newest_first = direction == "desc"
        if status == "open":
            candidates = sorted(book.open_orders(account.account_id), key=lambda o: o.submitted_at,
                                reverse=newest_first)
        else:
            candidates = list(book.iter_orders(account.account_id, newest_first=newest_first))
        found: list[dict[str, Any]] = []
        for order in candidates:
            if after is not None and order.submitted_at <= after:
                if newest_first and status != "open":
                    break
                continue
            if until is not None and order.submitted_at >= until:
                if not newest_first and status != "open":
                    break
                continue
            if status == "closed" and order.status not in FINAL:
                continue
            if symbols is not None and order.symbol not in symbols:
                continue
            if side is not None and order.spec.side != side:
                continue
            found.append(order_json(order))
            if len(found) >= limit:
                break
        return json_response(found)

    return await guarded(request, "list_orders", account.account_id, RENDERER, act)


async def get_order(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        order_id = _order_id(request)
        return json_response(order_json(book_of(request).get(account.account_id, order_id)))

    return await guarded(request, "get_order", account.account_id, RENDERER, act)


async def get_by_client_id(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        client_order_id = request.query.get("client_order_id")
        if not client_order_id:
            raise errors.invalid("client_order_id is required")
        return json_response(order_json(book_of(request).by_client_id(account.account_id, client_order_id)))

    return await guarded(request, "get_order", account.account_id, RENDERER, act)


async def replace(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        order_id = _order_id(request)
        body = parse_body(await request.read())
        qty = decimal_of(body.get("qty"), "qty")
        if qty is not None and (qty <= 0 or qty != qty.to_integral_value()):
            raise errors.invalid("qty must be a positive whole number")
        tif = body.get("time_in_force")
        if tif is not None and tif not in TIFS:
            raise errors.invalid("invalid time_in_force")
        if body.get("trail") is not None:
            raise errors.unprocessable("trailing_stop orders are not supported by the paper server")
        client_order_id = body.get("client_order_id")
        if client_order_id is not None and not isinstance(client_order_id, str):
            raise errors.invalid("invalid client_order_id")
        limit_price = decimal_of(body.get("limit_price"), "limit_price")
        stop_price = decimal_of(body.get("stop_price"), "stop_price")
        for name, price in (("limit_price", limit_price), ("stop_price", stop_price)):
            if price is not None and (price <= 0 or decimals(price) > (2 if price >= 1 else 4)):
                raise errors.sub_penny(name, num(price))
        venue = venue_of(request)
        new = book_of(request).replace(account.account_id, order_id, venue.now(), qty=qty,
                                       limit_price=limit_price, stop_price=stop_price,
                                       time_in_force=tif, client_order_id=client_order_id)
        return json_response(_accepted(new))

    return await guarded(request, "place_order", account.account_id, RENDERER, act)


async def cancel(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        order_id = _order_id(request)
        book_of(request).cancel(account.account_id, order_id, venue_of(request).now())
        return web.Response(status=204)

    return await guarded(request, "cancel_order", account.account_id, RENDERER, act)


async def cancel_all(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        book = book_of(request)
        now: datetime = venue_of(request).now()
        results: list[dict[str, Any]] = []
        for order in book.open_orders(account.account_id):
            try:
                book.cancel(account.account_id, order.id, now)
            except AlpacaError as exc:
                results.append({"id": order.id, "status": exc.status, "body": exc.body()})
            else:
                results.append({"id": order.id, "status": 200})
        return json_response(results, status=207)

    return await guarded(request, "cancel_order", account.account_id, RENDERER, act)


def _order_id(request: web.Request) -> str:
    raw = request.match_info["order_id"]
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise errors.invalid("order_id is missing") from None


def _int(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise errors.invalid(f"invalid {name}") from None
