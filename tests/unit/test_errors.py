"""The error tree separates what may be retried from what must be looked up."""

from __future__ import annotations

from decimal import Decimal

import pytest

from boltztrader import errors


@pytest.mark.parametrize("cls", [errors.RateLimited, errors.BrokerDown, errors.ConnectionFailed])
def test_nothing_happened_errors_are_broker_unavailable(cls: type[errors.TradingError]) -> None:
    """Failures where the broker did not act are BrokerUnavailable, the only retryable branch."""
    assert issubclass(cls, errors.BrokerUnavailable)
    assert not issubclass(cls, errors.OutcomeUnknown)


def test_outcome_unknown_is_never_a_retryable_error() -> None:
    """OutcomeUnknown stands apart from BrokerUnavailable, so a retry-on-unavailable never resends it."""
    assert not issubclass(errors.OutcomeUnknown, errors.BrokerUnavailable)
    assert not issubclass(errors.OutcomeUnknown, errors.OrderRejected)


@pytest.mark.parametrize(
    "cls", [errors.InsufficientFunds, errors.InvalidOrder, errors.MarketClosed, errors.DuplicateOrder]
)
def test_broker_refusals_are_definitive_rejections(cls: type[errors.BrokerRejected]) -> None:
    """Each broker refusal is a BrokerRejected, kept apart from our own RiskRejected."""
    exc = cls("binance", -2010, "Account has insufficient balance")
    assert isinstance(exc, errors.OrderRejected)
    assert not isinstance(exc, errors.RiskRejected)
    assert (exc.broker, exc.code) == ("binance", -2010)


def test_risk_rejection_carries_its_reason_codes() -> None:
    """A risk refusal keeps every reason code and names them in its message."""
    exc = errors.RiskRejected(["LOW_CONFIDENCE", "EXCEEDS_EXPOSURE"])
    assert exc.reasons == ("LOW_CONFIDENCE", "EXCEEDS_EXPOSURE")
    assert "LOW_CONFIDENCE" in str(exc)
    assert not isinstance(exc, errors.BrokerRejected)


def test_rate_limited_keeps_retry_after_as_decimal() -> None:
    """RateLimited tells the caller how long to wait, as a Decimal number of seconds."""
    exc = errors.RateLimited("429 from broker", retry_after=Decimal("1.5"))
    assert exc.retry_after == Decimal("1.5")
    assert isinstance(exc, errors.TradingError)
