"""What the three paper servers share over HTTP: fault application and the ``/_paper/`` admin API."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from aiohttp import web

from boltztrader.paper.faults import Action, BadFaultPlan, FaultPlan
from boltztrader.paper.model import Account
from boltztrader.paper.venue import PaperAccount, Venue

VENUE_KEY: web.AppKey[Venue] = web.AppKey("venue", Venue)


class ErrorRenderer(Protocol):
    """How one broker words the failures the fault plan injects."""

    def server_error(self, status: int) -> web.Response: ...

    def rate_limited(self, status: int, retry_after_s: float) -> web.Response: ...


async def guarded(request: web.Request, op: str, account_id: str | None, renderer: ErrorRenderer,
                  act: Callable[[], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Run ``act`` under the venue's fault plan: latency and refusals before, errors or drops after."""
    venue = request.app[VENUE_KEY]
    for decision in venue.faults.before(op, account_id):
        if decision.action is Action.LATENCY:
            await asyncio.sleep(decision.seconds)
        elif decision.action in (Action.RATE_LIMIT, Action.BAN):
            return renderer.rate_limited(decision.status, decision.seconds)
        else:
            return renderer.server_error(decision.status)
    response = await act()
    for decision in venue.faults.after(op, account_id):
        if decision.action is Action.ERROR_AFTER:
            return renderer.server_error(decision.status)
        if decision.action is Action.HOLD_AFTER:
            await asyncio.sleep(decision.seconds)
        elif decision.action is Action.DROP_AFTER:
            if request.transport is not None:
                request.transport.close()
            raise ConnectionResetError("paper fault plan: connection dropped after acting")
    return response


def decimal_text(value: Decimal) -> str:
    """A Decimal as plain digits (never scientific notation)."""
    return format(value, "f")


CredentialsView = Callable[[PaperAccount], dict[str, Any]]


