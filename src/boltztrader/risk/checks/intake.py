"""Checks 1-5: is this a well-formed, confident, fresh, new signal that the kill switch lets through."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from boltztrader.domain.enums import Broker, Market, OrderType, Side, TradingState
from boltztrader.risk.context import AccountState, OrderContext
from boltztrader.risk.limits import Limits
from boltztrader.risk.reasons import Rule
from boltztrader.risk.sizing import order_quantity, position_effect, positive
from boltztrader.risk.trading_state import effective_state
from boltztrader.risk.verdict import Verdict, deny, ok

__all__ = [
    "check_confidence",
    "check_duplicate",
    "check_kill_switch",
    "check_signal_fresh",
    "check_signal_shape",
]

_CANCEL = "a cancel: not applicable"


def _text_ok(value: object) -> bool:
    return isinstance(value, str) and bool(value) and value.strip() == value


def _id_problems(ctx: OrderContext) -> list[str]:
    names = ("account_id", "user_id", "signal_id", "model_id", "symbol")
    found = [f"{name} is empty or padded" for name in names if not _text_ok(getattr(ctx, name))]
    for name, enum in (("side", Side), ("broker", Broker), ("market", Market), ("order_type", OrderType)):
        if not isinstance(getattr(ctx, name), enum):
            found.append(f"{name} {getattr(ctx, name)!r} is not one of {', '.join(enum)}")
    return found


def _size_problems(ctx: OrderContext) -> list[str]:
    if (ctx.quantity is None) == (ctx.notional is None):
        return ["give exactly one of quantity or notional"]
    name, value = ("quantity", ctx.quantity) if ctx.quantity is not None else ("notional", ctx.notional)
    return [] if positive(value) is not None else [f"{name} {value} must be finite and > 0"]


def _price_problems(ctx: OrderContext) -> list[str]:
    found: list[str] = []
    if not isinstance(ctx.order_type, OrderType):
        return found
    for name, needed in (
        ("limit_price", ctx.order_type.needs_limit_price),
        ("trigger_price", ctx.order_type.needs_trigger_price),
    ):
        value = getattr(ctx, name)
        if needed and positive(value) is None:
            found.append(f"a {ctx.order_type} order needs a finite {name} > 0, got {value}")
        elif not needed and value is not None:
            found.append(f"a {ctx.order_type} order takes no {name}")
    return found


def _other_problems(ctx: OrderContext) -> list[str]:
    found: list[str] = []
    confidence = ctx.confidence
    if not isinstance(confidence, Decimal) or not confidence.is_finite() or not 0 <= confidence <= 1:
        found.append(f"confidence {confidence!r} must be a finite Decimal in [0, 1]")
    if ctx.signal_created_at.tzinfo is None or ctx.signal_created_at.utcoffset() is None:
        found.append("signal timestamp has no time zone")
    inst = ctx.instrument
    if inst is None:
        found.append(f"symbol {ctx.symbol} is not known for {ctx.broker}")
    elif inst.key != (ctx.broker, ctx.market, ctx.symbol):
        found.append(f"instrument {inst.key} is not the order's {(ctx.broker, ctx.market, ctx.symbol)}")
    return found


def check_signal_shape(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """1: side buy/sell, exactly one positive finite size, prices that fit the order type, a known symbol."""
    problems = _id_problems(ctx)
    if not ctx.is_cancel:
        problems += _size_problems(ctx) + _price_problems(ctx) + _other_problems(ctx)
    if problems:
        return deny(Rule.SIGNAL_SHAPE, "; ".join(problems))
    return ok(Rule.SIGNAL_SHAPE, "well-formed")


def check_confidence(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """2: the model's confidence is at least ``min_confidence`` (the seed's 0.7)."""
    if ctx.is_cancel:
        return ok(Rule.CONFIDENCE, _CANCEL)
    confidence = ctx.confidence
    if isinstance(confidence, Decimal) and confidence.is_finite() and confidence >= limits.min_confidence:
        return ok(Rule.CONFIDENCE, f"confidence {confidence} >= {limits.min_confidence}")
    return deny(Rule.CONFIDENCE, f"confidence {confidence} is below {limits.min_confidence}")


def check_signal_fresh(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """3: the signal is at most ``max_signal_age`` old, and not stamped beyond the clock skew ahead."""
    if ctx.is_cancel:
        return ok(Rule.SIGNAL_FRESHNESS, _CANCEL)
    created = ctx.signal_created_at
    if created.tzinfo is None or created.utcoffset() is None:
        return deny(Rule.SIGNAL_FRESHNESS, "signal timestamp has no time zone")
    age = now - created
    if age > limits.max_signal_age:
        return deny(
            Rule.SIGNAL_FRESHNESS, f"signal is {age.total_seconds()} s old, > {limits.max_signal_age}"
        )
    if -age > limits.max_clock_skew:
        return deny(Rule.SIGNAL_FRESHNESS, f"signal is stamped {(-age).total_seconds()} s in the future")
    return ok(Rule.SIGNAL_FRESHNESS, f"signal is {age.total_seconds()} s old")


def check_duplicate(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """4: a signal id seen before for this account, or a look-alike order within the window."""
    if ctx.is_cancel:
        return ok(Rule.DUPLICATE, _CANCEL)
    if ctx.signal_id in state.seen_signal_ids:
        return deny(Rule.DUPLICATE, f"signal {ctx.signal_id} was already seen for this account")
    for recent in state.recent_orders:
        if (
            recent.signal_id != ctx.signal_id
            and recent.symbol == ctx.symbol
            and recent.side is ctx.side
            and recent.quantity == ctx.quantity
            and recent.notional == ctx.notional
            and now - limits.lookalike_window < recent.created_at <= now
        ):
            return deny(
                Rule.DUPLICATE,
                f"looks like signal {recent.signal_id}'s order at {recent.created_at.isoformat()}",
            )
    return ok(Rule.DUPLICATE, "new signal, no look-alike")


def check_kill_switch(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """5: the most restrictive of global, user and account state; REDUCING lets only shrinking orders by."""
    level = effective_state(state)
    if ctx.is_cancel:
        return ok(Rule.KILL_SWITCH, f"{level}: cancels always pass")
    if level is TradingState.ACTIVE:
        return ok(Rule.KILL_SWITCH, "active")
    if level is TradingState.HALTED:
        return deny(Rule.KILL_SWITCH, "trading is halted")
    qty = order_quantity(ctx)
    if qty is not None and position_effect(ctx, state, qty).only_reduces:
        return ok(Rule.KILL_SWITCH, "reducing: the order shrinks the position")
    return deny(Rule.KILL_SWITCH, "reducing: only orders that shrink a position may pass")
