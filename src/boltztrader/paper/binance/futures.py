"""USD-M futures TRADE / USER_DATA endpoints under ``/fapi``: orders, leverage, positions, balances.

Each paper account trades futures from its own engine account ``<account_id>:F`` (see ``state``).
Conditional types on ``/fapi/v1/order`` get -4120, as since 2025-12-09 (the algo endpoint is not
simulated).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from aiohttp import web

from boltztrader.paper.binance import errors, fwire, wire
from boltztrader.paper.binance.catalogue import PERPS, PerpSpec, futures_account, perp_engine_symbol
from boltztrader.paper.binance.errors import RENDERER, BinanceError, json_response
from boltztrader.paper.binance.signing import signed
from boltztrader.paper.binance.spot import ORDER_COUNTS
from boltztrader.paper.binance.state import BinanceVenue, venue_of
from boltztrader.paper.http import guarded
from boltztrader.paper.model import (
    Kind,
    NotCancelable,
    Order,
    OrderRequest,
    Rejected,
    RejectReason,
    Side,
    TimeInForce,
    UnknownOrder,
)

CONDITIONAL = frozenset({"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"})
TIFS = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK, "GTX": TimeInForce.GTC}


def perp(values: Mapping[str, str], *, needed: bool = True) -> PerpSpec | None:
    symbol = values.get("symbol")
    if not symbol:
        if needed:
            raise errors.mandatory("symbol")
        return None
    spec = PERPS.get(symbol)
    if spec is None:
        raise errors.bad_symbol()
    return spec


def _need(spec: PerpSpec | None) -> PerpSpec:
    assert spec is not None
    return spec


def _fdecimal(values: Mapping[str, str], name: str, decimals: int, *, required: bool) -> Decimal | None:
    value = wire.decimal_param(values, name, max_decimals=20, required=required)
    if value is not None:
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > decimals:
            raise BinanceError(-1111, "Precision is over the maximum defined for this asset.")
    return value


def parse_order(venue: BinanceVenue, values: Mapping[str, str]) -> tuple[OrderRequest, str]:
    spec = _need(perp(values))
    side = wire.required(values, "side")
    wire_type = wire.required(values, "type")
    if side not in ("BUY", "SELL"):
        raise errors.invalid_side()
    if wire_type in CONDITIONAL:
        raise errors.use_algo_endpoint()
    if wire_type not in ("MARKET", "LIMIT"):
        raise errors.invalid_type()
    if values.get("positionSide", "BOTH") != "BOTH":
        raise BinanceError(-4061, "Order's position side does not match user's setting.")
    reduce_text = values.get("reduceOnly", "false").lower()
    if reduce_text not in ("true", "false"):
        raise errors.invalid_value("reduceOnly")
    tif_text = "GTC"
    if wire_type == "LIMIT":
        tif_text = wire.required(values, "timeInForce")
        if tif_text not in TIFS:
            raise errors.invalid_tif()
    quantity = _fdecimal(values, "quantity", spec.quantity_precision, required=True)
    price = _fdecimal(values, "price", spec.price_precision, required=wire_type == "LIMIT")
    response_type = values.get("newOrderRespType", "ACK")
    if response_type not in ("ACK", "RESULT"):
        raise errors.invalid_value("newOrderRespType")
    client_id = wire.futures_client_id(values)
    assert quantity is not None
    if quantity <= 0:
        raise BinanceError(-4003, "Quantity less than or equal to zero.")
    if quantity < spec.min_qty:
        raise BinanceError(-4004, "Quantity less than min quantity.")
    if quantity > (spec.max_qty if wire_type == "LIMIT" else spec.market_max_qty):
        raise BinanceError(-4005, "Quantity greater than max quantity.")
    if (quantity - spec.min_qty) % spec.step:
        raise BinanceError(-4023, "Quantity not increased by step size.")
    engine_symbol = perp_engine_symbol(spec.symbol)
    quote = venue.engine.quote(engine_symbol)
    if price is not None:
        if price < spec.min_price:
            raise BinanceError(-4013, "Price less than min price.")
        if price > spec.max_price:
            raise BinanceError(-4016, "Price greater than max price.")
        if (price - spec.min_price) % spec.tick:
            raise BinanceError(-4014, "Price not increased by tick size.")
    reduce_only = reduce_text == "true"
    if not reduce_only and quantity * (price or quote.last) < spec.min_notional:
        raise BinanceError(
            -4164,
            f"Order's notional must be no smaller than {spec.min_notional} (unless you choose reduce only).",
        )
    if (
        tif_text == "GTX"
        and price is not None
        and ((side == "BUY" and price >= quote.ask) or (side == "SELL" and price <= quote.bid))
    ):
        raise BinanceError(
            -5022, "Due to the order could not be executed as maker, the Post Only order will be rejected."
        )
    request = OrderRequest(
        symbol=engine_symbol,
        side=Side(side),
        kind=Kind.MARKET if wire_type == "MARKET" else Kind.LIMIT,
        quantity=quantity,
        price=price,
        time_in_force=TIFS[tif_text],
        client_order_id=client_id,
        reduce_only=reduce_only,
        tags={"type": wire_type, "tif": tif_text},
    )
    return request, response_type


def engine_rejection(reason: RejectReason, message: str) -> BinanceError:
    if reason is RejectReason.INSUFFICIENT_FUNDS:
        return errors.margin_insufficient()
    if reason is RejectReason.REDUCE_ONLY:
        return BinanceError(-2022, "ReduceOnly Order is rejected.")
    if reason is RejectReason.TICK_SIZE:
        return BinanceError(-4014, "Price not increased by tick size.")
    if reason in (RejectReason.LOT_SIZE, RejectReason.INVALID_QUANTITY):
        return BinanceError(-4023, "Quantity not increased by step size.")
    if reason is RejectReason.MIN_NOTIONAL:
        return BinanceError(
            -4164, "Order's notional must be no smaller than 5 (unless you choose reduce only)."
        )
    return BinanceError(-1000, message or "An unknown error occurred while processing the request.")


async def new_order(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)
    account_id = futures_account(account.account_id)

    async def act() -> web.StreamResponse:
        order_request, response_type = parse_order(venue, values)
        existing = venue.engine.find_by_client_id(account_id, order_request.client_order_id)
        if existing is not None and not existing.state.is_final:
            raise errors.futures_duplicate()
        now = venue.now()
        limits = venue.binance.futures_limits
        limits.check_order(account_id, now.timestamp())
        try:
            order, events = venue.engine.submit(account_id, order_request, now)
        except Rejected as exc:
            raise engine_rejection(exc.reason, exc.message) from None
        request[ORDER_COUNTS] = limits.count_order(account_id, now.timestamp())
        venue.publish(events)
        body = fwire.futures_order(order, with_time=False)
        if response_type == "ACK":
            spec = fwire.spec_of(order.symbol)
            body.update(
                {
                    "status": "NEW",
                    "executedQty": fwire.qty_text(spec, None),
                    "cumQty": fwire.qty_text(spec, None),
                    "cumQuote": fwire.money(Decimal(0)),
                    "avgPrice": fwire.price_text(spec, None),
                }
            )
        return json_response(body)

    return await guarded(request, "place_order", account.account_id, RENDERER, act)


def find_order(
    venue: BinanceVenue, account_id: str, values: Mapping[str, str], missing: BinanceError
) -> Order:
    spec = _need(perp(values))
    order_id = wire.int_param(values, "orderId")
    client_id = values.get("origClientOrderId") or None
    if order_id is None and client_id is None:
        raise errors.one_of("orderId", "origClientOrderId")
    if order_id is not None:
        try:
            order = venue.engine.get(account_id, order_id)
        except UnknownOrder:
            raise missing from None
    else:
        assert client_id is not None
        found = venue.engine.find_by_client_id(account_id, client_id)
        if found is None:
            raise missing
        order = found
    if fwire.wire_symbol(order.symbol) != spec.symbol:
        raise missing
    return order


async def get_order(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)
    account_id = futures_account(account.account_id)

    async def act() -> web.StreamResponse:
        return json_response(
            fwire.futures_order(find_order(venue, account_id, values, errors.no_such_order()))
        )

    return await guarded(request, "get_order", account.account_id, RENDERER, act)


def _cancel(venue: BinanceVenue, account_id: str, order: Order) -> Order:
    try:
        cancelled, events = venue.engine.cancel(account_id, order.order_id, venue.now())
    except (UnknownOrder, NotCancelable):
        raise errors.unknown_order() from None
    venue.publish(events)
    return cancelled


async def cancel_order(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)
    account_id = futures_account(account.account_id)

    async def act() -> web.StreamResponse:
        order = find_order(venue, account_id, values, errors.unknown_order())
        return json_response(fwire.futures_order(_cancel(venue, account_id, order), with_time=False))

    return await guarded(request, "cancel_order", account.account_id, RENDERER, act)


async def cancel_all(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)
    account_id = futures_account(account.account_id)

    async def act() -> web.StreamResponse:
        spec = _need(perp(values))
        for order in venue.engine.orders(account_id, open_only=True, symbol=perp_engine_symbol(spec.symbol)):
            _cancel(venue, account_id, order)
        return json_response({"code": 200, "msg": "The operation of cancel all open order is done."})

    return await guarded(request, "cancel_order", account.account_id, RENDERER, act)


async def open_orders(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)
    account_id = futures_account(account.account_id)

    async def act() -> web.StreamResponse:
        spec = perp(values, needed=False)
        symbol = perp_engine_symbol(spec.symbol) if spec is not None else None
        return json_response(
            [fwire.futures_order(o) for o in venue.engine.orders(account_id, open_only=True, symbol=symbol)]
        )

    return await guarded(request, "list_orders", account.account_id, RENDERER, act)


async def all_orders(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)
    account_id = futures_account(account.account_id)

    async def act() -> web.StreamResponse:
        spec = _need(perp(values))
        from_id = wire.int_param(values, "orderId") or 0
        limit = min(wire.int_param(values, "limit") or 500, 1000)
        rows = [
            o
            for o in venue.engine.orders(account_id, symbol=perp_engine_symbol(spec.symbol))
            if o.order_id >= from_id
        ]
        rows = rows[:limit] if from_id else rows[-limit:]
        return json_response([fwire.futures_order(o) for o in rows])

    return await guarded(request, "list_orders", account.account_id, RENDERER, act)


async def user_trades(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)
    account_id = futures_account(account.account_id)

    async def act() -> web.StreamResponse:
        spec = _need(perp(values))
        order_id = wire.int_param(values, "orderId")
        rows = []
        for fill in venue.engine.fills(account_id, symbol=perp_engine_symbol(spec.symbol)):
            if order_id is not None and fill.order_id != order_id:
                continue
            rows.append(
                {
                    "buyer": fill.side is Side.BUY,
                    "commission": fwire.money(fill.fee),
                    "commissionAsset": fill.fee_asset,
                    "id": fill.trade_id,
                    "maker": fill.is_maker,
                    "orderId": fill.order_id,
                    "price": fwire.price_text(spec, fill.price),
                    "qty": fwire.qty_text(spec, fill.quantity),
                    "quoteQty": fwire.money(fill.price * fill.quantity),
                    "realizedPnl": "0",
                    "side": fill.side.value,
                    "positionSide": "BOTH",
                    "symbol": spec.symbol,
                    "time": wire.ms(fill.time),
                }
            )
        return json_response(rows[-(wire.int_param(values, "limit") or 500) :])

    return await guarded(request, "list_orders", account.account_id, RENDERER, act)


async def leverage(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)
    spec = _need(perp(values))
    value = wire.int_param(values, "leverage", required=True)
    assert value is not None
    if not 1 <= value <= spec.max_leverage:
        raise BinanceError(-4028, f"Leverage {value} is not valid")
    venue.engine.set_leverage(futures_account(account.account_id), perp_engine_symbol(spec.symbol), value)
    return json_response({"leverage": value, "maxNotionalValue": "1000000", "symbol": spec.symbol})


async def margin_type(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    _, values = await signed(request, venue)
    _need(perp(values))
    wanted = wire.required(values, "marginType")
    if wanted == "CROSSED":
        raise BinanceError(-4046, "No need to change margin type.")
    raise errors.invalid_value("marginType")


async def position_mode(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    _, values = await signed(request, venue)
    if request.method == "GET":
        return json_response({"dualSidePosition": False})
    if wire.required(values, "dualSidePosition").lower() == "false":
        raise BinanceError(-4059, "No need to change position side.")
    raise errors.invalid_value("dualSidePosition")


def _marks(venue: BinanceVenue) -> dict[str, Decimal]:
    return {perp_engine_symbol(s): venue.engine.quote(perp_engine_symbol(s)).last for s in PERPS}


async def position_risk(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, values = await signed(request, venue)
    version = 3 if "/v3/" in request.path else 2

    async def act() -> web.StreamResponse:
        spec = perp(values, needed=False)
        engine_account = venue.engine.account(futures_account(account.account_id))
        return json_response(
            fwire.position_rows(
                engine_account,
                _marks(venue),
                engine_account.leverage,
                venue.now(),
                symbol=spec.symbol if spec else None,
                version=version,
            )
        )

    return await guarded(request, "account", account.account_id, RENDERER, act)


async def balance(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, _ = await signed(request, venue)

    async def act() -> web.StreamResponse:
        engine_account = venue.engine.account(futures_account(account.account_id))
        return json_response(fwire.balance_rows(engine_account, _marks(venue), venue.now()))

    return await guarded(request, "account", account.account_id, RENDERER, act)


async def account_info(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    account, _ = await signed(request, venue)
    version = 3 if "/v3/" in request.path else 2

    async def act() -> web.StreamResponse:
        engine_account = venue.engine.account(futures_account(account.account_id))
        return json_response(
            fwire.account_body(
                engine_account, _marks(venue), engine_account.leverage, venue.now(), version=version
            )
        )

    return await guarded(request, "account", account.account_id, RENDERER, act)
