"""A moving-average crossover on a stream of prices, emitting buy/sell signals with a confidence.

Deliberately simple: it exists so that ``make run`` shows AI-style signals turning into paper
orders, not to make money. Pure: prices and times come in, signal fields come out.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from boltztrader.domain.enums import Side

HALF = Decimal("0.5")


@dataclass(frozen=True, slots=True)
class Cross:
    """The fast average crossed the slow one: a signal to send."""

    side: Side
    price: Decimal
    confidence: Decimal  # 0.5 .. 1: grows with the gap between the averages
    at: datetime


@dataclass
class Crossover:
    """Fast/slow simple moving averages of one symbol; ``feed`` returns a Cross when they cross."""

    fast: int = 5
    slow: int = 20
    sensitivity: Decimal = Decimal(200)  # how quickly confidence rises with the relative gap
    _prices: deque[Decimal] = field(default_factory=deque)
    _above: bool | None = None

    def __post_init__(self) -> None:
        if not 0 < self.fast < self.slow:
            raise ValueError("need 0 < fast < slow")
        self._prices = deque(maxlen=self.slow)

    def feed(self, price: Decimal, at: datetime) -> Cross | None:
        self._prices.append(price)
        if len(self._prices) < self.slow:
            return None
        prices = list(self._prices)
        slow = sum(prices, Decimal(0)) / self.slow
        fast = sum(prices[-self.fast:], Decimal(0)) / self.fast
        if fast == slow:
            return None
        above = fast > slow
        crossed = self._above is not None and above != self._above
        self._above = above
        if not crossed:
            return None
        gap = abs(fast - slow) / slow
        confidence = min(Decimal(1), HALF + gap * self.sensitivity).quantize(Decimal("0.001"))
        return Cross(Side.BUY if above else Side.SELL, price, confidence, at)
