"""Sizing: a signal and a sizing rule become a quantity on the instrument's increment."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from boltztrader.domain.enums import Broker, Market
from boltztrader.domain.instruments import Instrument
from boltztrader.domain.signals import Signal
from boltztrader.domain.sizing import order_quantity
from boltztrader.domain.targets import Sizing
from tests.unit.instruments import BTC

D = Decimal
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
INFY = Instrument(Broker.ZERODHA, Market.NSE, "INFY", "INR", tick_size=D("0.05"), step_size=D("1"),
                  fractionable=False)


def _signal(**size: str) -> Signal:
    return Signal.create(id="s", model_id="m", symbol="BTCUSDT", market="crypto", side="buy",
                         confidence="0.9", created_at=NOW, **size)


def test_signal_quantity_is_rounded_down_to_the_step() -> None:
    """The signal's own quantity is used, rounded down to the instrument's step."""
    assert order_quantity(_signal(quantity="0.123456"), Sizing.SIGNAL, None, reference_price=D("60000"),
                          equity=None, instrument=BTC) == D("0.12345")


def test_signal_notional_becomes_quantity_at_the_reference_price() -> None:
    """A notional signal is divided by the reference price and rounded down."""
    assert order_quantity(_signal(notional="1000"), Sizing.SIGNAL, None, reference_price=D("60000"),
                          equity=None, instrument=BTC) == D("0.01666")


def test_fixed_rules_and_percent_of_equity() -> None:
    """Fixed quantity, fixed notional and percent of equity each give the expected rounded quantity."""
    signal = _signal(quantity="1")
    price = D("1500")
    assert order_quantity(signal, Sizing.FIXED_QUANTITY, D("7"), reference_price=price, equity=None,
                          instrument=INFY) == D("7")
    assert order_quantity(signal, Sizing.FIXED_NOTIONAL, D("10000"), reference_price=price, equity=None,
                          instrument=INFY) == D("6")
    assert order_quantity(signal, Sizing.PERCENT_EQUITY, D("2"), reference_price=price, equity=D("1000000"),
                          instrument=INFY) == D("13")


def test_percent_of_equity_needs_equity() -> None:
    """Percent-of-equity sizing without the account's equity is an error, not a guess."""
    with pytest.raises(ValueError, match="equity"):
        order_quantity(_signal(quantity="1"), Sizing.PERCENT_EQUITY, D("2"), reference_price=D("10"),
                       equity=None, instrument=BTC)


@given(st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2),
       st.decimals(min_value=D("1"), max_value=D("100000"), places=2))
def test_notional_sizing_never_exceeds_the_notional(notional: Decimal, price: Decimal) -> None:
    """The sized quantity times the price never exceeds the notional asked for."""
    qty = order_quantity(_signal(quantity="1"), Sizing.FIXED_NOTIONAL, notional, reference_price=price,
                         equity=None, instrument=BTC)
    assert qty * price <= notional
    assert qty % BTC.step_size == 0
