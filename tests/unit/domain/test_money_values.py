"""Decimal conversion refuses floats and non-finite numbers; Money refuses mixed currencies."""

from decimal import Decimal

import pytest

from boltztrader.domain.money import Money, require_positive, to_decimal

D = Decimal


@pytest.mark.parametrize(
    ("raw", "expected"), [("1.10", D("1.10")), (" 2 ", D("2")), (3, D("3")), (D("4.5"), D("4.5"))]
)
def test_to_decimal_accepts_text_int_and_decimal(raw: str | int | Decimal, expected: Decimal) -> None:
    """Text, ints and Decimals convert exactly, keeping their written precision."""
    result = to_decimal(raw)
    assert result == expected
    assert str(result) == str(expected)


def test_to_decimal_refuses_float_with_a_hint() -> None:
    """A float is refused with a TypeError that tells the caller to send text instead."""
    with pytest.raises(TypeError, match=r"float.*str or Decimal"):
        to_decimal(0.1)  # type: ignore[arg-type]


def test_to_decimal_refuses_bool() -> None:
    """True is an int to Python but never a meaningful amount."""
    with pytest.raises(TypeError, match="bool"):
        to_decimal(True)


@pytest.mark.parametrize("raw", ["NaN", "sNaN", D("NaN")])
def test_to_decimal_refuses_nan(raw: str | Decimal) -> None:
    """NaN is refused because every comparison with it is false and would slip past limits."""
    with pytest.raises(ValueError, match="NaN"):
        to_decimal(raw)


@pytest.mark.parametrize("raw", ["Infinity", "-inf", D("Infinity")])
def test_to_decimal_refuses_infinity(raw: str | Decimal) -> None:
    """Infinity is refused: no order or balance is infinite."""
    with pytest.raises(ValueError, match="finite"):
        to_decimal(raw)


def test_to_decimal_refuses_garbage_text() -> None:
    """Text that is not a number names the offending value."""
    with pytest.raises(ValueError, match="qty is not a number"):
        to_decimal("12abc", name="qty")


def test_require_positive_refuses_zero() -> None:
    """Zero is not a positive size."""
    with pytest.raises(ValueError, match="> 0"):
        require_positive("0", name="qty")


def test_money_adds_and_subtracts_same_currency() -> None:
    """Sums and differences of one currency stay exact and keep the currency."""
    total = Money(D("10.10"), "USD") + Money(D("0.20"), "USD") - Money(D("5"), "USD")
    assert total == Money(D("5.30"), "USD")


def test_money_refuses_mixed_currencies() -> None:
    """Adding INR to USD raises instead of silently mixing units."""
    with pytest.raises(ValueError, match="INR with USD"):
        _ = Money(D("1"), "INR") + Money(D("1"), "USD")
    with pytest.raises(ValueError, match="cannot combine"):
        _ = Money(D("1"), "INR") < Money(D("1"), "USD")


def test_money_multiplies_by_decimal_on_either_side() -> None:
    """Scaling by a Decimal or int works from the left and the right."""
    price = Money(D("2.5"), "USDT")
    assert price * D("4") == Money(D("10.0"), "USDT")
    assert 3 * price == Money(D("7.5"), "USDT")


def test_money_refuses_float_factor_and_float_amount() -> None:
    """Floats are refused both as a factor and as an amount."""
    with pytest.raises(TypeError, match="float"):
        _ = Money(D("1"), "USD") * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError, match="float"):
        _ = 1.5 * Money(D("1"), "USD")  # type: ignore[operator]
    with pytest.raises(TypeError, match="float"):
        Money(1.5, "USD")  # type: ignore[arg-type]


def test_money_refuses_multiplying_two_amounts() -> None:
    """USD times USD is not money, so it is a TypeError."""
    with pytest.raises(TypeError):
        _ = Money(D("1"), "USD") * Money(D("1"), "USD")  # type: ignore[operator]


@pytest.mark.parametrize("currency", ["usd", "US", "TOOLONG", "U5D", ""])
def test_money_refuses_malformed_currency(currency: str) -> None:
    """A currency must be 3-5 upper-case letters."""
    with pytest.raises(ValueError, match="currency"):
        Money(D("1"), currency)


def test_money_of_normalises_loose_input() -> None:
    """The edge constructor accepts text amounts and lower-case currencies."""
    assert Money.of("12.50", " inr ") == Money(D("12.50"), "INR")
    assert Money.zero("USDT").amount == 0
