"""The pre-trade risk guard: pure, synchronous, standard library plus ``domain`` and ``errors``.

``evaluate(ctx, state, limits, now)`` runs every check of design/risk.md on one proposed order and
returns a ``Decision`` with a verdict per rule; ``raise_if_denied`` turns a refusal into
``RiskRejected``. Time and data come in as arguments; nothing here does I/O.
"""

from boltztrader.risk.context import (
    AccountState,
    MarketSession,
    OpenOrder,
    OrderContext,
    Position,
    RecentOrder,
    SessionHealth,
)
from boltztrader.risk.guard import Decision, approval_expired, evaluate, raise_if_denied, reserve
from boltztrader.risk.limits import Limits, Stricter
from boltztrader.risk.reasons import Reason, Rule
from boltztrader.risk.throttle import RateWindow, Throttle, expires_before_slot, rate_windows
from boltztrader.risk.trading_state import (
    SwitchOutcome,
    effective_state,
    engage,
    most_restrictive,
    on_daily_loss,
    orders_to_cancel,
)
from boltztrader.risk.verdict import Verdict

__all__ = [
    "AccountState",
    "Decision",
    "Limits",
    "MarketSession",
    "OpenOrder",
    "OrderContext",
    "Position",
    "RateWindow",
    "Reason",
    "RecentOrder",
    "Rule",
    "SessionHealth",
    "Stricter",
    "SwitchOutcome",
    "Throttle",
    "Verdict",
    "approval_expired",
    "effective_state",
    "engage",
    "evaluate",
    "expires_before_slot",
    "most_restrictive",
    "on_daily_loss",
    "orders_to_cancel",
    "raise_if_denied",
    "rate_windows",
    "reserve",
]
