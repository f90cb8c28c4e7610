"""Paper prices: a seeded walk that repeats itself, replay, and prices set by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from boltztrader.paper.market import MarketData, read_csv_prices

START = {"INFY": Decimal("1500.00"), "TCS": Decimal("3900.00")}
TICKS = {"INFY": Decimal("0.05"), "TCS": Decimal("0.05")}


def test_same_seed_same_prices() -> None:
    """Two markets with the same seed produce the same price path for every symbol."""
    a, b = MarketData(START, TICKS, seed=11), MarketData(START, TICKS, seed=11)
    path_a = [a.step() for _ in range(100)]
    path_b = [b.step() for _ in range(100)]
    assert path_a == path_b
    assert len({p["INFY"] for p in path_a}) > 10


def test_different_seeds_differ() -> None:
    """Another seed gives another path."""
    a, b = MarketData(START, TICKS, seed=1), MarketData(START, TICKS, seed=2)
    assert [a.step()["INFY"] for _ in range(20)] != [b.step()["INFY"] for _ in range(20)]


def test_walk_prices_stay_on_the_tick_and_positive() -> None:
    """Every walked price is a positive multiple of the symbol's tick."""
    market = MarketData(START, TICKS, seed=5, volatility_bps=Decimal(500))
    for _ in range(500):
        price = market.step()["INFY"]
        assert price > 0
        assert price % Decimal("0.05") == 0


def test_a_symbols_path_does_not_depend_on_the_others() -> None:
    """Adding a symbol to the market does not change another symbol's path."""
    alone = MarketData({"INFY": START["INFY"]}, TICKS, seed=9)
    together = MarketData(START, TICKS, seed=9)
    assert [alone.step()["INFY"] for _ in range(30)] == [together.step()["INFY"] for _ in range(30)]


def test_set_price_snaps_to_tick_and_the_walk_continues_from_it() -> None:
    """A price set by hand is rounded to the tick and becomes the walk's new starting point."""
    market = MarketData(START, TICKS, seed=4, volatility_bps=Decimal(1))
    assert market.set_price("INFY", Decimal("1234.56")) == Decimal("1234.55")
    assert abs(market.step()["INFY"] - Decimal("1234.55")) < Decimal("5")


def test_csv_replay_plays_prices_in_order_then_holds(tmp_path: Path) -> None:
    """A replayed symbol takes its CSV prices one per step and keeps the last one afterwards."""
    path = tmp_path / "prices.csv"
    path.write_text("symbol,price\nINFY,1501.00\nINFY,1502.50\nTCS,3901\n")
    market = MarketData(START, TICKS, seed=1)
    market.replay(read_csv_prices(path))
    seen = [market.step() for _ in range(3)]
    assert [s["INFY"] for s in seen] == [Decimal("1501.00"), Decimal("1502.50"), Decimal("1502.50")]
    assert [s["TCS"] for s in seen] == [Decimal("3901")] * 3
