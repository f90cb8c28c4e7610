"""Binance spot and USD-M futures adapter (one package, two modes: ``BinanceConfig.market``)."""

from boltztrader.brokers.binance.broker import BinanceBroker
from boltztrader.brokers.binance.config import BinanceConfig

__all__ = ["BinanceBroker", "BinanceConfig"]
