"""Rounding to steps and ticks: worked examples and properties over random Decimals."""

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from boltztrader.domain.money import (
    PriceRounding,
    _from_multiple,
    _round_fraction,
    is_multiple,
    quantize_price,
    quantize_to_step,
)

D = Decimal

values = st.decimals(min_value=D("-1e9"), max_value=D("1e9"), allow_nan=False, allow_infinity=False, places=8)
steps = st.sampled_from(
    [D("0.00000001"), D("0.001"), D("0.01"), D("0.05"), D("0.5"), D("1"), D("25"), D("75")]
)


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [
        ("0.123456", "0.001", "0.123"),
        ("0.1239", "0.001", "0.123"),
        ("123.47", "0.05", "123.45"),
        ("123", "0.05", "123.00"),
        ("149", "25", "125"),
        ("10", "25", "0"),
        ("-1.5", "1", "-1"),
        ("1.00000000", "0.00100000", "1.00000000"),
    ],
)
def test_quantize_to_step_floors_toward_zero_and_keeps_step_exponent(
    value: str, step: str, expected: str
) -> None:
    """Rounding down to a step gives the exact text a broker expects (step exponent kept)."""
    assert str(quantize_to_step(D(value), D(step))) == expected


def test_quantize_to_step_honours_other_rounding_modes() -> None:
    """Ceiling and half-even rounding use exact arithmetic, not the float-prone context."""
    assert quantize_to_step(D("0.1231"), D("0.001"), ROUND_CEILING) == D("0.124")
    assert quantize_to_step(D("0.1225"), D("0.001"), ROUND_HALF_EVEN) == D("0.122")
    assert quantize_to_step(D("0.1235"), D("0.001"), ROUND_HALF_EVEN) == D("0.124")


def test_quantize_is_exact_beyond_context_precision() -> None:
    """A value with more digits than the decimal context holds still floors correctly."""
    value = D("12345678901234567890123456789.999999999")
    assert quantize_to_step(value, D("0.001")) == D("12345678901234567890123456789.999")


@pytest.mark.parametrize("step", ["0", "-0.01"])
def test_quantize_refuses_non_positive_step(step: str) -> None:
    """A zero or negative step has no multiples to round to, so it is refused."""
    with pytest.raises(ValueError, match="step must be > 0"):
        quantize_to_step(D("1"), D(step))


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [(PriceRounding.DOWN, "123.45"), (PriceRounding.UP, "123.50"), (PriceRounding.NEAREST, "123.45")],
)
def test_quantize_price_rounds_by_mode(rounding: PriceRounding, expected: str) -> None:
    """A buy limit rounds down, a sell limit up, and no side rounds to the nearest tick."""
    assert str(quantize_price(D("123.47"), D("0.05"), rounding)) == expected


def test_quantize_price_nearest_breaks_ties_upward() -> None:
    """Exactly half a tick rounds up, the usual convention for a nearest tick."""
    assert quantize_price(D("123.475"), D("0.05")) == D("123.50")


def test_is_multiple_examples() -> None:
    """Multiples of fractional and whole steps are recognised exactly, others are not."""
    assert is_multiple(D("123.45"), D("0.05"))
    assert is_multiple(D("150"), D("75"))
    assert is_multiple(D("0"), D("0.001"))
    assert not is_multiple(D("123.46"), D("0.05"))
    assert not is_multiple(D("100"), D("75"))


@given(values, steps)
def test_round_down_result_is_a_multiple_of_step(value: Decimal, step: Decimal) -> None:
    """Whatever the input, the rounded value sits exactly on the step grid."""
    assert is_multiple(quantize_to_step(value, step), step)


@given(values.filter(lambda v: v >= 0), steps)
def test_round_down_never_exceeds_input_and_loses_less_than_a_step(value: Decimal, step: Decimal) -> None:
    """Rounding a non-negative quantity down never grows it and removes less than one step."""
    result = quantize_to_step(value, step, ROUND_DOWN)
    assert result <= value
    assert value - result < step


@given(values, steps)
def test_round_down_is_idempotent(value: Decimal, step: Decimal) -> None:
    """Rounding an already rounded value changes nothing."""
    once = quantize_to_step(value, step)
    assert quantize_to_step(once, step) == once


@given(values.filter(lambda v: v > 0), steps)
def test_price_rounding_brackets_the_input(price: Decimal, tick: Decimal) -> None:
    """A down-rounded price is never above the input, an up-rounded one never below, both within a tick."""
    down = quantize_price(price, tick, PriceRounding.DOWN)
    up = quantize_price(price, tick, PriceRounding.UP)
    assert down <= price <= up
    assert up - down in (D(0), tick)


@given(
    value=st.decimals(min_value=D("-1e9"), max_value=D("1e9"), allow_nan=False, allow_infinity=False),
    places=st.integers(min_value=0, max_value=8),
    rounding=st.sampled_from(
        [ROUND_DOWN, ROUND_UP, ROUND_FLOOR, ROUND_CEILING, ROUND_HALF_UP, ROUND_HALF_EVEN]),
)
def test_power_of_ten_steps_round_as_exact_rational_arithmetic(value: D, places: int, rounding: str) -> None:
    """A power-of-ten step (decimal's quantize) gives the digits and exponent of exact rational rounding."""
    step = Decimal(1).scaleb(-places)
    expected = _from_multiple(_round_fraction(Fraction(value) / Fraction(step), rounding), step)
    got = quantize_to_step(value, step, rounding)
    assert got == expected
    assert str(got) == str(expected)
