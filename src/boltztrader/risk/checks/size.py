"""Checks 6-11: what the order is worth, and whether its size, shape, price and money all fit."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from boltztrader.domain.enums import OrderType, Side, TimeInForce
from boltztrader.domain.instruments import RuleCode
from boltztrader.risk.context import AccountState, OrderContext
from boltztrader.risk.limits import Limits
from boltztrader.risk.reasons import Rule
from boltztrader.risk.sizing import (
    collar_fraction,
    collared_price,
    committed_notional,
    expected_notional,
    is_kite,
    order_quantity,
    position_effect,
    positive,
    price_bound,
    reference_max_age,
    reference_price,
)
from boltztrader.risk.verdict import Verdict, deny, ok

__all__ = [
    "check_buying_power",
    "check_exposure",
    "check_instrument_rules",
    "check_max_notional",
    "check_max_qty",
    "check_position_limit",
    "check_price_collar",
    "check_reference_fresh",
]

_CANCEL = "a cancel: not applicable"
_NO_SIZE = "cannot size the order (no usable quantity, notional or price)"
# Check 7 owns the per-order maximums, so check 8 does not report them a second time.
_CAPS = frozenset({RuleCode.QTY_ABOVE_MAX, RuleCode.QTY_ABOVE_FREEZE})


def check_exposure(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """6: the growing part's notional <= max_exposure x available balance (the seed's 0.2 x balance)."""
    if ctx.is_cancel:
        return ok(Rule.EXPOSURE, _CANCEL)
    qty, notional = order_quantity(ctx), expected_notional(ctx)
    if qty is None or notional is None:
        return deny(Rule.EXPOSURE, _NO_SIZE)
    effect = position_effect(ctx, state, qty)
    if effect.growing == 0:
        return ok(Rule.EXPOSURE, "the order only reduces a position")
    growing = notional * effect.growing / qty
    cap = limits.max_exposure * state.available_balance
    if growing <= cap:
        return ok(Rule.EXPOSURE, f"notional {growing} <= {cap}")
    return deny(Rule.EXPOSURE, f"notional {growing} > {limits.max_exposure} x {state.available_balance}")


def check_max_notional(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """7: the order's notional is within the per-order cap (fat finger)."""
    cap = limits.max_order_notional
    if ctx.is_cancel or cap is None:
        return ok(Rule.MAX_NOTIONAL, _CANCEL if ctx.is_cancel else "no notional cap")
    notional = expected_notional(ctx)
    if notional is None:
        return deny(Rule.MAX_NOTIONAL, _NO_SIZE)
    if notional <= cap:
        return ok(Rule.MAX_NOTIONAL, f"notional {notional} <= {cap}")
    return deny(Rule.MAX_NOTIONAL, f"notional {notional} is over the cap {cap}")


