"""Kill-switch semantics: the effective trading state and what to cancel when a switch engages.

States rank ACTIVE < REDUCING < HALTED; the effective state of an order's account is the most
restrictive of the global, user and account levels. Automatic triggers (the daily loss limit)
only ever tighten (``engage``); loosening is a human's decision, made by setting the level.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from boltztrader.domain.enums import Side, TradingState
from boltztrader.risk.context import AccountState, OpenOrder, Position
from boltztrader.risk.limits import Limits

__all__ = [
    "SwitchOutcome",
    "daily_loss_breached",
    "effective_state",
    "engage",
    "is_tightening",
    "most_restrictive",
    "on_daily_loss",
    "orders_to_cancel",
]

_RANK = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}
_ZERO = Decimal(0)


def most_restrictive(*states: TradingState) -> TradingState:
    """The strictest of ``states`` (ACTIVE when none is given)."""
    return max(states, key=_RANK.__getitem__, default=TradingState.ACTIVE)


def effective_state(state: AccountState) -> TradingState:
    """The level that governs the account: the strictest of global, user and account."""
    return most_restrictive(state.global_state, state.user_state, state.account_state)


def is_tightening(current: TradingState, target: TradingState) -> bool:
    """True when moving to ``target`` restricts trading further."""
    return _RANK[target] > _RANK[current]


def engage(current: TradingState, target: TradingState) -> TradingState:
    """An automatic switch: move to ``target`` only if it is stricter, never loosen."""
    return most_restrictive(current, target)


def _grows(side: Side, held: Decimal) -> bool:
    return held == 0 or (held > 0) == (side is Side.BUY)


def orders_to_cancel(
    level: TradingState, open_orders: Iterable[OpenOrder], positions: Mapping[str, Position]
) -> tuple[str, ...]:
    """The ids of the open orders a switch at ``level`` must cancel, in their given order.

    HALTED cancels everything. REDUCING cancels every order that would grow a position, and the
    youngest exits that, together with older ones, would close more than is held (a flip).
    """
    orders = tuple(open_orders)
    if level is TradingState.ACTIVE:
        return ()
    if level is TradingState.HALTED:
        return tuple(o.order_id for o in orders)
    cancel: set[str] = set()
    claimed: dict[str, Decimal] = {}
    for order in sorted(orders, key=lambda o: o.created_at):
        position = positions.get(order.symbol)
        held = _ZERO if position is None else position.quantity
        already = claimed.get(order.symbol, _ZERO)
        if _grows(order.side, held) or already + order.quantity > abs(held):
            cancel.add(order.order_id)
        else:
            claimed[order.symbol] = already + order.quantity
    return tuple(o.order_id for o in orders if o.order_id in cancel)


def daily_loss_breached(pnl_today: Decimal, start_of_day_equity: Decimal, limits: Limits) -> bool:
    """True once the loss since the start of the day is over ``max_daily_loss`` x start-of-day equity.

    With no start-of-day equity there is nothing to measure a loss against: that counts as breached.
    """
    if start_of_day_equity <= 0:
        return True
    return -pnl_today > limits.max_daily_loss * start_of_day_equity


@dataclass(frozen=True, slots=True)
class SwitchOutcome:
    """The user's new level, whether the limit is crossed, and the order ids to cancel."""

    state: TradingState
    crossed: bool
    cancel: tuple[str, ...]


def on_daily_loss(
    current: TradingState,
    *,
    pnl_today: Decimal,
    start_of_day_equity: Decimal,
    limits: Limits,
    open_orders: Iterable[OpenOrder],
    positions: Mapping[str, Position],
) -> SwitchOutcome:
    """After a P&L update: crossing the daily loss limit sets REDUCING and cancels open entries.

    Call per account of the user (positions are per account); the state is the user's level.
    """
    if not daily_loss_breached(pnl_today, start_of_day_equity, limits):
        return SwitchOutcome(current, False, ())
    level = engage(current, TradingState.REDUCING)
    return SwitchOutcome(level, True, orders_to_cancel(level, open_orders, positions))
