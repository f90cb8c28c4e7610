"""The guard runs every rule, applies adjustments in order, explains refusals, and reserves atomically."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import cast

import pytest

from boltztrader.domain.enums import OrderType, Side, TimeInForce, TradingState
from boltztrader.errors import RiskRejected
from boltztrader.risk import Decision, Reason, Rule, approval_expired, evaluate, raise_if_denied, reserve
from boltztrader.risk.checks import CHECKS
from boltztrader.risk.limits import Limits
from tests.unit.risk.builders import LIMITS, NOW, ctx, kite_ctx, open_market, quote, state

D = Decimal


def test_checks_run_in_spec_order_one_per_rule() -> None:
    """CHECKS lists every rule once, in the spec's numbering."""
    rules = [rule for rule, _ in CHECKS]
    assert rules == list(Rule)
    assert [rule.number for rule in rules] == sorted(rule.number for rule in rules)


def test_a_valid_order_is_allowed_with_a_passing_verdict_for_every_rule() -> None:
    """A calm, valid order is allowed, and the audit still gets all twenty verdicts."""
    decision = evaluate(ctx(), state(), LIMITS, NOW)
    assert decision.allowed
    assert decision.reasons == ()
    assert [v.rule for v in decision.verdicts] == list(Rule)
    assert all(v.passed for v in decision.verdicts)
    assert raise_if_denied(decision) == decision.order


def test_every_failing_rule_is_reported_without_short_circuit() -> None:
    """Low confidence, stale signal, halted and a model disabled: four reasons, twenty verdicts."""
    order = ctx(confidence=D("0.5"), signal_created_at=NOW - timedelta(minutes=5))
    account = state(global_state=TradingState.HALTED, disabled_models=frozenset({"model-1"}))
    decision = evaluate(order, account, LIMITS, NOW)
    assert not decision.allowed
    assert len(decision.verdicts) == len(Rule)
    assert decision.reasons == (
        Reason.LOW_CONFIDENCE,
        Reason.STALE_SIGNAL,
        Reason.TRADING_HALTED,
        Reason.REPEATED_EXECUTION,
    )


def test_seed_rules_are_the_defaults() -> None:
    """Confidence >= 0.7, notional <= 0.2 x balance and side buy/sell all hold under default limits."""
    assert evaluate(ctx(confidence=D("0.7")), state(), LIMITS, NOW).allowed
    assert evaluate(ctx(confidence=D("0.69")), state(), LIMITS, NOW).reasons == (Reason.LOW_CONFIDENCE,)
    big = ctx(quantity=D("0.4"), limit_price=D("50000"))
    assert evaluate(big, state(), LIMITS, NOW).allowed
    bigger = ctx(quantity=D("0.40001"), limit_price=D("50000"))
    assert evaluate(bigger, state(), LIMITS, NOW).reasons == (Reason.EXCEEDS_EXPOSURE,)
    hold = evaluate(ctx(side=cast(Side, "hold")), state(), LIMITS, NOW)
    assert Reason.INVALID_SIGNAL in hold.reasons


def test_raise_if_denied_raises_risk_rejected_with_every_code() -> None:
    """A refusal becomes RiskRejected carrying the reason codes as text."""
    decision = evaluate(ctx(confidence=D("0.1"), instrument=None), state(), LIMITS, NOW)
    with pytest.raises(RiskRejected) as caught:
        raise_if_denied(decision)
    assert caught.value.reasons[:2] == ("INVALID_SIGNAL", "LOW_CONFIDENCE")
    assert "LOW_CONFIDENCE" in str(caught.value)


def test_malformed_input_fails_closed_instead_of_raising() -> None:
    """A NaN quantity is refused with reasons; evaluate does not crash."""
    decision = evaluate(ctx(quantity=D("NaN")), state(), LIMITS, NOW)
    assert not decision.allowed
    assert Reason.INVALID_SIGNAL in decision.reasons
    assert len(decision.verdicts) == len(Rule)


