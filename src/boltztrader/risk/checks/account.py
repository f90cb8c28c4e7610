"""Checks 12-18: the account's day, pace, open orders, market hours, broker session and model health."""

from __future__ import annotations

from datetime import datetime

from boltztrader.domain.enums import Broker, OrderType, Region, TimeInForce
from boltztrader.risk.context import AccountState, MarketSession, OrderContext
from boltztrader.risk.limits import Limits
from boltztrader.risk.market_hours import session_at
from boltztrader.risk.reasons import Rule
from boltztrader.risk.sizing import order_quantity, position_effect
from boltztrader.risk.throttle import Throttle, rate_windows
from boltztrader.risk.trading_state import daily_loss_breached
from boltztrader.risk.verdict import Verdict, deny, ok

__all__ = [
    "check_algo_id",
    "check_daily_loss",
    "check_market_hours",
    "check_open_orders",
    "check_rate_limit",
    "check_repeated_execution",
    "check_session_health",
    "fills_in_window",
    "model_should_be_disabled",
    "throttle_for",
]

_CANCEL = "a cancel: not applicable"
_KITE_TAG_MAX = 20


def check_daily_loss(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """12: loss today <= max_daily_loss x start-of-day equity; past it, only shrinking orders pass."""
    if ctx.is_cancel:
        return ok(Rule.DAILY_LOSS, _CANCEL)
    pnl, equity = state.pnl_today, state.start_of_day_equity
    limit = limits.max_daily_loss * equity
    if not daily_loss_breached(pnl, equity, limits):
        return ok(Rule.DAILY_LOSS, f"P&L today {pnl}, loss limit {limit}")
    qty = order_quantity(ctx)
    if qty is not None and position_effect(ctx, state, qty).only_reduces:
        return ok(Rule.DAILY_LOSS, f"loss {-pnl} is past {limit}, but the order shrinks a position")
    return deny(Rule.DAILY_LOSS, f"loss today {-pnl} is past {limit} (start-of-day equity {equity})")


def throttle_for(ctx: OrderContext, state: AccountState, limits: Limits) -> Throttle:
    """The account's (for Binance: the egress IP's) throttle with this broker's windows."""
    return Throttle(rate_windows(ctx.broker, limits, state.published_rate_limits), state.recent_order_times)


def check_rate_limit(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """13: one more send (cancels count too) fits every rate window; otherwise the order waits its slot."""
    throttle = throttle_for(ctx, state, limits)
    if throttle.allow(now):
        return ok(Rule.RATE_LIMIT, "within the order rate")
    return deny(Rule.RATE_LIMIT, f"over the order rate; next slot at {throttle.next_slot(now).isoformat()}")


def check_open_orders(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """14: with this order, open orders stay within the account's and the symbol's maximum."""
    if ctx.is_cancel:
        return ok(Rule.OPEN_ORDERS, _CANCEL)
    account = len(state.open_orders)
    symbol = sum(1 for o in state.open_orders if o.symbol == ctx.symbol)
    if account >= limits.max_open_orders_account:
        return deny(
            Rule.OPEN_ORDERS, f"{account} open; the account maximum is {limits.max_open_orders_account}"
        )
    if symbol >= limits.max_open_orders_symbol:
        return deny(
            Rule.OPEN_ORDERS, f"{symbol} open in {ctx.symbol}; maximum {limits.max_open_orders_symbol}"
        )
    return ok(Rule.OPEN_ORDERS, f"{account} open, {symbol} in {ctx.symbol}")


def check_market_hours(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """15: the market is open; outside NSE hours an AMO, in US extended hours a day limit order that asks."""
    if ctx.is_cancel:
        return ok(Rule.MARKET_HOURS, _CANCEL)
    if not state.instrument_tradable:
        return deny(Rule.MARKET_HOURS, f"{ctx.symbol} is not trading (halted or suspended)")
    session = state.market_session or session_at(ctx.market, now)
    if session is MarketSession.REGULAR:
        return ok(Rule.MARKET_HOURS, "regular session")
    if ctx.market.region is Region.INDIA and limits.allow_amo and session is MarketSession.CLOSED:
        return ok(Rule.MARKET_HOURS, "market closed: sent as an after-market order", {"after_market": True})
    extended_ok = (
        session is MarketSession.EXTENDED
        and ctx.extended_hours
        and limits.allow_extended_hours
        and ctx.order_type is OrderType.LIMIT
        and ctx.time_in_force is TimeInForce.DAY
    )
    if extended_ok:
        return ok(Rule.MARKET_HOURS, "extended hours, day limit order")
    return deny(Rule.MARKET_HOURS, f"{ctx.market} is in its {session} session")


def check_session_health(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """16: the broker session works: token valid, stream up, no re-login needed (cancels too)."""
    health = state.session
    problems = [
        text
        for flag, text in (
            (health.token_expired, "broker token expired"),
            (health.stream_down, "broker stream is down"),
            (health.needs_login, "account needs a new login"),
        )
        if flag
    ]
    if problems:
        return deny(Rule.SESSION_HEALTH, "; ".join(problems))
    return ok(Rule.SESSION_HEALTH, "session healthy")


def check_algo_id(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Verdict:
    """17: every Kite order carries an algo tag (1-20 alphanumerics, derived from the order intent)."""
    if ctx.is_cancel or ctx.broker is not Broker.ZERODHA:
        return ok(Rule.ALGO_ID, "not a Kite order" if not ctx.is_cancel else _CANCEL)
    tag = ctx.algo_tag
    if tag and len(tag) <= _KITE_TAG_MAX and tag.isascii() and tag.isalnum():
        return ok(Rule.ALGO_ID, f"tag {tag}")
    return deny(Rule.ALGO_ID, f"a Kite order needs a tag of 1-{_KITE_TAG_MAX} alphanumerics, got {tag!r}")


def fills_in_window(fill_times: tuple[datetime, ...], now: datetime, limits: Limits) -> int:
    """Fills inside ``(now - repeated_window, now]``."""
    return sum(1 for t in fill_times if now - limits.repeated_window < t <= now)


def model_should_be_disabled(fill_times: tuple[datetime, ...], now: datetime, limits: Limits) -> bool:
    """After a fill: ``repeated_fills`` fills of one user+symbol+model in the window disable the model."""
    return fills_in_window(fill_times, now, limits) >= limits.repeated_fills


def check_repeated_execution(
    ctx: OrderContext, state: AccountState, limits: Limits, now: datetime
) -> Verdict:
    """18: the model is enabled for the user and has not filled ``repeated_fills`` times in the window."""
    if ctx.is_cancel:
        return ok(Rule.REPEATED_EXECUTION, _CANCEL)
    if ctx.model_id in state.disabled_models:
        return deny(Rule.REPEATED_EXECUTION, f"model {ctx.model_id} is disabled for this user")
    fills = state.fill_times.get((ctx.user_id, ctx.symbol, ctx.model_id), ())
    count = fills_in_window(fills, now, limits)
    if count >= limits.repeated_fills:
        return deny(
            Rule.REPEATED_EXECUTION,
            f"{count} fills of {ctx.symbol} by {ctx.model_id} in {limits.repeated_window}: disable the model",
        )
    return ok(Rule.REPEATED_EXECUTION, f"{count} fills in the window")
