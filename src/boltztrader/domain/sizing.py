"""Turning a signal and a subscriber's sizing rule into an order quantity the instrument accepts."""

from __future__ import annotations

from decimal import Decimal

from boltztrader.domain.instruments import Instrument
from boltztrader.domain.signals import InvalidSignal, Signal
from boltztrader.domain.targets import Sizing

HUNDRED = Decimal(100)


def order_quantity(signal: Signal, sizing: Sizing, sizing_value: Decimal | None, *, reference_price: Decimal,
                   equity: Decimal | None, instrument: Instrument) -> Decimal:
    """The quantity to order, rounded down to the instrument's increment (may be zero: too small).

    A notional (the signal's, a fixed one, or a percent of equity) becomes a quantity at
    ``reference_price`` (the limit price when the signal has one). ``equity`` is needed only for
    percent-of-equity sizing.
    """
    price = signal.limit_price or reference_price
    if price <= 0:
        raise InvalidSignal(f"no usable price for {signal.symbol}", "symbol")
    if sizing is Sizing.SIGNAL:
        raw = signal.quantity if signal.quantity is not None else _notional(signal) / price
    elif sizing is Sizing.FIXED_QUANTITY:
        raw = _value(sizing_value)
    elif sizing is Sizing.FIXED_NOTIONAL:
        raw = _value(sizing_value) / price
    else:
        if equity is None:
            raise ValueError("percent-of-equity sizing needs the account's equity")
        raw = equity * _value(sizing_value) / HUNDRED / price
    return instrument.round_qty(raw)


def _notional(signal: Signal) -> Decimal:
    assert signal.notional is not None
    return signal.notional


def _value(value: Decimal | None) -> Decimal:
    if value is None or value <= 0:
        raise ValueError("the sizing rule has no positive value")
    return value
