"""One rule's answer for one order: passed or not, why, and any adjustment it made to the order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from boltztrader.risk.reasons import Reason, Rule

__all__ = ["Verdict", "deny", "ok"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """A failed verdict carries its rule's reason code; only a passed one may adjust the order.

    ``adjusted`` maps ``OrderContext`` field names to new values (a rounded quantity, a collared
    limit price, Kite's ``market_protection``, ``after_market``...).
    """

    rule: Rule
    passed: bool
    reason: Reason | None
    detail: str
    adjusted: Mapping[str, object] | None = None

    def __post_init__(self) -> None:
        if self.passed and self.reason is not None:
            raise ValueError(f"a passed verdict of {self.rule} carries no reason")
        if not self.passed and self.reason is not self.rule.reason:
            raise ValueError(f"a failed verdict of {self.rule} must carry {self.rule.reason}")
        if not self.passed and self.adjusted:
            raise ValueError("a failed verdict adjusts nothing")


def ok(rule: Rule, detail: str, adjusted: Mapping[str, object] | None = None) -> Verdict:
    """A pass, with an adjustment when the rule changed the order to make it valid."""
    return Verdict(rule, True, None, detail, dict(adjusted) if adjusted else None)


def deny(rule: Rule, detail: str) -> Verdict:
    """A refusal with the rule's reason code."""
    return Verdict(rule, False, rule.reason, detail)
