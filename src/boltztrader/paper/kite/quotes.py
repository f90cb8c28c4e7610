"""Market data: the instruments dump (CSV) and the quote / ohlc / ltp calls.

The dump is Kite's CSV with its exact header; numeric columns are never blank (the official client
calls ``float(strike)``), ``last_price`` is the previous close (Kite regenerates the dump once a day).
Quotes are keyed ``EXCHANGE:TRADINGSYMBOL`` (an instrument token works too); unknown keys are simply
absent. The day's ``open`` and ``close`` are the start price; ``high``/``low`` span it and the last price.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from boltztrader.paper.kite.catalogue import BY_SYMBOL, BY_TOKEN, EXCHANGES, LISTINGS, TICK, Listing
from boltztrader.paper.kite.wire import ist, num
from boltztrader.paper.venue import Venue

HEADER = ("instrument_token", "exchange_token", "tradingsymbol", "name", "last_price", "expiry", "strike",
          "tick_size", "lot_size", "instrument_type", "segment", "exchange")
MAX_FULL, MAX_LTP = 500, 1000


def instruments_csv(exchange: str | None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    if exchange in (None, "NSE"):
        for listing in LISTINGS:
            writer.writerow((listing.instrument_token, listing.exchange_token, listing.symbol, listing.name,
                             float(listing.start_price), "", 0.0, float(TICK), 1, "EQ", "NSE", "NSE"))
    return out.getvalue()


def known_exchange(exchange: str) -> bool:
    return exchange in EXCHANGES


def _resolve(keys: Iterable[str]) -> list[tuple[str, Listing]]:
    found = []
    for key in keys:
        exchange, _, symbol = key.partition(":")
        if symbol:
            listing = BY_SYMBOL.get(symbol) if exchange == "NSE" else None
        else:
            listing = BY_TOKEN.get(int(key)) if key.isdigit() else None
        if listing is not None:
            found.append((key, listing))
    return found


def _ohlc(listing: Listing, last: Decimal) -> dict[str, Any]:
    start = listing.start_price
    return {"open": num(start), "high": num(max(start, last)), "low": num(min(start, last)),
            "close": num(start)}


def _level(price: Decimal, i: int) -> dict[str, Any]:
    return {"price": num(price), "quantity": 100 * (i + 1), "orders": i + 1}


def ltp(venue: Venue, keys: Iterable[str]) -> dict[str, Any]:
    prices = venue.market.prices
    return {key: {"instrument_token": listing.instrument_token, "last_price": num(prices[listing.symbol])}
            for key, listing in _resolve(keys)}


def ohlc(venue: Venue, keys: Iterable[str]) -> dict[str, Any]:
    prices = venue.market.prices
    return {key: {"instrument_token": listing.instrument_token, "last_price": num(prices[listing.symbol]),
                  "ohlc": _ohlc(listing, prices[listing.symbol])}
            for key, listing in _resolve(keys)}


def full(venue: Venue, keys: Iterable[str]) -> dict[str, Any]:
    now = ist(venue.now())
    out: dict[str, Any] = {}
    for key, listing in _resolve(keys):
        quote = venue.engine.quote(listing.symbol)
        last = venue.market.prices[listing.symbol]
        start = listing.start_price
        buy = [_level(quote.bid - TICK * i, i) for i in range(5)]
        sell = [_level(quote.ask + TICK * i, i) for i in range(5)]
        out[key] = {
            "instrument_token": listing.instrument_token, "timestamp": now, "last_trade_time": now,
            "last_price": num(last), "last_quantity": 1, "buy_quantity": 1500, "sell_quantity": 1500,
            "volume": 0, "average_price": num(last), "oi": 0, "oi_day_high": 0, "oi_day_low": 0,
            "net_change": num(last - start),
            "lower_circuit_limit": num((start * Decimal("0.8") / TICK).to_integral_value() * TICK),
            "upper_circuit_limit": num((start * Decimal("1.2") / TICK).to_integral_value() * TICK),
            "ohlc": _ohlc(listing, last), "depth": {"buy": buy, "sell": sell},
        }
    return out
