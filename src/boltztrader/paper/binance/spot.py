"""Spot TRADE / USER_DATA endpoints under ``/api/v3``: orders, queries, cancels, trades, account,
and the legacy listenKey calls (API-key header only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from boltztrader.paper.binance import errors, wire
from boltztrader.paper.binance.catalogue import SPOT, SPOT_MAKER_FEE, SPOT_TAKER_FEE
from boltztrader.paper.binance.errors import RENDERER, BinanceError, json_response
from boltztrader.paper.binance.signing import api_account, epoch_ms, read_params, signed
from boltztrader.paper.binance.spot_orders import SpotOrder, engine_rejection, parse_order, symbol_spec
from boltztrader.paper.binance.state import BinanceVenue, venue_of
from boltztrader.paper.http import guarded
from boltztrader.paper.model import NotCancelable, Order, Rejected, UnknownOrder
from boltztrader.paper.venue import PaperAccount

# the (10 s, long window) unfilled order counts after an accepted order, for the response headers
ORDER_COUNTS: web.RequestKey[tuple[int, int]] = web.RequestKey("binance_order_counts", tuple)


def _validated(venue: BinanceVenue, account: PaperAccount, values: Mapping[str, str]) -> SpotOrder:
    spec = symbol_spec(values)
    parsed = parse_order(values, venue.engine.quote(spec.symbol).last)
    request = parsed.request
    existing = venue.engine.find_by_client_id(account.account_id, request.client_order_id)
    if existing is not None and not existing.state.is_final:
        raise errors.rejected(errors.DUPLICATE_ORDER)
    if venue.engine.would_trigger_immediately(request):
        raise errors.rejected(errors.WOULD_TRIGGER)
    if parsed.wire_type == "LIMIT_MAKER":
        quote = venue.engine.quote(spec.symbol)
        assert request.price is not None
        if (request.side.value == "BUY" and request.price >= quote.ask) or (
            request.side.value == "SELL" and request.price <= quote.bid
        ):
            raise errors.rejected(errors.WOULD_TAKE)
    return parsed


async def new_order(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)

    async def act() -> web.StreamResponse:
        parsed = _validated(venue, account, values)
        now = venue.now()
        limits = venue.binance.spot_limits
        limits.check_order(account.account_id, now.timestamp())
        try:
            order, events = venue.engine.submit(account.account_id, parsed.request, now)
        except Rejected as exc:
            raise engine_rejection(exc.reason, exc.message) from None
        request[ORDER_COUNTS] = limits.count_order(account.account_id, now.timestamp())
        venue.publish(events)
        if parsed.response_type == "ACK":
            return json_response(wire.spot_ack(order))
        if parsed.response_type == "RESULT":
            return json_response(wire.spot_result(order))
        return json_response(wire.spot_full(order))

    return await guarded(request, "place_order", account.account_id, RENDERER, act)


async def test_order(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)
    _validated(venue, account, values)
    if values.get("computeCommissionRates") == "true":
        maker, taker = wire.fmt8(SPOT_MAKER_FEE), wire.fmt8(SPOT_TAKER_FEE)
        zero = wire.fmt8(None)
        return json_response(
            {
                "standardCommissionForOrder": {"maker": maker, "taker": taker},
                "specialCommissionForOrder": {"maker": zero, "taker": zero},
                "taxCommissionForOrder": {"maker": zero, "taker": zero},
                "discount": {
                    "enabledForAccount": False,
                    "enabledForSymbol": False,
                    "discountAsset": "BNB",
                    "discount": "0.25000000",
                },
            }
        )
    return json_response({})


def find_order(
    venue: BinanceVenue, account_id: str, values: Mapping[str, str], missing: BinanceError
) -> Order:
    """By ``orderId`` and/or ``origClientOrderId`` within ``symbol``; ``missing`` when not found."""
    spec = symbol_spec(values)
    order_id = wire.int_param(values, "orderId")
    client_id = values.get("origClientOrderId") or None
    if order_id is None and client_id is None:
        raise errors.one_of("origClientOrderId", "orderId")
    if order_id is not None:
        try:
            order = venue.engine.get(account_id, order_id)
        except UnknownOrder:
            raise missing from None
        if client_id is not None and order.request.client_order_id != client_id:
            raise errors.client_id_mismatch()
    else:
        assert client_id is not None
        found = venue.engine.find_by_client_id(account_id, client_id)
        if found is None:
            raise missing
        order = found
    if order.symbol != spec.symbol:
        raise missing
    return order


async def get_order(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)

    async def act() -> web.StreamResponse:
        return json_response(
            wire.spot_order(find_order(venue, account.account_id, values, errors.no_such_order()))
        )

    return await guarded(request, "get_order", account.account_id, RENDERER, act)


def _cancel(venue: BinanceVenue, account_id: str, order: Order, cancel_id: str) -> dict[str, Any]:
    now = venue.now()
    try:
        cancelled, events = venue.engine.cancel(account_id, order.order_id, now)
    except (UnknownOrder, NotCancelable):
        raise errors.unknown_order() from None
    venue.binance.cancel_ids[cancelled.order_id] = cancel_id
    venue.publish(events)
    return wire.spot_cancel(cancelled, cancel_id, now)


async def cancel_order(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)

    async def act() -> web.StreamResponse:
        restriction = values.get("cancelRestrictions")
        if restriction not in (None, "ONLY_NEW", "ONLY_PARTIALLY_FILLED"):
            raise BinanceError(-1145, "Invalid cancelRestrictions")
        cancel_id = wire.spot_client_id(values)
        order = find_order(venue, account.account_id, values, errors.unknown_order())
        status = wire.SPOT_STATUS[order.state]
        if restriction is not None and status in ("NEW", "PARTIALLY_FILLED") and status != restriction[5:]:
            raise BinanceError(-2011, "Order was not canceled due to cancel restrictions.")
        return json_response(_cancel(venue, account.account_id, order, cancel_id))

    return await guarded(request, "cancel_order", account.account_id, RENDERER, act)


async def cancel_open_orders(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)

    async def act() -> web.StreamResponse:
        spec = symbol_spec(values)
        orders = venue.engine.orders(account.account_id, open_only=True, symbol=spec.symbol)
        if not orders:
            raise errors.unknown_order()
        return json_response([_cancel(venue, account.account_id, o, wire.new_client_id()) for o in orders])

    return await guarded(request, "cancel_order", account.account_id, RENDERER, act)


async def open_orders(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)

    async def act() -> web.StreamResponse:
        symbol = symbol_spec(values).symbol if values.get("symbol") else None
        orders = venue.engine.orders(account.account_id, open_only=True, symbol=symbol)
        return json_response([wire.spot_order(o) for o in orders])

    return await guarded(request, "list_orders", account.account_id, RENDERER, act)


def _limit(values: Mapping[str, str]) -> int:
    limit = wire.int_param(values, "limit") or 500
    if limit > 1000:
        raise errors.too_large("limit", "1000")
    return limit


def _window(values: Mapping[str, str]) -> tuple[int | None, int | None]:
    start, end = wire.int_param(values, "startTime"), wire.int_param(values, "endTime")
    if start is not None and end is not None and end - start > 24 * 3600 * 1000:
        raise BinanceError(-1127, "More than 24 hours between startTime and endTime.")
    return start, end


async def all_orders(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)

    async def act() -> web.StreamResponse:
        spec = symbol_spec(values)
        from_id = wire.int_param(values, "orderId")
        start, end = _window(values)
        limit = _limit(values)
        rows = []
        for order in venue.engine.orders(account.account_id, symbol=spec.symbol):
            created = wire.ms(order.created_at)
            if (
                (from_id is not None and order.order_id < from_id)
                or (start is not None and created < start)
                or (end is not None and created > end)
            ):
                continue
            rows.append(order)
        if from_id is None and start is None:
            rows = rows[-limit:]
        return json_response([wire.spot_order(o) for o in rows[:limit]])

    return await guarded(request, "list_orders", account.account_id, RENDERER, act)


async def my_trades(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)

    async def act() -> web.StreamResponse:
        spec = symbol_spec(values)
        order_id = wire.int_param(values, "orderId")
        from_id = wire.int_param(values, "fromId")
        start, end = _window(values)
        limit = _limit(values)
        rows = []
        for fill in venue.engine.fills(account.account_id, symbol=spec.symbol):
            at = wire.ms(fill.time)
            if (
                (order_id is not None and fill.order_id != order_id)
                or (from_id is not None and fill.trade_id < from_id)
                or (start is not None and at < start)
                or (end is not None and at > end)
            ):
                continue
            rows.append(fill)
        if from_id is None and start is None:
            rows = rows[-limit:]
        return json_response(
            [wire.spot_trade(f, venue.engine.get(account.account_id, f.order_id)) for f in rows[:limit]]
        )

    return await guarded(request, "list_orders", account.account_id, RENDERER, act)


def spot_assets() -> list[str]:
    assets = ["USDT"]
    for spec in SPOT.values():
        if spec.base not in assets:
            assets.append(spec.base)
    return assets


async def account_info(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)

    async def act() -> web.StreamResponse:
        engine_account = venue.engine.account(account.account_id)
        names = spot_assets() + sorted(set(engine_account.balances) - set(spot_assets()))
        balances = []
        for asset in names:
            balance = engine_account.balances.get(asset)
            free, locked = (balance.free, balance.locked) if balance is not None else (None, None)
            if values.get("omitZeroBalances") == "true" and not free and not locked:
                continue
            balances.append({"asset": asset, "free": wire.fmt8(free), "locked": wire.fmt8(locked)})
        rate = wire.fmt8(SPOT_TAKER_FEE)
        return json_response(
            {
                "makerCommission": 10,
                "takerCommission": 10,
                "buyerCommission": 0,
                "sellerCommission": 0,
                "commissionRates": {
                    "maker": wire.fmt8(SPOT_MAKER_FEE),
                    "taker": rate,
                    "buyer": wire.fmt8(None),
                    "seller": wire.fmt8(None),
                },
                "canTrade": True,
                "canWithdraw": True,
                "canDeposit": True,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": epoch_ms(venue),
                "accountType": "SPOT",
                "balances": balances,
                "permissions": ["SPOT"],
                "uid": int(account.account_id[2:]),
            }
        )

    return await guarded(request, "account", account.account_id, RENDERER, act)


async def order_rate_limit(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, _ = await signed(request, venue)
    limits = venue.binance.spot_limits
    count_10s, count_1d = limits.current(account.account_id, venue.now().timestamp())
    return json_response(
        [
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": 10,
                "limit": limits.orders_10s,
                "count": count_10s,
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "DAY",
                "intervalNum": 1,
                "limit": limits.orders_1d,
                "count": count_1d,
            },
        ]
    )


# -- legacy listenKey (USER_STREAM: API key only) ---------------------------------------------------------
async def listen_key(request: web.Request) -> web.StreamResponse:
    """``POST|PUT|DELETE /api/v3/userDataStream`` and ``/fapi/v1/listenKey``."""
    venue = venue_of(request)
    account = api_account(venue, request.headers)
    futures = request.path.startswith("/fapi")
    account_id = account.account_id + (":F" if futures else "")
    state = venue.binance
    if request.method == "POST":
        return json_response({"listenKey": state.listen_key(account_id, futures)})
    params = await read_params(request)
    key = params.values.get("listenKey") or (state.key_of.get(account_id) if futures else None)
    if not key:
        raise errors.mandatory("listenKey")
    entry = state.lookup(key)
    if entry is None or entry.account_id != account_id:
        raise errors.bad_listen_key()
    if request.method == "PUT":
        state.listen_key(account_id, futures)
        return json_response({"listenKey": key} if futures else {})
    state.close(key)
    return json_response({})
