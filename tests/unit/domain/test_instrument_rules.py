"""Instrument rules round quantities and prices to valid values and report every broken rule."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from boltztrader.domain.enums import Broker, Market, Side
from boltztrader.domain.instruments import Instrument, RuleCode, decimal_lcm
from boltztrader.domain.money import is_multiple
from tests.unit.instruments import BTC

D = Decimal

NIFTY_FUT = Instrument(
    broker=Broker.ZERODHA,
    market=Market.NFO,
    symbol="NIFTY25JANFUT",
    currency="INR",
    tick_size=D("0.05"),
    step_size=D("1"),
    lot_size=D("75"),
    min_qty=D("75"),
    freeze_qty=D("1800"),
    fractionable=False,
)
AAPL_WHOLE = Instrument(
    broker=Broker.ALPACA,
    market=Market.US,
    symbol="AAPL",
    currency="USD",
    tick_size=D("0.01"),
    step_size=D("0.000000001"),
    fractionable=False,
)


def codes(instrument: Instrument, qty: str, price: str | None = None) -> set[RuleCode]:
    return {p.code for p in instrument.check(D(qty), None if price is None else D(price))}


def test_round_qty_floors_to_step() -> None:
    """A crypto quantity is floored to its step size, never rounded up."""
    assert BTC.round_qty(D("0.1234567")) == D("0.12345")


def test_round_qty_respects_lot_size() -> None:
    """A futures quantity is floored to a whole number of lots."""
    assert NIFTY_FUT.round_qty(D("200")) == D("150")
    assert NIFTY_FUT.round_qty(D("74")) == D("0")


def test_non_fractionable_rounds_to_whole_units() -> None:
    """A non-fractionable stock drops any fractional quantity."""
    assert AAPL_WHOLE.quantity_increment == D("1")
    assert AAPL_WHOLE.round_qty(D("3.7")) == D("3")


@pytest.mark.parametrize(
    ("side", "expected"), [(Side.BUY, D("22150.05")), (Side.SELL, D("22150.10")), (None, D("22150.05"))]
)
def test_round_price_is_side_aware(side: Side | None, expected: Decimal) -> None:
    """A buy price rounds down, a sell up, and without a side to the nearest tick."""
    assert NIFTY_FUT.round_price(D("22150.07"), side) == expected


def test_valid_order_has_no_problems() -> None:
    """A quantity and price that fit every rule produce an empty list."""
    assert BTC.check(D("0.001"), D("65000.01")) == []
    assert NIFTY_FUT.check(D("150"), D("22150.05")) == []


def test_check_reports_minimum_notional_at_the_boundary() -> None:
    """Exactly the minimum notional passes; one tick less fails."""
    assert codes(BTC, "0.001", "5000.00") == set()
    assert codes(BTC, "0.001", "4999.99") == {RuleCode.NOTIONAL_BELOW_MIN}


def test_check_reports_quantity_problems() -> None:
    """Off-step, below-minimum, above-maximum and above-freeze quantities are each named."""
    assert codes(BTC, "0.000001") == {RuleCode.QTY_BELOW_MIN, RuleCode.QTY_NOT_ON_STEP}
    assert codes(BTC, "9000.00001") == {RuleCode.QTY_ABOVE_MAX}
    assert codes(NIFTY_FUT, "1875") == {RuleCode.QTY_ABOVE_FREEZE}
    assert codes(NIFTY_FUT, "100") == {RuleCode.QTY_NOT_LOT_MULTIPLE}
    assert codes(AAPL_WHOLE, "1.5") == {RuleCode.QTY_FRACTIONAL}


def test_check_reports_price_problems() -> None:
    """A price off the tick or not positive is named."""
    assert codes(NIFTY_FUT, "75", "22150.07") == {RuleCode.PRICE_NOT_ON_TICK}
    assert codes(NIFTY_FUT, "75", "0") == {RuleCode.PRICE_NOT_POSITIVE}


def test_check_reports_non_positive_quantity_alone() -> None:
    """Zero quantity is reported once rather than as a cascade of step and minimum problems."""
    assert codes(BTC, "0") == {RuleCode.QTY_NOT_POSITIVE}


def test_max_order_qty_is_the_tighter_cap() -> None:
    """The per-order cap is the smaller of max_qty and freeze_qty, or None when neither exists."""
    assert NIFTY_FUT.max_order_qty == D("1800")
    assert BTC.max_order_qty == D("9000")
    assert AAPL_WHOLE.max_order_qty is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("tick_size", D("0")), ("step_size", D("-1")), ("lot_size", D("0")), ("min_qty", D("-1"))],
)
def test_instrument_refuses_impossible_rules(field: str, value: Decimal) -> None:
    """Zero or negative ticks, steps, lots and minimums are configuration errors."""
    kwargs: dict[str, object] = {
        "broker": Broker.BINANCE,
        "market": Market.CRYPTO,
        "symbol": "ETHUSDT",
        "currency": "USDT",
        "tick_size": D("0.01"),
        "step_size": D("0.0001"),
        field: value,
    }
    with pytest.raises(ValueError, match=field):
        Instrument(**kwargs)  # type: ignore[arg-type]


def test_instrument_refuses_float_tick() -> None:
    """A float tick size is refused like every other float amount."""
    with pytest.raises(TypeError, match="float"):
        Instrument(Broker.BINANCE, Market.CRYPTO, "ETHUSDT", "USDT", 0.01, D("0.0001"))  # type: ignore[arg-type]


def test_decimal_lcm_examples() -> None:
    """The merged increment of a step and a lot is their least common multiple."""
    assert decimal_lcm(D("0.001"), D("1")) == D("1")
    assert decimal_lcm(D("0.5"), D("0.75")) == D("1.5")
    assert decimal_lcm(D("1"), D("75")) == D("75")


@given(st.decimals(min_value=D("0"), max_value=D("100000"), places=3))
def test_rounded_quantity_always_passes_step_and_lot(qty: Decimal) -> None:
    """Whatever quantity comes in, the rounded one is on the step and a whole number of lots."""
    rounded = NIFTY_FUT.round_qty(qty)
    assert rounded <= qty
    assert is_multiple(rounded, D("75"))
    assert not {p.code for p in NIFTY_FUT.check(rounded)} & {
        RuleCode.QTY_NOT_ON_STEP,
        RuleCode.QTY_NOT_LOT_MULTIPLE,
    }
