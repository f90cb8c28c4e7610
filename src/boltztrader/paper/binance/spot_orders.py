"""``POST /api/v3/order`` parameters to an engine ``OrderRequest``, with Binance's checks in its order:
mandatory parameters, formats (-1100), precision (-1111), then the symbol's filters (-1013).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from boltztrader.paper.binance import errors
from boltztrader.paper.binance.catalogue import SPOT, SpotSpec
from boltztrader.paper.binance.errors import BinanceError
from boltztrader.paper.binance.wire import decimal_param, required, spot_client_id
from boltztrader.paper.model import Kind, OrderRequest, RejectReason, Side, TimeInForce

KINDS = {
    "MARKET": Kind.MARKET,
    "LIMIT": Kind.LIMIT,
    "LIMIT_MAKER": Kind.LIMIT,
    "STOP_LOSS": Kind.STOP_MARKET,
    "STOP_LOSS_LIMIT": Kind.STOP_LIMIT,
    "TAKE_PROFIT": Kind.TAKE_PROFIT_MARKET,
    "TAKE_PROFIT_LIMIT": Kind.TAKE_PROFIT_LIMIT,
}
NEEDS_TIF = frozenset({"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
NEEDS_PRICE = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
NEEDS_STOP = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
RESPONSE_TYPES = frozenset({"ACK", "RESULT", "FULL"})
MAX_PRICE = Decimal("1000000")


@dataclass(frozen=True, slots=True)
class SpotOrder:
    request: OrderRequest
    wire_type: str
    response_type: str


def symbol_spec(values: Mapping[str, str]) -> SpotSpec:
    spec = SPOT.get(required(values, "symbol"))
    if spec is None:
        raise errors.bad_symbol()
    return spec


def parse_order(values: Mapping[str, str], last_price: Decimal) -> SpotOrder:
    """Validate a new spot order; ``last_price`` values MARKET orders for the NOTIONAL filter."""
    spec = symbol_spec(values)
    side_text = required(values, "side")
    wire_type = required(values, "type")
    if side_text not in ("BUY", "SELL"):
        raise errors.invalid_side()
    kind = KINDS.get(wire_type)
    if kind is None:
        raise errors.invalid_type()
    tif = TimeInForce.GTC
    if wire_type in NEEDS_TIF:
        tif_text = required(values, "timeInForce")
        if tif_text not in ("GTC", "IOC", "FOK"):
            raise errors.invalid_tif()
        tif = TimeInForce(tif_text)
    elif "timeInForce" in values:
        raise errors.not_required("timeInForce")
    quantity = decimal_param(values, "quantity")
    quote_qty = decimal_param(values, "quoteOrderQty")
    if wire_type == "MARKET":
        if quantity is None and quote_qty is None:
            raise errors.one_of("quantity", "quoteOrderQty")
        if quantity is not None and quote_qty is not None:
            raise BinanceError(-1106, "Parameter 'quoteOrderQty' sent when not required.")
    else:
        if quote_qty is not None:
            raise errors.not_required("quoteOrderQty")
        if quantity is None:
            raise errors.mandatory("quantity")
    price = decimal_param(values, "price", required=wire_type in NEEDS_PRICE)
    if price is not None and wire_type not in NEEDS_PRICE:
        raise errors.not_required("price")
    stop = decimal_param(values, "stopPrice", required=wire_type in NEEDS_STOP)
    if stop is not None and wire_type not in NEEDS_STOP:
        raise errors.not_required("stopPrice")
    response_type = values.get("newOrderRespType") or ("FULL" if wire_type in ("MARKET", "LIMIT") else "ACK")
    if response_type not in RESPONSE_TYPES:
        raise errors.invalid_value("newOrderRespType")
    client_id = spot_client_id(values)

    for value in (price, stop):
        if value is not None:
            check_price(spec, value)
    reference = price if price is not None else (stop if stop is not None else last_price)
    if quantity is not None:
        check_quantity(spec, quantity, market=kind.is_market)
        notional = quantity * reference
    else:
        assert quote_qty is not None
        notional = quote_qty
    if notional < spec.min_notional or (not kind.is_market and notional > spec.max_notional):
        raise errors.filter_failure("NOTIONAL")

    request = OrderRequest(
        symbol=spec.symbol,
        side=Side(side_text),
        kind=kind,
        quantity=quantity,
        quote_quantity=quote_qty,
        price=price,
        trigger_price=stop,
        time_in_force=tif,
        client_order_id=client_id,
        tags={"type": wire_type},
    )
    return SpotOrder(request, wire_type, response_type)


def check_price(spec: SpotSpec, price: Decimal) -> None:
    if price < spec.tick or price > MAX_PRICE or (price - spec.tick) % spec.tick != 0:
        raise errors.filter_failure("PRICE_FILTER")


def check_quantity(spec: SpotSpec, quantity: Decimal, *, market: bool) -> None:
    if quantity < spec.min_qty or quantity > spec.max_qty or (quantity - spec.min_qty) % spec.step != 0:
        raise errors.filter_failure("LOT_SIZE")
    if market and quantity > spec.market_max_qty:
        raise errors.filter_failure("MARKET_LOT_SIZE")


def engine_rejection(reason: RejectReason, message: str) -> BinanceError:
    """The spot wording of an engine refusal."""
    table = {
        RejectReason.UNKNOWN_SYMBOL: errors.bad_symbol(),
        RejectReason.INVALID_QUANTITY: errors.filter_failure("LOT_SIZE"),
        RejectReason.LOT_SIZE: errors.filter_failure("LOT_SIZE"),
        RejectReason.INVALID_PRICE: errors.filter_failure("PRICE_FILTER"),
        RejectReason.TICK_SIZE: errors.filter_failure("PRICE_FILTER"),
        RejectReason.MIN_NOTIONAL: errors.filter_failure("NOTIONAL"),
        RejectReason.INSUFFICIENT_FUNDS: errors.rejected(errors.INSUFFICIENT_BALANCE),
        RejectReason.INSUFFICIENT_POSITION: errors.rejected(errors.INSUFFICIENT_BALANCE),
        RejectReason.TRIGGER_IMMEDIATELY: errors.rejected(errors.WOULD_TRIGGER),
        RejectReason.MARKET_CLOSED: BinanceError(-1013, "Market is closed."),
        RejectReason.DUPLICATE_CLIENT_ID: errors.rejected(errors.DUPLICATE_ORDER),
    }
    return table.get(reason) or BinanceError(-2010, message or "Unsupported order combination")