def test_adjustments_are_applied_in_order_to_the_final_order() -> None:
    """A notional market buy becomes a rounded quantity, then an IOC limit at the collar's edge."""
    order = ctx(order_type=OrderType.MARKET, limit_price=None, quantity=None, notional=D("100"))
    decision = evaluate(order, state(), LIMITS, NOW)
    assert decision.allowed
    final = decision.order
    assert (final.quantity, final.notional) == (D("0.00200"), None)
    assert (final.order_type, final.limit_price, final.time_in_force) == (
        OrderType.LIMIT,
        D("51500.00"),
        TimeInForce.IOC,
    )
    assert decision.proposed == order
    assert set(decision.adjusted) == {"quantity", "notional", "order_type", "limit_price", "time_in_force"}


def test_kite_market_order_is_allowed_with_market_protection() -> None:
    """A Kite market order in market hours keeps its type and gains market_protection."""
    order = kite_ctx(order_type=OrderType.MARKET, limit_price=None)
    decision = evaluate(order, open_market(), LIMITS, NOW)
    assert decision.allowed, decision.reasons
    assert decision.order.order_type is OrderType.MARKET
    assert decision.order.market_protection == D("5.00")


def test_two_orders_that_only_fit_one_at_a_time_cannot_both_pass() -> None:
    """Each 60,000 buy fits 100,000 of buying power alone; once the first is reserved, the second fails."""
    limits = Limits(max_exposure=D("1"))
    first = ctx(signal_id="sig-a", quantity=D("1.2"), limit_price=D("50000"))
    second = ctx(signal_id="sig-b", quantity=D("1.2"), limit_price=D("50000.01"))
    account = state(cash_account=False)
    one = evaluate(first, account, limits, NOW)
    assert one.allowed
    assert evaluate(second, account, limits, NOW).allowed
    after = reserve(account, one, order_id="o-a", limits=limits, now=NOW)
    two = evaluate(second, after, limits, NOW)
    assert Reason.INSUFFICIENT_BUYING_POWER in two.reasons
    assert after.reserved_notional == D("60000.0")
    assert "sig-a" in after.seen_signal_ids


def test_reserve_refuses_a_denied_decision() -> None:
    """Only an allowed decision can be reserved."""
    denied = evaluate(ctx(confidence=D("0")), state(), LIMITS, NOW)
    with pytest.raises(ValueError, match="allowed"):
        reserve(state(), denied, order_id="o", limits=LIMITS, now=NOW)


def test_rate_limited_order_gets_a_retry_slot_while_its_signal_is_fresh() -> None:
    """Over the rate, with RATE_LIMIT the only reason, the decision says when the slot comes."""
    sends = tuple(NOW - timedelta(milliseconds=10 * i) for i in range(80))
    decision = evaluate(ctx(quote=quote()), state(recent_order_times=sends), LIMITS, NOW)
    assert decision.reasons == (Reason.RATE_LIMIT,)
    assert decision.retry_at == NOW - timedelta(milliseconds=790) + timedelta(seconds=10)


def test_rate_limited_order_whose_signal_expires_first_gets_no_slot() -> None:
    """When the slot comes after the signal turns stale, retry_at is None: the order is refused."""
    sends = tuple(NOW - timedelta(milliseconds=10 * i) for i in range(80))
    old = ctx(signal_created_at=NOW - timedelta(seconds=25))
    decision = evaluate(old, state(recent_order_times=sends), LIMITS, NOW)
    assert decision.reasons == (Reason.RATE_LIMIT,)
    assert decision.retry_at is None


def test_approval_expires_after_the_ttl() -> None:
    """An approval requested exactly 5 minutes ago is still valid; a microsecond later it has expired."""
    asked = NOW - timedelta(minutes=5)
    assert not approval_expired(asked, NOW, LIMITS)
    assert approval_expired(asked - timedelta(microseconds=1), NOW, LIMITS)


def test_decision_is_a_frozen_value() -> None:
    """A decision cannot be changed after the fact (it is what the audit records)."""
    decision = evaluate(ctx(), state(), LIMITS, NOW)
    assert isinstance(decision, Decision)
    with pytest.raises(AttributeError):
        decision.allowed = False  # type: ignore[misc]
