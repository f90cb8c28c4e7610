"""Decimal helpers and the ``Money`` value type.

Money is ``Decimal`` end to end: a float cannot hold 0.1 exactly, so a float price drifts off the
tick and the broker rejects the order (or P&L slowly goes wrong). Everything here is exact: the
rounding helpers work on rational numbers, so no context precision can round a quantity the
wrong way before it is floored to its step.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import (
    ROUND_05UP,
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    Inexact,
    InvalidOperation,
    localcontext,
)
from enum import StrEnum
from fractions import Fraction

__all__ = [
    "Money",
    "PriceRounding",
    "is_multiple",
    "quantize_price",
    "quantize_to_step",
    "require_positive",
    "to_decimal",
]

_CURRENCY = re.compile(r"[A-Z]{3,5}")


class PriceRounding(StrEnum):
    """How a price snaps to its tick: down suits a buy limit (never pay more), up a sell limit."""

    DOWN = "down"
    UP = "up"
    NEAREST = "nearest"


def to_decimal(value: str | int | Decimal, *, name: str = "value") -> Decimal:
    """Turn text, an int or a Decimal into a finite Decimal; refuse floats, bools, NaN and infinity.

    Floats are refused rather than converted because the float already lost the number the caller
    meant (``0.1`` is ``0.1000000000000000055...``); the caller must send text instead.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a Decimal, int or str, not bool")
    if isinstance(value, float):
        raise TypeError(f"{name} must not be a float ({value!r}): pass a str or Decimal to keep it exact")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{name} is not a number: {value!r}") from None
    else:
        raise TypeError(f"{name} must be a Decimal, int or str, not {type(value).__name__}")
    if result.is_nan():
        raise ValueError(f"{name} must not be NaN")
    if result.is_infinite():
        raise ValueError(f"{name} must be finite, not {result}")
    return result


def require_positive(value: str | int | Decimal, *, name: str = "value") -> Decimal:
    """``to_decimal`` plus ``> 0``: sizes, ticks and prices are never zero or negative."""
    result = to_decimal(value, name=name)
    if result <= 0:
        raise ValueError(f"{name} must be > 0, got {result}")
    return result


def _round_fraction(q: Fraction, rounding: str) -> int:
    """Round an exact rational to an integer with a ``decimal`` rounding mode, without precision loss."""
    floor, ceil = math.floor(q), math.ceil(q)
    if floor == ceil:
        return floor
    toward_zero, away = (floor, ceil) if q > 0 else (ceil, floor)
    if rounding == ROUND_DOWN:
        return toward_zero
    if rounding == ROUND_UP:
        return away
    if rounding == ROUND_FLOOR:
        return floor
    if rounding == ROUND_CEILING:
        return ceil
    if rounding in (ROUND_HALF_UP, ROUND_HALF_DOWN, ROUND_HALF_EVEN):
        distance = abs(q - toward_zero)
        if distance != Fraction(1, 2):
            return away if distance > Fraction(1, 2) else toward_zero
        if rounding == ROUND_HALF_UP:
            return away
        if rounding == ROUND_HALF_DOWN:
            return toward_zero
        return floor if floor % 2 == 0 else ceil
    if rounding == ROUND_05UP:
        raise ValueError("ROUND_05UP is not supported for step rounding")
    raise ValueError(f"unknown rounding mode {rounding!r}")


def _step_exponent(step: Decimal) -> int:
    """The exponent results take: the step's own (tick 0.05 -> 2 places), never positive notation."""
    exponent = step.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, checked by the caller
    return min(exponent, 0)


def _from_multiple(n: int, step: Decimal) -> Decimal:
    """``n * step`` computed exactly and written with the step's exponent (``123.45``, not ``1.2345E+2``)."""
    exponent = _step_exponent(step)
    raw_exponent = step.as_tuple().exponent
    assert isinstance(raw_exponent, int)
    with localcontext() as ctx:
        # Enough digits that neither the product nor the quantize can round; Inexact would be a bug.
        ctx.prec = len(str(abs(n))) + len(step.as_tuple().digits) + abs(raw_exponent) + 2
        ctx.traps[Inexact] = True
        return (Decimal(n) * step).quantize(Decimal(1).scaleb(exponent))


def quantize_to_step(value: Decimal, step: Decimal, rounding: str = ROUND_DOWN) -> Decimal:
    """Round ``value`` to a multiple of ``step`` (default: toward zero, so a quantity never grows).

    ``step`` may be any positive Decimal (0.001, 0.05, 25). The result carries the step's exponent.
    """
    value = to_decimal(value, name="value")
    step = require_positive(step, name="step")
    shape = step.as_tuple()
    if shape.digits == (1,) and isinstance(shape.exponent, int) and shape.exponent <= 0 \
            and rounding in _DECIMAL_MODES:
        # A power-of-ten step (0.01, 1): decimal's own quantize is exact here, and far cheaper.
        with localcontext() as ctx:
            ctx.prec = max(len(value.as_tuple().digits), value.adjusted() + 1) + abs(shape.exponent) + 2
            ctx.traps[Inexact] = False
            result = value.quantize(step, rounding=rounding)
        return result if result else result.copy_abs()
    n = _round_fraction(Fraction(value) / Fraction(step), rounding)
    return _from_multiple(n, step)


_DECIMAL_MODES = frozenset({ROUND_DOWN, ROUND_UP, ROUND_FLOOR, ROUND_CEILING, ROUND_HALF_UP, ROUND_HALF_EVEN,
                            ROUND_HALF_DOWN})


_PRICE_MODES = {
    PriceRounding.DOWN: ROUND_FLOOR,
    PriceRounding.UP: ROUND_CEILING,
    PriceRounding.NEAREST: ROUND_HALF_UP,
}


def quantize_price(
    price: Decimal, tick: Decimal, rounding: PriceRounding | str = PriceRounding.NEAREST
) -> Decimal:
    """Snap a price to its tick: ``down`` for a buy limit, ``up`` for a sell limit, else nearest (ties up).

    Side-aware rounding keeps a limit price no more aggressive than the signal asked for.
    """
    mode = _PRICE_MODES[PriceRounding(rounding)]
    return quantize_to_step(price, tick, mode)


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """True when ``value`` is an exact integer multiple of ``step`` (zero counts)."""
    value = to_decimal(value, name="value")
    step = require_positive(step, name="step")
    return (Fraction(value) / Fraction(step)).denominator == 1


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in one currency; adding INR to USD is a bug, so it raises instead of guessing a rate."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount, name="amount"))
        if not isinstance(self.currency, str) or not _CURRENCY.fullmatch(self.currency):
            raise ValueError(
                f"currency must be 3-5 upper-case letters (INR, USD, USDT), got {self.currency!r}"
            )

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        """Build from loose input (text amount, any-case currency) at the edge of the system."""
        return cls(to_decimal(amount, name="amount"), currency.strip().upper())

    @classmethod
    def zero(cls, currency: str) -> Money:
        """The additive identity, handy as the start of a sum."""
        return cls(Decimal(0), currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float):
            raise TypeError("cannot multiply Money by a float: use a Decimal")
        if isinstance(factor, bool) or not isinstance(factor, (Decimal, int)):
            return NotImplemented
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
