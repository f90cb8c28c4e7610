"""Prices, quantities and position effects of a proposed order, shared by the checks.

Every helper returns None rather than raising when the order does not allow an answer (a NaN, a
missing price): each check then fails closed on its own, and check 1 names the real problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from boltztrader.domain.enums import Broker, Market, OrderType, Region, Side
from boltztrader.risk.context import AccountState, OrderContext
from boltztrader.risk.limits import Limits

__all__ = [
    "PositionEffect",
    "collar_fraction",
    "collared_price",
    "committed_notional",
    "expected_notional",
    "is_kite",
    "order_quantity",
    "position_effect",
    "positive",
    "price_bound",
    "reference_max_age",
    "reference_price",
    "sizing_price",
]

_ZERO = Decimal(0)


def positive(value: object) -> Decimal | None:
    """``value`` when it is a finite Decimal > 0, else None."""
    if isinstance(value, Decimal) and value.is_finite() and value > 0:
        return value
    return None


def collar_fraction(market: Market, limits: Limits) -> Decimal:
    """The collar band for the market's region: crypto's is narrower by default."""
    return limits.collar_crypto if market.region is Region.CRYPTO else limits.collar_equities


def reference_max_age(market: Market, limits: Limits) -> timedelta:
    """How old a reference quote may be for the market's region."""
    if market.region is Region.CRYPTO:
        return limits.reference_max_age_crypto
    return limits.reference_max_age_equities


def reference_price(ctx: OrderContext) -> Decimal | None:
    """The last traded price of the order's own symbol, when the quote has a usable one."""
    if ctx.quote is None or ctx.quote.symbol != ctx.symbol:
        return None
    return positive(ctx.quote.last)


def _anchor(ctx: OrderContext) -> Decimal | None:
    """What a collar is measured from: a stop's trigger, otherwise the reference price."""
    if ctx.order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
        return positive(ctx.trigger_price)
    return reference_price(ctx)


def collared_price(ctx: OrderContext, limits: Limits) -> Decimal | None:
    """The band's edge on the aggressive side, on the tick and inside the band (buy down, sell up)."""
    anchor = _anchor(ctx)
    if anchor is None:
        return None
    band = collar_fraction(ctx.market, limits)
    raw = anchor * (1 + band) if ctx.side is Side.BUY else anchor * (1 - band)
    return raw if ctx.instrument is None else ctx.instrument.round_price(raw, ctx.side)


def sizing_price(ctx: OrderContext) -> Decimal | None:
    """The price the order expects to trade at: its limit, else its trigger or the reference."""
    if ctx.order_type.needs_limit_price:
        return positive(ctx.limit_price)
    return _anchor(ctx)


def price_bound(ctx: OrderContext, limits: Limits) -> Decimal | None:
    """The worst price the order can trade at: its limit, else the collar's edge."""
    if ctx.order_type.needs_limit_price:
        return positive(ctx.limit_price)
    return positive(collared_price(ctx, limits))


def order_quantity(ctx: OrderContext) -> Decimal | None:
    """The order's quantity; a notional is divided by the expected price (check 8 then rounds it)."""
    if ctx.quantity is not None:
        return positive(ctx.quantity)
    notional, price = positive(ctx.notional), sizing_price(ctx)
    if notional is None or price is None:
        return None
    return notional / price


def expected_notional(ctx: OrderContext) -> Decimal | None:
    """Quantity x expected price: what the order is meant to be worth (checks 6 and 7)."""
    if ctx.quantity is None:
        return positive(ctx.notional)
    qty, price = order_quantity(ctx), sizing_price(ctx)
    return None if qty is None or price is None else qty * price


def committed_notional(ctx: OrderContext, limits: Limits, qty: Decimal) -> Decimal | None:
    """``qty`` at the worst price the order can trade at (buying power and position checks)."""
    price = price_bound(ctx, limits)
    return None if price is None else qty * price


@dataclass(frozen=True, slots=True)
class PositionEffect:
    """How much of an order closes the existing position and how much opens or grows one."""

    reducing: Decimal
    growing: Decimal

    @property
    def only_reduces(self) -> bool:
        """True when the whole order shrinks the position (and does not flip it)."""
        return self.growing == 0 and self.reducing > 0


def position_effect(ctx: OrderContext, state: AccountState, qty: Decimal) -> PositionEffect:
    """Split ``qty`` into the part that reduces the position and the part that grows one.

    Open orders on the same side and symbol already claim part of the position, so two exits of
    the whole position cannot both count as reducing.
    """
    held = state.position_qty(ctx.symbol)
    pending = sum(
        (o.quantity for o in state.open_orders if o.symbol == ctx.symbol and o.side is ctx.side), _ZERO
    )
    if ctx.side is Side.BUY:
        reducible = max(_ZERO, -held - pending) if held < 0 else _ZERO
    else:
        reducible = max(_ZERO, held - pending) if held > 0 else _ZERO
    reducing = min(qty, reducible)
    return PositionEffect(reducing=reducing, growing=qty - reducing)


def is_kite(ctx: OrderContext) -> bool:
    """Kite has its own market protection, so its market orders are not converted to limits."""
    return ctx.broker is Broker.ZERODHA