def check_max_qty(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """7: the quantity is within min(the user's cap, the instrument's max qty and freeze qty)."""
    if ctx.is_cancel:
        return ok(Rule.MAX_QTY, _CANCEL)
    inst_cap = None if ctx.instrument is None else ctx.instrument.max_order_qty
    caps = [cap for cap in (limits.max_order_qty, inst_cap) if cap is not None]
    if not caps:
        return ok(Rule.MAX_QTY, "no quantity cap")
    qty = order_quantity(ctx)
    if qty is None:
        return deny(Rule.MAX_QTY, _NO_SIZE)
    if qty <= min(caps):
        return ok(Rule.MAX_QTY, f"quantity {qty} <= {min(caps)}")
    return deny(Rule.MAX_QTY, f"quantity {qty} is over the cap {min(caps)}")


def _price_changes(ctx: OrderContext) -> dict[str, object]:
    assert ctx.instrument is not None
    changes: dict[str, object] = {}
    limit, trigger = positive(ctx.limit_price), positive(ctx.trigger_price)
    if limit is not None and ctx.instrument.round_price(limit, ctx.side) != limit:
        changes["limit_price"] = ctx.instrument.round_price(limit, ctx.side)
    if trigger is not None and ctx.instrument.round_price(trigger) != trigger:
        changes["trigger_price"] = ctx.instrument.round_price(trigger)
    return changes


def check_instrument_rules(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """8: round quantity down to the step/lot and prices to the tick; deny only below the minimums."""
    if ctx.is_cancel:
        return ok(Rule.INSTRUMENT_RULES, _CANCEL)
    inst, qty = ctx.instrument, order_quantity(ctx)
    if inst is None or qty is None:
        return deny(Rule.INSTRUMENT_RULES, "unknown instrument" if inst is None else _NO_SIZE)
    rounded = inst.round_qty(qty)
    changes = _price_changes(ctx)
    if ctx.quantity is None:
        changes.update(quantity=rounded, notional=None)
    elif rounded != qty:
        changes["quantity"] = rounded
    adjusted = ctx.with_changes(changes)
    problems = [p for p in inst.check(rounded, price_bound(adjusted, limits)) if p.code not in _CAPS]
    if problems:
        return deny(Rule.INSTRUMENT_RULES, "; ".join(f"{p.code}: {p.message}" for p in problems))
    detail = f"rounded to {', '.join(f'{k}={v}' for k, v in changes.items())}" if changes else "valid as sent"
    return ok(Rule.INSTRUMENT_RULES, detail, changes)


def check_reference_fresh(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """9: the reference quote is the order's symbol, usable, and no older than the region allows."""
    if ctx.is_cancel:
        return ok(Rule.REFERENCE_FRESHNESS, _CANCEL)
    quote = ctx.quote
    if quote is None or reference_price(ctx) is None:
        return deny(Rule.REFERENCE_FRESHNESS, f"no usable reference price for {ctx.symbol}")
    age, max_age = now - quote.time, reference_max_age(ctx.market, limits)
    if age > max_age:
        return deny(Rule.REFERENCE_FRESHNESS, f"reference is {age.total_seconds()} s old, over {max_age}")
    if -age > limits.max_clock_skew:
        return deny(Rule.REFERENCE_FRESHNESS, f"reference is {(-age).total_seconds()} s in the future")
    return ok(Rule.REFERENCE_FRESHNESS, f"reference is {age.total_seconds()} s old")


def _collar_market(ctx: OrderContext, limits: Limits, band: Decimal) -> Verdict:
    """A market or stop order: Kite gets ``market_protection``; the others become collared limits."""
    if is_kite(ctx):
        percent = band * 100
        return ok(Rule.PRICE_COLLAR, f"Kite market_protection {percent} %", {"market_protection": percent})
    price = positive(collared_price(ctx, limits))
    if price is None:
        return deny(Rule.PRICE_COLLAR, "no price to collar the order around")
    if ctx.order_type is OrderType.STOP:
        changes: dict[str, object] = {"order_type": OrderType.STOP_LIMIT, "limit_price": price}
    else:
        changes = {"order_type": OrderType.LIMIT, "limit_price": price, "time_in_force": TimeInForce.IOC}
    return ok(Rule.PRICE_COLLAR, f"collared to a limit at {price}", changes)


def check_price_collar(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """9: a limit within ±collar of the reference (a stop-limit's: its trigger); market orders collared."""
    if ctx.is_cancel:
        return ok(Rule.PRICE_COLLAR, _CANCEL)
    band = collar_fraction(ctx.market, limits)
    if not ctx.order_type.needs_limit_price:
        return _collar_market(ctx, limits, band)
    anchor = positive(ctx.trigger_price) if ctx.order_type is OrderType.STOP_LIMIT else reference_price(ctx)
    limit = positive(ctx.limit_price)
    if anchor is None or limit is None:
        return deny(Rule.PRICE_COLLAR, "no reference or limit price to compare")
    low, high = anchor * (1 - band), anchor * (1 + band)
    if low <= limit <= high:
        return ok(Rule.PRICE_COLLAR, f"limit {limit} within [{low}, {high}]")
    return deny(Rule.PRICE_COLLAR, f"limit {limit} outside [{low}, {high}] (±{band} of {anchor})")


def check_buying_power(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """10: the growing part at its worst price fits the buying power left after open and in-flight orders."""
    if ctx.is_cancel:
        return ok(Rule.BUYING_POWER, _CANCEL)
    qty = order_quantity(ctx)
    if qty is None:
        return deny(Rule.BUYING_POWER, _NO_SIZE)
    growing = position_effect(ctx, state, qty).growing
    if growing == 0:
        return ok(Rule.BUYING_POWER, "the order only reduces a position")
    if ctx.side is Side.SELL and state.cash_account:
        held = state.position_qty(ctx.symbol)
        return deny(Rule.BUYING_POWER, f"a cash account cannot sell {growing} more than it holds ({held})")
    required = committed_notional(ctx, limits, growing)
    if required is None:
        return deny(Rule.BUYING_POWER, _NO_SIZE)
    available = state.available_balance
    if required <= available:
        return ok(Rule.BUYING_POWER, f"needs {required} of {available} available")
    return deny(
        Rule.BUYING_POWER,
        f"needs {required}: buying power {state.balance.buying_power} - {state.reserved_notional} reserved",
    )


def _gross_cap(state: AccountState, limits: Limits) -> Decimal | None:
    caps = [limits.max_gross_exposure] + ([limits.cash_gross_exposure] if state.cash_account else [])
    present = [cap for cap in caps if cap is not None]
    return min(present) * state.balance.equity if present else None


def check_position_limit(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """11: position per symbol and the user's gross exposure stay within limits; reduce-only reduces."""
    if ctx.is_cancel:
        return ok(Rule.POSITION_LIMIT, _CANCEL)
    qty = order_quantity(ctx)
    price = price_bound(ctx, limits)
    if qty is None or price is None:
        return deny(Rule.POSITION_LIMIT, _NO_SIZE)
    growing = position_effect(ctx, state, qty).growing
    if growing == 0:
        return ok(Rule.POSITION_LIMIT, "the order only reduces a position")
    if ctx.reduces_position:
        return deny(Rule.POSITION_LIMIT, f"declared reduce-only, but {growing} would grow or flip a position")
    sign = 1 if ctx.side is Side.BUY else -1
    same_side = sum(
        (o.quantity for o in state.open_orders if o.symbol == ctx.symbol and o.side is ctx.side), Decimal(0)
    )
    projected = abs(state.position_qty(ctx.symbol) + sign * (same_side + qty)) * price
    cap = limits.max_position_notional
    if cap is not None and projected > cap:
        return deny(Rule.POSITION_LIMIT, f"position in {ctx.symbol} would be worth {projected}, over {cap}")
    gross_cap = _gross_cap(state, limits)
    held = sum((p.notional for p in state.positions.values()), Decimal(0))
    gross = held + state.other_accounts_gross + state.reserved_notional + growing * price
    if gross_cap is not None and gross > gross_cap:
        return deny(Rule.POSITION_LIMIT, f"gross exposure would be {gross}, over {gross_cap}")
    return ok(Rule.POSITION_LIMIT, f"position {projected}, gross {gross}")
