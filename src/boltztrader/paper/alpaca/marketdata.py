"""The Market Data API paths alpaca-py's StockHistoricalDataClient uses, served by the same server.

Unlike the Trading API, the data API sends prices and sizes as JSON numbers, with short keys
(``ap``/``as``/``ax`` ...), quotes under ``quote``/``quotes`` and trades under ``trade``/``trades``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from boltztrader.paper.alpaca import errors
from boltztrader.paper.alpaca.catalogue import BY_SYMBOL
from boltztrader.paper.alpaca.context import account_of, book_of
from boltztrader.paper.alpaca.errors import RENDERER
from boltztrader.paper.alpaca.orders import json_response
from boltztrader.paper.alpaca.wire import ts
from boltztrader.paper.engine import Engine
from boltztrader.paper.http import guarded

_TAPE = {"NASDAQ": "C", "ARCA": "B", "NYSE": "A"}


def _tape(symbol: str) -> str:
    return _TAPE.get(BY_SYMBOL[symbol].exchange, "A")


def quote_json(engine: Engine, symbol: str) -> dict[str, Any]:
    quote = engine.quote(symbol)
    return {"t": ts(quote.time), "ax": "V", "ap": float(quote.ask), "as": float(quote.ask_size or 1),
            "bx": "V", "bp": float(quote.bid), "bs": float(quote.bid_size or 1), "c": ["R"],
            "z": _tape(symbol)}


def trade_json(engine: Engine, symbol: str) -> dict[str, Any]:
    quote = engine.quote(symbol)
    trade_id = int(quote.time.timestamp() * 1_000_000)  # stable for one price: the time it was set
    return {"t": ts(quote.time), "x": "V", "p": float(quote.last), "s": 100, "c": ["@"], "i": trade_id,
            "z": _tape(symbol)}


def _symbols(request: web.Request) -> list[str]:
    raw = request.query.get("symbols", "")
    symbols = [s.strip() for s in raw.split(",") if s.strip()]
    if not symbols:
        raise errors.AlpacaError(400, 40010000, "missing symbols")
    return [s for s in symbols if s in BY_SYMBOL]


def _one(request: web.Request) -> str:
    symbol = request.match_info["symbol"]
    if symbol not in BY_SYMBOL:
        raise errors.AlpacaError(404, errors.NOT_FOUND, f"no data found for {symbol}")
    return symbol


async def latest_quote(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        symbol = _one(request)
        return json_response({"symbol": symbol, "quote": quote_json(book_of(request).engine, symbol)})

    return await guarded(request, "market_data", account.account_id, RENDERER, act)


async def latest_quotes(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        engine = book_of(request).engine
        return json_response({"quotes": {s: quote_json(engine, s) for s in _symbols(request)}})

    return await guarded(request, "market_data", account.account_id, RENDERER, act)


async def latest_trade(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        symbol = _one(request)
        engine = book_of(request).engine
        return json_response({"symbol": symbol, "trade": trade_json(engine, symbol)})

    return await guarded(request, "market_data", account.account_id, RENDERER, act)


async def latest_trades(request: web.Request) -> web.StreamResponse:
    account = account_of(request)

    async def act() -> web.StreamResponse:
        engine = book_of(request).engine
        return json_response({"trades": {s: trade_json(engine, s) for s in _symbols(request)}})

    return await guarded(request, "market_data", account.account_id, RENDERER, act)

