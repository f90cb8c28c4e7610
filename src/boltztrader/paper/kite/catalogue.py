"""The paper Kite catalogue: five NSE equities, their start prices, tokens, charges and default cash.

Instrument tokens are the real NSE ones (``instrument_token = exchange_token * 256 + 1`` for the
NSE segment). Start prices are recent closes (rounded) and serve as the previous ``close`` in quotes
and the ``last_price`` of the daily instruments dump.

Charges: equity delivery brokerage is 0 at Zerodha, so the only charge modelled is the Securities
Transaction Tax on delivery, 0.1 % of the traded value on both sides, taken from cash on every fill
(the engine's fee rate). Not modelled: intraday brokerage (0.03 % or Rs 20), exchange transaction
charges (~0.003 %), SEBI fees, stamp duty (0.015 % on buys), GST and DP charges; MIS and NRML pay
the same rate as CNC.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from boltztrader.paper.model import AssetClass, Instrument

CURRENCY = "INR"
DEFAULT_CASH = {CURRENCY: Decimal("1000000")}
TICK = Decimal("0.05")
STT_RATE = Decimal("0.001")
NSE_SEGMENT_CODE = 1
EXCHANGES = frozenset({"NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX"})


@dataclass(frozen=True, slots=True)
class Listing:
    symbol: str
    name: str
    exchange_token: int
    isin: str
    start_price: Decimal

    @property
    def instrument_token(self) -> int:
        return self.exchange_token * 256 + NSE_SEGMENT_CODE


LISTINGS = (
    Listing("INFY", "INFOSYS", 1594, "INE009A01021", Decimal("1520.00")),
    Listing("RELIANCE", "RELIANCE INDUSTRIES", 2885, "INE002A01018", Decimal("1410.00")),
    Listing("TCS", "TATA CONSULTANCY SERV LT", 11536, "INE467B01029", Decimal("3050.00")),
    Listing("HDFCBANK", "HDFC BANK", 1333, "INE040A01034", Decimal("990.00")),
    Listing("SBIN", "STATE BANK OF INDIA", 3045, "INE062A01020", Decimal("820.00")),
)


def instruments() -> list[Instrument]:
    return [
        Instrument(
            symbol=listing.symbol, asset_class=AssetClass.EQUITY, base_asset=listing.symbol,
            quote_asset=CURRENCY, tick_size=TICK, step_size=Decimal(1), min_qty=Decimal(1),
            max_qty=Decimal(100000), maker_fee=STT_RATE, taker_fee=STT_RATE, exchange="NSE",
            instrument_token=listing.instrument_token, name=listing.name,
            extra={"isin": listing.isin, "exchange_token": listing.exchange_token, "lot_size": 1},
        )
        for listing in LISTINGS
    ]


def start_prices() -> dict[str, Decimal]:
    return {listing.symbol: listing.start_price for listing in LISTINGS}


BY_SYMBOL = {listing.symbol: listing for listing in LISTINGS}
BY_TOKEN = {listing.instrument_token: listing for listing in LISTINGS}
