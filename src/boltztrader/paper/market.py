"""Price sources for the paper markets: a seeded random walk, CSV replay, and prices set by hand.

The walk is deterministic: a symbol's n-th step depends only on the seed, the symbol and n, never
on wall time, so the same seed gives the same prices in every run.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path


@dataclass(slots=True)
class RandomWalk:
    """Geometric random walk: each step moves the price by a normal draw of ``volatility_bps``."""

    start: Decimal
    tick: Decimal
    seed: int
    symbol: str
    volatility_bps: Decimal = Decimal(10)
    steps: int = 0
    price: Decimal = Decimal(0)
    _rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(f"{self.seed}:{self.symbol}".encode()).digest()
        self._rng = random.Random(int.from_bytes(digest[:8], "big"))
        self.price = _to_tick(self.start, self.tick)

    def step(self) -> Decimal:
        move = Decimal(repr(self._rng.gauss(0.0, 1.0))) * self.volatility_bps / Decimal(10_000)
        self.price = max(_to_tick(self.price * (1 + move), self.tick), self.tick)
        self.steps += 1
        return self.price


@dataclass(slots=True)
class Replay:
    """Replays a list of prices (already on the tick), one per step; then holds the last one."""

    prices: list[Decimal]
    position: int = 0

    def step(self) -> Decimal:
        price = self.prices[min(self.position, len(self.prices) - 1)]
        self.position += 1
        return price


def read_csv_prices(path: Path) -> dict[str, list[Decimal]]:
    """Read ``symbol,price`` rows (a header row is allowed) into per-symbol price lists."""
    series: dict[str, list[Decimal]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if not row or row[0].strip().lower() in ("symbol", ""):
                continue
            symbol, price = row[0].strip(), Decimal(row[1].strip())
            series.setdefault(symbol, []).append(price)
    return series


class MarketData:
    """Current price per symbol, and how each symbol's next price is made."""

    def __init__(self, start_prices: Mapping[str, Decimal], ticks: Mapping[str, Decimal], *, seed: int = 7,
                 volatility_bps: Decimal = Decimal(10)) -> None:
        self._ticks = dict(ticks)
        self._sources: dict[str, RandomWalk | Replay] = {
            symbol: RandomWalk(price, self._ticks[symbol], seed, symbol, volatility_bps)
            for symbol, price in start_prices.items()
        }
        self.prices: dict[str, Decimal] = {s: _to_tick(p, self._ticks[s]) for s, p in start_prices.items()}

    def step(self, symbols: Iterable[str] | None = None) -> dict[str, Decimal]:
        """Advance every source (or those of ``symbols``) by one step; return the new prices."""
        moved = {}
        for symbol in symbols if symbols is not None else list(self._sources):
            moved[symbol] = self._sources[symbol].step()
        self.prices.update(moved)
        return moved

    def set_price(self, symbol: str, price: Decimal) -> Decimal:
        """Set a price by hand; the walk continues from it."""
        price = _to_tick(price, self._ticks[symbol])
        source = self._sources[symbol]
        if isinstance(source, RandomWalk):
            source.price = price
        self.prices[symbol] = price
        return price

    def replay(self, series: Mapping[str, list[Decimal]]) -> None:
        """Replace the walk of each symbol in ``series`` with a replay of its prices."""
        for symbol, prices in series.items():
            if symbol not in self._sources:
                raise KeyError(symbol)
            if not prices:
                raise ValueError(f"no prices for {symbol}")
            self._sources[symbol] = Replay([_to_tick(p, self._ticks[symbol]) for p in prices])

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)


def _to_tick(price: Decimal, tick: Decimal) -> Decimal:
    return (price / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP) * tick