def admin_routes(credentials: CredentialsView, default_currency: str) -> list[web.RouteDef]:
    """The ``/_paper/`` admin API; ``credentials`` names an account's keys the broker's way."""

    async def create_account(request: web.Request) -> web.Response:
        venue = request.app[VENUE_KEY]
        body = await _json_body(request)
        cash = _cash(body.get("cash"), default_currency)
        account = venue.create_account(cash)
        return _ok({"account_id": account.account_id, **credentials(account)}, status=201)

    async def show_account(request: web.Request) -> web.Response:
        venue = request.app[VENUE_KEY]
        account_id = request.match_info["account_id"]
        if account_id not in venue.accounts:
            raise _bad(f"no paper account {account_id}", status=404)
        return _ok(account_state(venue, venue.engine.account(account_id)))

    async def set_prices(request: web.Request) -> web.Response:
        venue = request.app[VENUE_KEY]
        body = await _json_body(request)
        prices = body.get("prices")
        if not isinstance(prices, dict) or not prices:
            raise _bad('send {"prices": {"SYMBOL": "123.45", ...}}')
        for symbol in prices:
            if symbol not in venue.engine.instruments:
                raise _bad(f"unknown symbol {symbol}")
        wanted = {symbol: _number(price, f"prices.{symbol}") for symbol, price in prices.items()}
        liquidity = body.get("liquidity") or {}
        if not isinstance(liquidity, dict) or not set(liquidity) <= set(wanted):
            raise _bad('liquidity is {"SYMBOL": "quantity"} for symbols whose price is being set')
        for symbol, price in wanted.items():
            cap = liquidity.get(symbol)
            venue.set_price(symbol, price,
                            liquidity=None if cap is None else _number(cap, f"liquidity.{symbol}"))
        return _ok({"prices": {s: decimal_text(venue.market.prices[s]) for s in wanted}})

    async def tick(request: web.Request) -> web.Response:
        venue = request.app[VENUE_KEY]
        body = await _json_body(request)
        steps = body.get("steps", 1)
        if not isinstance(steps, int) or not 1 <= steps <= 100_000:
            raise _bad("steps must be an integer from 1 to 100000")
        venue.advance(steps)
        return _ok({"prices": {s: decimal_text(p) for s, p in venue.market.prices.items()}})

    async def replay(request: web.Request) -> web.Response:
        venue = request.app[VENUE_KEY]
        text = await request.text()
        series: dict[str, list[Decimal]] = {}
        for row in csv.reader(io.StringIO(text)):
            if not row or row[0].strip().lower() in ("", "symbol"):
                continue
            if len(row) < 2:
                raise _bad("each CSV row is symbol,price")
            series.setdefault(row[0].strip(), []).append(_number(row[1].strip(), row[0]))
        try:
            venue.market.replay(series)
        except (KeyError, ValueError) as exc:
            raise _bad(f"cannot replay: {exc}") from None
        return _ok({"symbols": sorted(series)})

    async def revoke(request: web.Request) -> web.Response:
        venue = request.app[VENUE_KEY]
        account_id = request.match_info["account_id"]
        if account_id not in venue.accounts:
            raise _bad(f"no paper account {account_id}", status=404)
        venue.revoke(account_id)
        return _ok({"revoked": account_id})

    async def get_prices(request: web.Request) -> web.Response:
        venue = request.app[VENUE_KEY]
        return _ok({"prices": {s: decimal_text(p) for s, p in venue.market.prices.items()}})

    async def put_faults(request: web.Request) -> web.Response:
        venue = request.app[VENUE_KEY]
        try:
            venue.faults = FaultPlan.parse(await _json_body(request))
        except BadFaultPlan as exc:
            raise _bad(str(exc)) from None
        return _ok(venue.faults.to_json())

    async def get_faults(request: web.Request) -> web.Response:
        return _ok(request.app[VENUE_KEY].faults.to_json())

    async def clear_faults(request: web.Request) -> web.Response:
        request.app[VENUE_KEY].faults = FaultPlan()
        return _ok(FaultPlan().to_json())

    async def reset(request: web.Request) -> web.Response:
        request.app[VENUE_KEY].reset()
        return _ok({"reset": True})

    return [
        web.post("/_paper/accounts", create_account),
        web.get("/_paper/accounts/{account_id}", show_account),
        web.post("/_paper/accounts/{account_id}/revoke", revoke),
        web.get("/_paper/prices", get_prices),
        web.post("/_paper/prices", set_prices),
        web.post("/_paper/tick", tick),
        web.post("/_paper/replay", replay),
        web.get("/_paper/faults", get_faults),
        web.put("/_paper/faults", put_faults),
        web.delete("/_paper/faults", clear_faults),
        web.post("/_paper/reset", reset),
    ]


def account_state(venue: Venue, account: Account) -> dict[str, Any]:
    """Balances, positions and order counts of one account, for tests and the demo."""
    engine = venue.engine
    return {
        "account_id": account.account_id,
        "balances": {a: {"free": decimal_text(b.free), "locked": decimal_text(b.locked)}
                     for a, b in sorted(account.balances.items())},
        "positions": {s: {"quantity": decimal_text(p.quantity),
                          "average_price": decimal_text(p.average_price),
                          "realized_pnl": decimal_text(p.realized_pnl)}
                      for s, p in sorted(account.positions.items()) if p.quantity or p.realized_pnl},
        "open_orders": len(engine.orders(account.account_id, open_only=True)),
        "orders": len(engine.orders(account.account_id)),
        "fills": len(engine.fills(account.account_id)),
    }


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise _bad("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _bad("body must be a JSON object")
    return body


def _cash(raw: Any, default_currency: str) -> dict[str, Decimal] | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        return {str(asset): _number(amount, f"cash.{asset}") for asset, amount in raw.items()}
    return {default_currency: _number(raw, "cash")}


def _number(raw: Any, where: str) -> Decimal:
    if isinstance(raw, float):
        raw = repr(raw)
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise _bad(f"{where} must be a number") from None
    if not value.is_finite() or value < 0:
        raise _bad(f"{where} must be a finite, non-negative number")
    return value


def _ok(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _bad(message: str, status: int = 400) -> web.HTTPException:
    error = web.HTTPBadRequest if status == 400 else web.HTTPNotFound
    return error(text=json.dumps({"error": message}), content_type="application/json")
