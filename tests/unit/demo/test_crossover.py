"""The demo model signals when its fast average crosses its slow one, and only then."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from boltztrader.demo.crossover import Crossover
from boltztrader.domain.enums import Side

T0 = datetime(2026, 11, 26, tzinfo=UTC)


def _run(model: Crossover, prices: list[str]) -> list[tuple[int, Side]]:
    crosses = []
    for i, price in enumerate(prices):
        cross = model.feed(Decimal(price), T0 + timedelta(seconds=i))
        if cross is not None:
            crosses.append((i, cross.side))
    return crosses


def test_a_rise_after_a_fall_is_a_buy_and_the_reverse_a_sell() -> None:
    """Falling then rising prices give one buy; rising again then falling gives one sell."""
    down = [str(100 - i) for i in range(10)]
    up = [str(91 + 2 * i) for i in range(10)]
    again_down = [str(109 - 3 * i) for i in range(10)]
    sides = [side for _, side in _run(Crossover(fast=2, slow=5), down + up + again_down)]
    assert sides == [Side.BUY, Side.SELL]


def test_no_signal_before_the_slow_window_is_full_or_on_a_flat_market() -> None:
    """A model that has seen fewer prices than its slow window, or only flat prices, stays silent."""
    assert _run(Crossover(fast=2, slow=5), ["100"] * 4) == []
    assert _run(Crossover(fast=2, slow=5), ["100"] * 50) == []


def test_windows_must_be_ordered() -> None:
    """The fast window must be shorter than the slow one."""
    with pytest.raises(ValueError, match="fast < slow"):
        Crossover(fast=5, slow=5)


@given(st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=200))
def test_confidence_is_between_one_half_and_one_and_sides_alternate(prices: list[int]) -> None:
    """Every cross has a confidence in [0.5, 1], and buys and sells alternate."""
    model = Crossover(fast=3, slow=8)
    crosses = [c for i, p in enumerate(prices)
               if (c := model.feed(Decimal(p), T0 + timedelta(seconds=i))) is not None]
    assert all(Decimal("0.5") <= c.confidence <= 1 for c in crosses)
    assert all(a.side is not b.side for a, b in itertools.pairwise(crosses))
