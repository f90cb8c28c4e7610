"""The paper Alpaca catalogue: five fractionable US equities, their start prices, and the default cash.

Asset ids are fixed UUIDs (derived from the symbol) so that ``/v2/assets/{id}`` and the order's
``asset_id`` agree across restarts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from boltztrader.paper.model import AssetClass, Instrument

CURRENCY = "USD"
DEFAULT_CASH = Decimal("100000")
QTY_STEP = Decimal("0.000000001")  # Alpaca takes up to 9 decimals of qty
TICK = Decimal("0.01")
_ASSET_NAMESPACE = uuid.UUID("6f1c2d8e-4a57-4c8e-9d0b-3b7a1e5f2c90")


@dataclass(frozen=True, slots=True)
class Asset:
    symbol: str
    name: str
    exchange: str
    start_price: Decimal

    @property
    def asset_id(self) -> str:
        return str(uuid.uuid5(_ASSET_NAMESPACE, self.symbol))


ASSETS: tuple[Asset, ...] = (
    Asset("AAPL", "Apple Inc. Common Stock", "NASDAQ", Decimal("227.50")),
    Asset("MSFT", "Microsoft Corporation Common Stock", "NASDAQ", Decimal("415.30")),
    Asset("NVDA", "NVIDIA Corporation Common Stock", "NASDAQ", Decimal("120.80")),
    Asset("TSLA", "Tesla, Inc. Common Stock", "NASDAQ", Decimal("245.60")),
    Asset("SPY", "SPDR S&P 500 ETF Trust", "ARCA", Decimal("560.25")),
)
BY_SYMBOL: dict[str, Asset] = {a.symbol: a for a in ASSETS}
BY_ID: dict[str, Asset] = {a.asset_id: a for a in ASSETS}


def instruments() -> list[Instrument]:
    return [
        Instrument(symbol=a.symbol, asset_class=AssetClass.EQUITY, base_asset=a.symbol, quote_asset=CURRENCY,
                   tick_size=TICK, step_size=QTY_STEP, min_qty=QTY_STEP, max_qty=Decimal("10000000"),
                   fractionable=True, exchange=a.exchange, name=a.name)
        for a in ASSETS
    ]


def start_prices() -> dict[str, Decimal]:
    return {a.symbol: a.start_price for a in ASSETS}


def lookup(symbol_or_id: str) -> Asset | None:
    """An asset by symbol (case-sensitive, as Alpaca) or by asset id."""
    return BY_SYMBOL.get(symbol_or_id) or BY_ID.get(symbol_or_id)
