"""The reason codes of a refusal and the rules that give them, in the order the guard runs them.

Reason values are the upper-case codes of the risk spec, exactly as the audit trail stores them.
Checks 7 and 9 each have two reason codes, so each is two rules: one verdict, one reason.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Reason", "Rule"]


class Reason(StrEnum):
    """Why the risk guard refused an order (design/risk.md, one code per refusal kind)."""

    INVALID_SIGNAL = "INVALID_SIGNAL"
    LOW_CONFIDENCE = "LOW_CONFIDENCE"
    STALE_SIGNAL = "STALE_SIGNAL"
    DUPLICATE_SIGNAL = "DUPLICATE_SIGNAL"
    TRADING_HALTED = "TRADING_HALTED"
    EXCEEDS_EXPOSURE = "EXCEEDS_EXPOSURE"
    MAX_NOTIONAL = "MAX_NOTIONAL"
    MAX_QTY = "MAX_QTY"
    INSTRUMENT_RULES = "INSTRUMENT_RULES"
    PRICE_COLLAR = "PRICE_COLLAR"
    STALE_REFERENCE = "STALE_REFERENCE"
    INSUFFICIENT_BUYING_POWER = "INSUFFICIENT_BUYING_POWER"
    POSITION_LIMIT = "POSITION_LIMIT"
    DAILY_LOSS = "DAILY_LOSS"
    RATE_LIMIT = "RATE_LIMIT"
    MAX_OPEN_ORDERS = "MAX_OPEN_ORDERS"
    MARKET_CLOSED = "MARKET_CLOSED"
    ACCOUNT_UNAVAILABLE = "ACCOUNT_UNAVAILABLE"
    MISSING_ALGO_ID = "MISSING_ALGO_ID"
    REPEATED_EXECUTION = "REPEATED_EXECUTION"


class Rule(StrEnum):
    """One pre-trade rule; ``number`` is its row in the spec's table, ``reason`` its refusal code."""

    SIGNAL_SHAPE = "signal_shape"
    CONFIDENCE = "confidence"
    SIGNAL_FRESHNESS = "signal_freshness"
    DUPLICATE = "duplicate"
    KILL_SWITCH = "kill_switch"
    EXPOSURE = "exposure"
    MAX_NOTIONAL = "max_notional"
    MAX_QTY = "max_qty"
    INSTRUMENT_RULES = "instrument_rules"
    REFERENCE_FRESHNESS = "reference_freshness"
    PRICE_COLLAR = "price_collar"
    BUYING_POWER = "buying_power"
    POSITION_LIMIT = "position_limit"
    DAILY_LOSS = "daily_loss"
    RATE_LIMIT = "rate_limit"
    OPEN_ORDERS = "open_orders"
    MARKET_HOURS = "market_hours"
    SESSION_HEALTH = "session_health"
    ALGO_ID = "algo_id"
    REPEATED_EXECUTION = "repeated_execution"

    @property
    def number(self) -> int:
        """The check's row number in design/risk.md (7 and 9 each have two rules)."""
        return _NUMBER[self]

    @property
    def reason(self) -> Reason:
        """The code a failed verdict of this rule carries."""
        return _REASON[self]


_TABLE: tuple[tuple[Rule, int, Reason], ...] = (
    (Rule.SIGNAL_SHAPE, 1, Reason.INVALID_SIGNAL),
    (Rule.CONFIDENCE, 2, Reason.LOW_CONFIDENCE),
    (Rule.SIGNAL_FRESHNESS, 3, Reason.STALE_SIGNAL),
    (Rule.DUPLICATE, 4, Reason.DUPLICATE_SIGNAL),
    (Rule.KILL_SWITCH, 5, Reason.TRADING_HALTED),
    (Rule.EXPOSURE, 6, Reason.EXCEEDS_EXPOSURE),
    (Rule.MAX_NOTIONAL, 7, Reason.MAX_NOTIONAL),
    (Rule.MAX_QTY, 7, Reason.MAX_QTY),
    (Rule.INSTRUMENT_RULES, 8, Reason.INSTRUMENT_RULES),
    (Rule.REFERENCE_FRESHNESS, 9, Reason.STALE_REFERENCE),
    (Rule.PRICE_COLLAR, 9, Reason.PRICE_COLLAR),
    (Rule.BUYING_POWER, 10, Reason.INSUFFICIENT_BUYING_POWER),
    (Rule.POSITION_LIMIT, 11, Reason.POSITION_LIMIT),
    (Rule.DAILY_LOSS, 12, Reason.DAILY_LOSS),
    (Rule.RATE_LIMIT, 13, Reason.RATE_LIMIT),
    (Rule.OPEN_ORDERS, 14, Reason.MAX_OPEN_ORDERS),
    (Rule.MARKET_HOURS, 15, Reason.MARKET_CLOSED),
    (Rule.SESSION_HEALTH, 16, Reason.ACCOUNT_UNAVAILABLE),
    (Rule.ALGO_ID, 17, Reason.MISSING_ALGO_ID),
    (Rule.REPEATED_EXECUTION, 18, Reason.REPEATED_EXECUTION),
)
_NUMBER = {rule: number for rule, number, _ in _TABLE}
_REASON = {rule: reason for rule, _, reason in _TABLE}
