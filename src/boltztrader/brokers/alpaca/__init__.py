"""Alpaca Trading API v2 adapter (US equities): REST over aiohttp plus the trade_updates stream."""

from boltztrader.brokers.alpaca.broker import AlpacaBroker
from boltztrader.brokers.alpaca.config import AlpacaConfig

__all__ = ["AlpacaBroker", "AlpacaConfig"]
