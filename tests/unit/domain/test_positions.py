"""Positions from executions: average price on the way in, realised profit on the way out."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from boltztrader.domain.enums import Side
from boltztrader.domain.positions import Holding

D = Decimal


def test_buys_average_and_a_sell_realises_the_difference() -> None:
    """Two buys average their prices; selling part realises (exit - average) x quantity."""
    held = Holding().apply(Side.BUY, D(10), D(100)).apply(Side.BUY, D(10), D(110))
    assert (held.quantity, held.average_price) == (D(20), D(105))
    held = held.apply(Side.SELL, D(5), D(120))
    assert (held.quantity, held.average_price, held.realized_pnl) == (D(15), D(105), D(75))


def test_a_short_gains_when_the_price_falls_and_a_flip_opens_at_the_fill_price() -> None:
    """A short covered lower realises a gain; buying past flat opens a long at that price."""
    held = Holding().apply(Side.SELL, D(4), D(50)).apply(Side.BUY, D(6), D(40))
    assert (held.quantity, held.average_price, held.realized_pnl) == (D(2), D(40), D(40))


def test_non_positive_executions_are_refused() -> None:
    """Zero quantity or price is not an execution."""
    with pytest.raises(ValueError, match="positive"):
        Holding().apply(Side.BUY, D(0), D(1))


@given(st.lists(st.tuples(st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 100), st.integers(1, 1000)),
                min_size=1, max_size=30))
def test_quantity_is_the_signed_sum_and_a_round_trip_at_one_price_realises_nothing(
        trades: list[tuple[Side, int, int]]) -> None:
    """Quantity equals buys minus sells; trading back to flat at one fixed price realises zero."""
    held = Holding()
    for side, qty, price in trades:
        held = held.apply(side, D(qty), D(price))
    assert held.quantity == sum(D(q) if s is Side.BUY else -D(q) for s, q, _ in trades)
    flat = Holding()
    for side, qty, _ in trades:
        flat = flat.apply(side, D(qty), D(7))
    assert flat.realized_pnl == 0
