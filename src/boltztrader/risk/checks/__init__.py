"""The pre-trade checks, one small pure function per rule, in the order the guard runs them.

Every check has the signature ``(ctx, state, limits, now) -> Verdict``, fails closed when it
cannot evaluate, and lets cancels through unless the rule is about sending at all (rate, session).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from boltztrader.risk.checks.account import (
    check_algo_id,
    check_daily_loss,
    check_market_hours,
    check_open_orders,
    check_rate_limit,
    check_repeated_execution,
    check_session_health,
    fills_in_window,
    model_should_be_disabled,
    throttle_for,
)
from boltztrader.risk.checks.intake import (
    check_confidence,
    check_duplicate,
    check_kill_switch,
    check_signal_fresh,
    check_signal_shape,
)
from boltztrader.risk.checks.size import (
    check_buying_power,
    check_exposure,
    check_instrument_rules,
    check_max_notional,
    check_max_qty,
    check_position_limit,
    check_price_collar,
    check_reference_fresh,
)
from boltztrader.risk.context import AccountState, OrderContext
from boltztrader.risk.limits import Limits
from boltztrader.risk.reasons import Rule
from boltztrader.risk.verdict import Verdict

__all__ = [
    "CHECKS",
    "Check",
    "check_algo_id",
    "check_buying_power",
    "check_confidence",
    "check_daily_loss",
    "check_duplicate",
    "check_exposure",
    "check_instrument_rules",
    "check_kill_switch",
    "check_market_hours",
    "check_max_notional",
    "check_max_qty",
    "check_open_orders",
    "check_position_limit",
    "check_price_collar",
    "check_rate_limit",
    "check_reference_fresh",
    "check_repeated_execution",
    "check_session_health",
    "check_signal_fresh",
    "check_signal_shape",
    "fills_in_window",
    "model_should_be_disabled",
    "throttle_for",
]

Check = Callable[[OrderContext, AccountState, Limits, datetime], Verdict]

#: Every rule with its check, in audit order; adjustments of a passed check feed the next ones.
CHECKS: tuple[tuple[Rule, Check], ...] = (
    (Rule.SIGNAL_SHAPE, check_signal_shape),
    (Rule.CONFIDENCE, check_confidence),
    (Rule.SIGNAL_FRESHNESS, check_signal_fresh),
    (Rule.DUPLICATE, check_duplicate),
    (Rule.KILL_SWITCH, check_kill_switch),
    (Rule.EXPOSURE, check_exposure),
    (Rule.MAX_NOTIONAL, check_max_notional),
    (Rule.MAX_QTY, check_max_qty),
    (Rule.INSTRUMENT_RULES, check_instrument_rules),
    (Rule.REFERENCE_FRESHNESS, check_reference_fresh),
    (Rule.PRICE_COLLAR, check_price_collar),
    (Rule.BUYING_POWER, check_buying_power),
    (Rule.POSITION_LIMIT, check_position_limit),
    (Rule.DAILY_LOSS, check_daily_loss),
    (Rule.RATE_LIMIT, check_rate_limit),
    (Rule.OPEN_ORDERS, check_open_orders),
    (Rule.MARKET_HOURS, check_market_hours),
    (Rule.SESSION_HEALTH, check_session_health),
    (Rule.ALGO_ID, check_algo_id),
    (Rule.REPEATED_EXECUTION, check_repeated_execution),
)
