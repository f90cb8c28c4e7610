"""Instruments and their trading-shape rules (tick, step, lot, minimums, maximums).

The risk guard uses these to round a quantity or price to a valid value, or to deny, before an
order leaves: an order the broker would refuse for its shape must never be sent (risk check 8).
``check`` returns problems with codes rather than raising, so the guard can report all of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Protocol

from boltztrader.domain.enums import Broker, Market, Side
from boltztrader.domain.money import (
    PriceRounding,
    is_multiple,
    quantize_price,
    quantize_to_step,
    require_positive,
    to_decimal,
)

__all__ = ["Instrument", "InstrumentRules", "RuleCode", "RuleProblem", "decimal_lcm"]


class RuleCode(StrEnum):
    """Why a quantity or price does not fit an instrument; callers branch on these, not on text."""

    QTY_NOT_POSITIVE = "qty_not_positive"
    QTY_BELOW_MIN = "qty_below_min"
    QTY_ABOVE_MAX = "qty_above_max"
    QTY_ABOVE_FREEZE = "qty_above_freeze"
    QTY_NOT_ON_STEP = "qty_not_on_step"
    QTY_NOT_LOT_MULTIPLE = "qty_not_lot_multiple"
    QTY_FRACTIONAL = "qty_fractional"
    PRICE_NOT_POSITIVE = "price_not_positive"
    PRICE_NOT_ON_TICK = "price_not_on_tick"
    NOTIONAL_BELOW_MIN = "notional_below_min"


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """One broken rule: a stable code and a message for humans."""

    code: RuleCode
    message: str


def decimal_lcm(a: Decimal, b: Decimal) -> Decimal:
    """Least common multiple of two positive Decimals (lcm(0.001, 1) = 1, lcm(0.5, 0.75) = 1.5).

    Used to merge a step size with a lot size into the one increment a quantity must respect.
    """
    fa, fb = Fraction(require_positive(a, name="a")), Fraction(require_positive(b, name="b"))
    # For reduced fractions, lcm(p1/q1, p2/q2) = lcm(p1, p2) / gcd(q1, q2).
    numerator = math.lcm(fa.numerator, fb.numerator)
    denominator = math.gcd(fa.denominator, fb.denominator)
    # The denominator divides a power of ten (both inputs are decimals), so this is exact.
    places = 0
    while 10**places % denominator:
        places += 1
    return Decimal(f"{numerator * (10**places // denominator)}E-{places}")


class InstrumentRules(Protocol):
    """What the risk guard needs of an instrument: its rule fields and the three rule methods."""

    @property
    def tick_size(self) -> Decimal: ...

    @property
    def quantity_increment(self) -> Decimal: ...

    def round_qty(self, qty: Decimal) -> Decimal: ...

    def round_price(self, price: Decimal, side: Side | None = None) -> Decimal: ...

    def check(self, qty: Decimal, price: Decimal | None = None) -> list[RuleProblem]: ...


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable symbol at one broker and market, with the shape rules that broker enforces.

    ``lot_size`` None means no lot beyond ``step_size`` (crypto, US). ``max_qty`` is the broker's
    per-order cap (Binance LOT_SIZE maxQty); ``freeze_qty`` is NSE's freeze quantity, above which
    an order is refused unless sliced. ``fractionable`` False forces whole quantities.
    """

    broker: Broker
    market: Market
    symbol: str
    currency: str
    tick_size: Decimal
    step_size: Decimal
    lot_size: Decimal | None = None
    min_qty: Decimal = Decimal(0)
    max_qty: Decimal | None = None
    min_notional: Decimal | None = None
    fractionable: bool = True
    freeze_qty: Decimal | None = None

    def __post_init__(self) -> None:
        if not self.symbol or self.symbol.strip() != self.symbol:
            raise ValueError(f"symbol must be non-empty without surrounding spaces, got {self.symbol!r}")
        if not (3 <= len(self.currency) <= 5 and self.currency.isalpha() and self.currency.isupper()):
            raise ValueError(f"currency must be 3-5 upper-case letters, got {self.currency!r}")
        object.__setattr__(self, "broker", Broker(self.broker))
        object.__setattr__(self, "market", Market(self.market))
        object.__setattr__(self, "tick_size", require_positive(self.tick_size, name="tick_size"))
        object.__setattr__(self, "step_size", require_positive(self.step_size, name="step_size"))
        min_qty = to_decimal(self.min_qty, name="min_qty")
        if min_qty < 0:
            raise ValueError(f"min_qty must be >= 0, got {min_qty}")
        object.__setattr__(self, "min_qty", min_qty)
        for name in ("lot_size", "max_qty", "min_notional", "freeze_qty"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, require_positive(value, name=name))
        if self.max_qty is not None and self.max_qty < min_qty:
            raise ValueError(f"max_qty {self.max_qty} is below min_qty {min_qty}")

    @property
    def key(self) -> tuple[Broker, Market, str]:
        """The identity of an instrument across the system."""
        return (self.broker, self.market, self.symbol)

    @property
    def quantity_increment(self) -> Decimal:
        """The step every quantity must be a multiple of: step and lot, and 1 if not fractionable."""
        increment = self.step_size
        if self.lot_size is not None:
            increment = decimal_lcm(increment, self.lot_size)
        if not self.fractionable:
            increment = decimal_lcm(increment, Decimal(1))
        return increment

    @property
    def max_order_qty(self) -> Decimal | None:
        """The largest quantity one order may carry: the tighter of max_qty and freeze_qty."""
        caps = [cap for cap in (self.max_qty, self.freeze_qty) if cap is not None]
        return min(caps) if caps else None

    def round_qty(self, qty: Decimal) -> Decimal:
        """Round a quantity down to the quantity increment: we never trade more than asked."""
        return quantize_to_step(qty, self.quantity_increment)

    def round_price(self, price: Decimal, side: Side | None = None) -> Decimal:
        """Snap to the tick: a buy rounds down, a sell up (never more aggressive); no side: nearest."""
        if side is None:
            rounding = PriceRounding.NEAREST
        else:
            rounding = PriceRounding.DOWN if side is Side.BUY else PriceRounding.UP
        return quantize_price(price, self.tick_size, rounding)

    def check(self, qty: Decimal, price: Decimal | None = None) -> list[RuleProblem]:
        """Every rule that ``qty`` (and ``price``, when known) breaks; an empty list means valid."""
        qty = to_decimal(qty, name="qty")
        if qty <= 0:
            found = [(RuleCode.QTY_NOT_POSITIVE, f"quantity {qty} must be > 0")]
        else:
            found = self._qty_problems(qty)
        if price is not None:
            found += self._price_problems(qty, to_decimal(price, name="price"))
        return [RuleProblem(code, message) for code, message in found]

    def _qty_problems(self, qty: Decimal) -> list[tuple[RuleCode, str]]:
        lot, cap, freeze = self.lot_size, self.max_qty, self.freeze_qty
        checks = [
            (qty < self.min_qty, RuleCode.QTY_BELOW_MIN, f"is below minimum {self.min_qty}"),
            (cap is not None and qty > cap, RuleCode.QTY_ABOVE_MAX, f"is above maximum {cap}"),
            (
                freeze is not None and qty > freeze,
                RuleCode.QTY_ABOVE_FREEZE,
                f"is above freeze quantity {freeze}",
            ),
            (
                not is_multiple(qty, self.step_size),
                RuleCode.QTY_NOT_ON_STEP,
                f"is not a multiple of step {self.step_size}",
            ),
            (
                lot is not None and not is_multiple(qty, lot),
                RuleCode.QTY_NOT_LOT_MULTIPLE,
                f"is not a multiple of lot {lot}",
            ),
            (
                not self.fractionable and not is_multiple(qty, Decimal(1)),
                RuleCode.QTY_FRACTIONAL,
                "must be whole",
            ),
        ]
        return [(code, f"quantity {qty} {text}") for broken, code, text in checks if broken]

    def _price_problems(self, qty: Decimal, price: Decimal) -> list[tuple[RuleCode, str]]:
        if price <= 0:
            return [(RuleCode.PRICE_NOT_POSITIVE, f"price {price} must be > 0")]
        found: list[tuple[RuleCode, str]] = []
        if not is_multiple(price, self.tick_size):
            found.append(
                (RuleCode.PRICE_NOT_ON_TICK, f"price {price} is not a multiple of tick {self.tick_size}")
            )
        notional = qty * price
        if self.min_notional is not None and qty > 0 and notional < self.min_notional:
            found.append(
                (RuleCode.NOTIONAL_BELOW_MIN, f"notional {notional} is below minimum {self.min_notional}")
            )
        return found
