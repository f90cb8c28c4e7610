"""The risk guard: run every check on one proposed order and decide, with a verdict per rule.

``evaluate`` never stops at the first refusal, so the audit entry holds every rule's verdict.
Adjustments (a rounded quantity, a collared price, ``after_market``) of passed checks are applied
in order, and later checks judge the adjusted order. A refusal whose only reason is RATE_LIMIT is
a wait, not a no: ``retry_at`` then says when the order's slot comes, unless the signal would be
stale by then. The caller evaluates under the account's lock and, when allowed, records the order
with ``reserve`` before the next evaluation, so two orders that only fit one at a time cannot
both pass.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from boltztrader.domain.clock import utc
from boltztrader.errors import RiskRejected
from boltztrader.risk.checks import CHECKS, throttle_for
from boltztrader.risk.context import AccountState, OpenOrder, OrderContext, RecentOrder
from boltztrader.risk.limits import Limits
from boltztrader.risk.reasons import Reason
from boltztrader.risk.sizing import order_quantity, position_effect, price_bound
from boltztrader.risk.throttle import expires_before_slot
from boltztrader.risk.verdict import Verdict, deny

__all__ = ["Decision", "approval_expired", "evaluate", "raise_if_denied", "reserve"]


@dataclass(frozen=True, slots=True)
class Decision:
    """The guard's answer: allowed or not, every verdict in rule order, the reasons, the adjusted order.

    ``proposed`` is the order as it was asked for; ``order`` carries every adjustment.
    """

    allowed: bool
    verdicts: tuple[Verdict, ...]
    reasons: tuple[Reason, ...]
    order: OrderContext
    proposed: OrderContext
    retry_at: datetime | None = None

    @property
    def adjusted(self) -> dict[str, object]:
        """Every adjustment made to the order, by field (later checks win)."""
        merged: dict[str, object] = {}
        for verdict in self.verdicts:
            merged.update(verdict.adjusted or {})
        return merged


def evaluate(ctx: OrderContext, state: AccountState, limits: Limits, now: datetime) -> Decision:
    """Run every check, in order, without short-circuit; the order is allowed when all pass."""
    now = utc(now)
    order = ctx
    verdicts: list[Verdict] = []
    for rule, check in CHECKS:
        try:
            verdict = check(order, state, limits, now)
        except (ArithmeticError, TypeError, ValueError) as exc:
            # A check that cannot evaluate its input denies, so a malformed order never slips past.
            verdict = deny(rule, f"could not evaluate: {type(exc).__name__}: {exc}")
        if verdict.rule is not rule:
            raise AssertionError(f"check for {rule} answered for {verdict.rule}")
        verdicts.append(verdict)
        if verdict.passed and verdict.adjusted:
            order = order.with_changes(verdict.adjusted)
    reasons = tuple(v.reason for v in verdicts if v.reason is not None)
    retry_at = None
    if reasons and set(reasons) == {Reason.RATE_LIMIT}:
        slot = throttle_for(order, state, limits).next_slot(now)
        if order.is_cancel or not expires_before_slot(order.signal_created_at, slot, limits):
            retry_at = slot
    return Decision(not reasons, tuple(verdicts), reasons, order, ctx, retry_at)


def raise_if_denied(decision: Decision) -> OrderContext:
    """The order to send when allowed; otherwise raise ``RiskRejected`` with every reason code."""
    if not decision.allowed:
        details = "; ".join(f"{v.reason}: {v.detail}" for v in decision.verdicts if not v.passed)
        codes = [str(reason) for reason in decision.reasons]
        raise RiskRejected(codes, f"risk guard denied the order: {details}")
    return decision.order


def reserve(
    state: AccountState, decision: Decision, *, order_id: str, limits: Limits, now: datetime
) -> AccountState:
    """The account once an allowed order is in flight: its buying power held, its send and signal counted."""
    if not decision.allowed:
        raise ValueError("only an allowed order reserves anything")
    order = decision.order
    sent = (*state.recent_order_times, utc(now))
    if order.is_cancel:
        return replace(state, recent_order_times=sent)
    qty = order_quantity(order)
    price = price_bound(order, limits)
    assert qty is not None, "an allowed order has a quantity"
    assert price is not None, "an allowed order has a price bound"
    held = position_effect(order, state, qty).growing * price
    in_flight = OpenOrder(order_id, order.symbol, order.side, qty, held, utc(now), in_flight=True)
    asked = decision.proposed  # look-alikes are judged on the size the signal asked for
    recent = RecentOrder(asked.signal_id, asked.symbol, asked.side, asked.quantity, asked.notional, utc(now))
    return replace(
        state,
        open_orders=(*state.open_orders, in_flight),
        recent_order_times=sent,
        seen_signal_ids=state.seen_signal_ids | {order.signal_id},
        recent_orders=(*state.recent_orders, recent),
    )


def approval_expired(requested_at: datetime, now: datetime, limits: Limits) -> bool:
    """True once a semi-manual approval request is older than ``approval_ttl`` (it becomes declined)."""
    return utc(now) - utc(requested_at) > limits.approval_ttl
