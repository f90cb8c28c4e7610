"""Instruments the unit tests share (not tests themselves)."""

from __future__ import annotations

from decimal import Decimal

from boltztrader.domain.enums import Broker, Market
from boltztrader.domain.instruments import Instrument

BTC = Instrument(
    broker=Broker.BINANCE,
    market=Market.CRYPTO,
    symbol="BTCUSDT",
    currency="USDT",
    tick_size=Decimal("0.01"),
    step_size=Decimal("0.00001"),
    min_qty=Decimal("0.00001"),
    max_qty=Decimal("9000"),
    min_notional=Decimal("5"),
)
