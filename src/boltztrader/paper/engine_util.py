"""Pure arithmetic of the paper engine: rounding to ticks and steps, fees and splitting fills.

Fees are ``rate x quantity x price`` in the quote asset, truncated (rounded down) to 8 decimal
places for SPOT and FUTURES and to 2 (paise, cents) for EQUITY. Reservations round the same fee up,
so a reservation always covers every fill it is spent on, however the fill is split.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_UP, Decimal

from boltztrader.paper.model import ZERO, AssetClass, Instrument

CRYPTO_UNIT = Decimal("0.00000001")
CASH_UNIT = Decimal("0.01")


def money_unit(instrument: Instrument) -> Decimal:
    """The smallest amount of the quote asset the engine books: 0.01 for EQUITY, 1e-8 otherwise."""
    return CASH_UNIT if instrument.asset_class is AssetClass.EQUITY else CRYPTO_UNIT


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded down to a multiple of ``step`` (unchanged when step <= 0)."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded up to a multiple of ``step`` (unchanged when step <= 0)."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return step <= 0 or value % step == 0


def fee_amount(instrument: Instrument, rate: Decimal, notional: Decimal) -> Decimal:
    """The fee charged on one fill: rate x notional truncated to the money unit (8 dp, EQUITY 2 dp)."""
    if rate == 0:
        return ZERO
    return (rate * notional).quantize(money_unit(instrument), rounding=ROUND_DOWN)


def fee_reserve(instrument: Instrument, rate: Decimal, notional: Decimal) -> Decimal:
    """The fee reserved for a resting order: rate x notional rounded up to the money unit."""
    if rate == 0:
        return ZERO
    return (rate * notional).quantize(money_unit(instrument), rounding=ROUND_UP)


def round_up_money(instrument: Instrument, amount: Decimal) -> Decimal:
    return amount.quantize(money_unit(instrument), rounding=ROUND_CEILING)


def split_quantity(total: Decimal, step: Decimal, parts: int) -> list[Decimal]:
    """Split ``total`` into ``parts`` step-rounded quantities summing exactly to it.

    Every part but the last is ``total / parts`` rounded down to the step; the last takes the
    remainder. When a part would be zero, fewer parts are used (at most total / step of them).
    """
    if parts <= 1 or total <= 0 or step <= 0:
        return [total]
    steps = int((total / step).to_integral_value(rounding=ROUND_FLOOR))
    parts = min(parts, steps)
    if parts <= 1:
        return [total]
    part = floor_to(total / parts, step)
    return [part] * (parts - 1) + [total - part * (parts - 1)]
