"""Static order checks of the paper engine: the parts of validation that need only the instrument."""

from __future__ import annotations

from decimal import Decimal

from boltztrader.paper.engine_util import is_multiple
from boltztrader.paper.model import AssetClass, Instrument, Kind, OrderRequest, Rejected, RejectReason, Side

LIMIT_KINDS = frozenset({Kind.LIMIT, Kind.STOP_LIMIT, Kind.TAKE_PROFIT_LIMIT})
STOP_KINDS = frozenset({Kind.STOP_MARKET, Kind.STOP_LIMIT})


def fires_up(kind: Kind, side: Side) -> bool:
    """True when the order triggers on a rise to its trigger (stop buy, take-profit sell)."""
    return (kind in STOP_KINDS) == (side is Side.BUY)


def trigger_crossed(kind: Kind, side: Side, trigger: Decimal, last: Decimal) -> bool:
    return last >= trigger if fires_up(kind, side) else last <= trigger


def check_quantity_fields(instrument: Instrument, request: OrderRequest) -> None:
    """Exactly one of quantity / quote_quantity, positive; quote_quantity only for MARKET."""
    qty, quote_qty = request.quantity, request.quote_quantity
    if (qty is None) == (quote_qty is None):
        raise Rejected(RejectReason.INVALID_QUANTITY, "exactly one of quantity and quote_quantity")
    if qty is not None and (not qty.is_finite() or qty <= 0):
        raise Rejected(RejectReason.INVALID_QUANTITY, f"quantity must be positive, got {qty}")
    if quote_qty is not None:
        if request.kind is not Kind.MARKET:
            raise Rejected(RejectReason.INVALID_QUANTITY, "quote_quantity is only allowed for MARKET orders")
        if not quote_qty.is_finite() or quote_qty <= 0:
            raise Rejected(RejectReason.INVALID_QUANTITY, f"quote_quantity must be positive, got {quote_qty}")
        if instrument.asset_class is AssetClass.EQUITY and not instrument.fractionable:
            raise Rejected(RejectReason.NOT_FRACTIONABLE,
                           f"{instrument.symbol} is not fractionable: notional orders are not allowed")


def check_price(instrument: Instrument, price: Decimal | None, what: str) -> Decimal:
    """A required limit / trigger price: present, positive, on the tick, within min/max price."""
    if price is None:
        raise Rejected(RejectReason.INVALID_PRICE, f"{what} is required")
    if not price.is_finite() or price <= 0:
        raise Rejected(RejectReason.INVALID_PRICE, f"{what} must be positive, got {price}")
    if not is_multiple(price, instrument.tick_size):
        raise Rejected(RejectReason.TICK_SIZE,
                       f"{what} {price} is not a multiple of the tick size {instrument.tick_size}")
    if price < instrument.min_price:
        raise Rejected(RejectReason.TICK_SIZE,
                       f"{what} {price} is below the min price {instrument.min_price}")
    if instrument.max_price > 0 and price > instrument.max_price:
        raise Rejected(RejectReason.TICK_SIZE,
                       f"{what} {price} is above the max price {instrument.max_price}")
    return price


def check_prices(instrument: Instrument, request: OrderRequest) -> tuple[Decimal | None, Decimal | None]:
    """(limit price, trigger price) as the kind requires them."""
    kind = request.kind
    limit = check_price(instrument, request.price, "price") if kind in LIMIT_KINDS else None
    trigger = check_price(instrument, request.trigger_price, "trigger price") if kind.has_trigger else None
    return limit, trigger


def check_lot(instrument: Instrument, quantity: Decimal) -> None:
    """Quantity on the step, within min/max quantity."""
    if quantity <= 0:
        raise Rejected(RejectReason.LOT_SIZE, f"quantity {quantity} is below one step {instrument.step_size}")
    if not is_multiple(quantity, instrument.step_size):
        raise Rejected(RejectReason.LOT_SIZE,
                       f"quantity {quantity} is not a multiple of the step size {instrument.step_size}")
    if quantity < instrument.min_qty:
        raise Rejected(RejectReason.LOT_SIZE,
                       f"quantity {quantity} is below the min quantity {instrument.min_qty}")
    if instrument.max_qty > 0 and quantity > instrument.max_qty:
        raise Rejected(RejectReason.LOT_SIZE,
                       f"quantity {quantity} is above the max quantity {instrument.max_qty}")


def check_notional(instrument: Instrument, quantity: Decimal, price: Decimal) -> None:
    notional = quantity * price
    if notional < instrument.min_notional:
        raise Rejected(RejectReason.MIN_NOTIONAL,
                       f"notional {notional} is below the minimum {instrument.min_notional}")
