"""What the paper Binance lists: spot pairs and USD-M perpetuals, their filters, start prices, default cash.

Spot and perpetuals share wire symbols (``BTCUSDT``) but are separate engine instruments: a perpetual's
engine symbol carries the ``PERP_SUFFIX`` (``BTCUSDT.PERP``) and its price follows the spot price.

Fees (chosen, documented): spot 0.1% maker and taker (Binance's base tier without BNB discount),
USD-M 0.02% maker / 0.05% taker. The engine charges fees in the quote asset (USDT).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from boltztrader.paper.model import AssetClass, Instrument

D = Decimal
PERP_SUFFIX = ".PERP"

SPOT_MAKER_FEE = D("0.001")
SPOT_TAKER_FEE = D("0.001")
FUTURES_MAKER_FEE = D("0.0002")
FUTURES_TAKER_FEE = D("0.0005")
DEFAULT_LEVERAGE = 20  # Binance's default for a new USD-M symbol


@dataclass(frozen=True, slots=True)
class SpotSpec:
    symbol: str
    base: str
    quote: str
    tick: Decimal
    step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    max_notional: Decimal
    base_precision: int
    start: Decimal


@dataclass(frozen=True, slots=True)
class PerpSpec:
    symbol: str
    base: str
    quote: str
    tick: Decimal
    step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    price_precision: int
    quantity_precision: int
    max_leverage: int
    min_price: Decimal
    max_price: Decimal


SPOT = {
    s.symbol: s
    for s in (
        SpotSpec(
            "BTCUSDT",
            "BTC",
            "USDT",
            D("0.01"),
            D("0.00001"),
            D("0.00001"),
            D("9000"),
            D("112.5"),
            D("5"),
            D("9000000"),
            8,
            D("60000"),
        ),
        SpotSpec(
            "ETHUSDT",
            "ETH",
            "USDT",
            D("0.01"),
            D("0.0001"),
            D("0.0001"),
            D("9000"),
            D("2500"),
            D("5"),
            D("9000000"),
            8,
            D("3000"),
        ),
        SpotSpec(
            "BNBUSDT",
            "BNB",
            "USDT",
            D("0.01"),
            D("0.001"),
            D("0.001"),
            D("9000"),
            D("9000"),
            D("5"),
            D("9000000"),
            8,
            D("600"),
        ),
        SpotSpec(
            "SOLUSDT",
            "SOL",
            "USDT",
            D("0.01"),
            D("0.001"),
            D("0.001"),
            D("9000"),
            D("20000"),
            D("5"),
            D("9000000"),
            8,
            D("150"),
        ),
    )
}

PERPS = {
    p.symbol: p
    for p in (
        PerpSpec(
            "BTCUSDT",
            "BTC",
            "USDT",
            D("0.10"),
            D("0.001"),
            D("0.001"),
            D("1000"),
            D("120"),
            D("100"),
            2,
            3,
            125,
            D("556.80"),
            D("4529764"),
        ),
        PerpSpec(
            "ETHUSDT",
            "ETH",
            "USDT",
            D("0.01"),
            D("0.001"),
            D("0.001"),
            D("10000"),
            D("2000"),
            D("20"),
            2,
            3,
            100,
            D("39.86"),
            D("306177"),
        ),
    )
}

DEFAULT_SPOT_CASH = {"USDT": D("100000"), "BTC": D("1"), "ETH": D("10"), "BNB": D("10"), "SOL": D("100")}
DEFAULT_FUTURES_CASH = {"USDT": D("100000")}
FUTURES_CASH_PREFIX = "F:"  # admin cash keys such as "F:USDT" fund the futures wallet


def perp_engine_symbol(symbol: str) -> str:
    return symbol + PERP_SUFFIX


def futures_account(account_id: str) -> str:
    """The engine account that holds a paper account's USD-M wallet and positions."""
    return account_id + ":F"


def instruments() -> list[Instrument]:
    spot = [
        Instrument(
            symbol=s.symbol,
            asset_class=AssetClass.SPOT,
            base_asset=s.base,
            quote_asset=s.quote,
            tick_size=s.tick,
            step_size=s.step,
            min_qty=s.min_qty,
            max_qty=s.max_qty,
            min_notional=s.min_notional,
            min_price=s.tick,
            max_price=D("1000000"),
            maker_fee=SPOT_MAKER_FEE,
            taker_fee=SPOT_TAKER_FEE,
            exchange="BINANCE",
            name=s.symbol,
        )
        for s in SPOT.values()
    ]
    perps = [
        Instrument(
            symbol=perp_engine_symbol(p.symbol),
            asset_class=AssetClass.FUTURES,
            base_asset=p.base,
            quote_asset=p.quote,
            tick_size=p.tick,
            step_size=p.step,
            min_qty=p.min_qty,
            max_qty=p.max_qty,
            min_notional=p.min_notional,
            min_price=p.min_price,
            max_price=p.max_price,
            maker_fee=FUTURES_MAKER_FEE,
            taker_fee=FUTURES_TAKER_FEE,
            max_leverage=p.max_leverage,
            exchange="BINANCE_FUTURES",
            name=p.symbol,
        )
        for p in PERPS.values()
    ]
    return spot + perps


def start_prices() -> dict[str, Decimal]:
    prices = {s.symbol: s.start for s in SPOT.values()}
    for p in PERPS.values():
        prices[perp_engine_symbol(p.symbol)] = SPOT[p.symbol].start
    return prices
