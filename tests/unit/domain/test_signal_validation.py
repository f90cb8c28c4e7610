"""Signals are validated once at the edge; a malformed one raises InvalidSignal naming the field."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from boltztrader.domain.enums import Market, Region, Side
from boltztrader.domain.signals import InvalidSignal, Signal
from boltztrader.errors import TradingError

D = Decimal
WHEN = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


def payload(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "sig-1",
        "model_id": "model-a",
        "symbol": "reliance",
        "market": "NSE",
        "side": "buy",
        "quantity": "10",
        "confidence": "0.82",
        "created_at": "2025-03-04T09:30:00+00:00",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def test_valid_mapping_builds_a_normalised_signal() -> None:
    """Text numbers become Decimals, enums parse case-insensitively and the symbol is upper-cased."""
    signal = Signal.from_mapping(payload())
    assert signal.symbol == "RELIANCE"
    assert signal.market is Market.NSE
    assert signal.side is Side.BUY
    assert signal.quantity == D("10")
    assert signal.confidence == D("0.82")
    assert signal.created_at == WHEN


def test_invalid_signal_is_a_value_error_and_a_trading_error() -> None:
    """Callers can catch InvalidSignal as ValueError or as TradingError."""
    with pytest.raises(InvalidSignal) as info:
        Signal.from_mapping(payload(side="hold"))
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, TradingError)
    assert info.value.field == "side"
    assert "allowed: buy, sell" in info.value.reason


@pytest.mark.parametrize("qty", ["0", "-1", "NaN", "Infinity", "-inf", "abc"])
def test_bad_quantity_is_refused(qty: str) -> None:
    """Zero, negative, NaN, infinite and non-numeric quantities are refused."""
    with pytest.raises(InvalidSignal) as info:
        Signal.from_mapping(payload(quantity=qty))
    assert info.value.field == "quantity"


def test_float_quantity_is_refused_with_a_hint() -> None:
    """A float quantity (from json.loads without parse_float) is refused, suggesting Decimal parsing."""
    with pytest.raises(InvalidSignal, match="parse_float=Decimal"):
        Signal.from_mapping(payload(quantity=1.5))


def test_both_quantity_and_notional_is_refused() -> None:
    """A signal sized both ways is ambiguous."""
    with pytest.raises(InvalidSignal, match="exactly one of quantity or notional"):
        Signal.from_mapping(payload(notional="1000"))


def test_neither_quantity_nor_notional_is_refused() -> None:
    """A signal without a size cannot become an order."""
    with pytest.raises(InvalidSignal, match="exactly one of quantity or notional"):
        Signal.from_mapping(payload(quantity=None))


def test_notional_alone_is_accepted() -> None:
    """A signal may be sized by notional instead of quantity."""
    signal = Signal.from_mapping(payload(quantity=None, notional="2500.50"))
    assert signal.notional == D("2500.50")
    assert signal.quantity is None


@pytest.mark.parametrize("confidence", ["-0.01", "1.01", "NaN"])
def test_confidence_outside_unit_interval_is_refused(confidence: str) -> None:
    """Confidence must lie within [0, 1]."""
    with pytest.raises(InvalidSignal) as info:
        Signal.from_mapping(payload(confidence=confidence))
    assert info.value.field == "confidence"


@pytest.mark.parametrize("confidence", ["0", "1"])
def test_confidence_bounds_are_inclusive(confidence: str) -> None:
    """Exactly 0 and exactly 1 are valid confidences."""
    assert Signal.from_mapping(payload(confidence=confidence)).confidence == D(confidence)


def test_naive_created_at_is_refused() -> None:
    """A timestamp without a zone cannot be compared for freshness."""
    with pytest.raises(InvalidSignal, match="naive") as info:
        Signal.from_mapping(payload(created_at="2025-03-04T09:30:00"))
    assert info.value.field == "created_at"


def test_created_at_is_normalised_to_utc() -> None:
    """An IST timestamp is stored as the same instant in UTC."""
    ist = timezone(timedelta(hours=5, minutes=30))
    signal = Signal.from_mapping(payload(created_at=datetime(2025, 3, 4, 15, 0, tzinfo=ist)))
    assert signal.created_at == WHEN
    assert signal.created_at.tzinfo is UTC


def test_non_positive_limit_price_is_refused() -> None:
    """A limit price must be above zero."""
    with pytest.raises(InvalidSignal) as info:
        Signal.from_mapping(payload(limit_price="0"))
    assert info.value.field == "limit_price"


def test_region_hint_must_match_market() -> None:
    """A region hint that contradicts the market is refused rather than routed wrongly."""
    with pytest.raises(InvalidSignal, match="region"):
        Signal.from_mapping(payload(region="us"))
    assert Signal.from_mapping(payload(region="INDIA")).region is Region.INDIA


@pytest.mark.parametrize(
    "missing", ["id", "model_id", "symbol", "market", "side", "confidence", "created_at"]
)
def test_missing_required_field_is_refused(missing: str) -> None:
    """Each required field is named when absent."""
    data = payload()
    del data[missing]
    with pytest.raises(InvalidSignal) as info:
        Signal.from_mapping(data)
    assert info.value.field == missing


def test_unknown_field_is_refused() -> None:
    """A misspelt field is refused instead of silently ignored."""
    with pytest.raises(InvalidSignal, match="unknown field"):
        Signal.from_mapping(payload(qty="10"))


def test_direct_construction_validates_too() -> None:
    """The dataclass constructor applies the same checks as the parsing paths."""
    with pytest.raises(InvalidSignal):
        Signal(
            id="s",
            model_id="m",
            symbol="X",
            market=Market.US,
            side=Side.BUY,
            confidence=D("2"),
            created_at=WHEN,
            quantity=D("1"),
        )
