"""Public (NONE) endpoints, spot and futures: ping, time, exchangeInfo, tickers, depth."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from aiohttp import web

from boltztrader.paper.binance import errors, fwire
from boltztrader.paper.binance.catalogue import PERPS, SPOT, PerpSpec, SpotSpec, perp_engine_symbol
from boltztrader.paper.binance.errors import BinanceError, json_response
from boltztrader.paper.binance.signing import epoch_ms
from boltztrader.paper.binance.spot_orders import KINDS, MAX_PRICE
from boltztrader.paper.binance.state import BinanceVenue, venue_of
from boltztrader.paper.binance.wire import fmt8


async def ping(request: web.Request) -> web.StreamResponse:
    return json_response({})


async def server_time(request: web.Request) -> web.StreamResponse:
    return json_response({"serverTime": epoch_ms(venue_of(request))})


def _spot_symbol(spec: SpotSpec) -> dict[str, Any]:
    return {
        "symbol": spec.symbol,
        "status": "TRADING",
        "baseAsset": spec.base,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": sorted(KINDS),
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "opoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "amendAllowed": True,
        "pegInstructionsAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt8(spec.tick),
                "maxPrice": fmt8(MAX_PRICE),
                "tickSize": fmt8(spec.tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt8(spec.min_qty),
                "maxQty": fmt8(spec.max_qty),
                "stepSize": fmt8(spec.step),
            },
            {"filterType": "ICEBERG_PARTS", "limit": 100},
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": fmt8(None),
                "maxQty": fmt8(spec.market_max_qty),
                "stepSize": fmt8(None),
            },
            {
                "filterType": "TRAILING_DELTA",
                "minTrailingAboveDelta": 10,
                "maxTrailingAboveDelta": 2000,
                "minTrailingBelowDelta": 10,
                "maxTrailingBelowDelta": 2000,
            },
            {
                "filterType": "PERCENT_PRICE_BY_SIDE",
                "bidMultiplierUp": "5",
                "bidMultiplierDown": "0.2",
                "askMultiplierUp": "5",
                "askMultiplierDown": "0.2",
                "avgPriceMins": 5,
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": fmt8(spec.min_notional),
                "applyMinToMarket": True,
                "maxNotional": fmt8(spec.max_notional),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT"],
    }


def _symbols_param(request: web.Request) -> list[str] | None:
    if "symbol" in request.query:
        return [request.query["symbol"]]
    raw = request.query.get("symbols")
    if raw is None:
        return None
    try:
        names = json.loads(raw)
    except ValueError:
        raise errors.illegal_chars(
            "symbols", '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$'
        ) from None
    if not isinstance(names, list):
        raise errors.invalid_value("symbols")
    return [str(n) for n in names]


def _pick(request: web.Request, table: dict[str, Any]) -> list[str]:
    wanted = _symbols_param(request)
    if wanted is None:
        return list(table)
    for name in wanted:
        if name not in table:
            raise errors.bad_symbol()
    return wanted


async def exchange_info(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    limits = venue.binance.spot_limits
    return json_response(
        {
            "timezone": "UTC",
            "serverTime": epoch_ms(venue),
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": limits.weight_limit,
                },
                {
                    "rateLimitType": "ORDERS",
                    "interval": "SECOND",
                    "intervalNum": 10,
                    "limit": limits.orders_10s,
                },
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": limits.orders_1d},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 300000},
            ],
            "exchangeFilters": [],
            "symbols": [_spot_symbol(SPOT[s]) for s in _pick(request, SPOT)],
        }
    )


def _spot_quote(venue: BinanceVenue, symbol: str) -> tuple[Decimal, Decimal, Decimal]:
    quote = venue.engine.quote(symbol)
    return quote.bid, quote.ask, quote.last


async def ticker_price(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    futures = request.path.startswith("/fapi")
    table: dict[str, Any] = PERPS if futures else SPOT
    rows = []
    for symbol in _pick(request, table):
        last = venue.engine.quote(perp_engine_symbol(symbol) if futures else symbol).last
        row: dict[str, Any] = {
            "symbol": symbol,
            "price": fwire.price_text(PERPS[symbol], last) if futures else fmt8(last),
        }
        if futures:
            row["time"] = epoch_ms(venue)
        rows.append(row)
    single = "symbol" in request.query
    return json_response(rows[0] if single else rows)


async def book_ticker(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    futures = request.path.startswith("/fapi")
    table: dict[str, Any] = PERPS if futures else SPOT
    rows = []
    for symbol in _pick(request, table):
        quote = venue.engine.quote(perp_engine_symbol(symbol) if futures else symbol)
        size = "1.00000000"
        row: dict[str, Any] = {
            "symbol": symbol,
            "bidPrice": fmt8(quote.bid),
            "bidQty": size,
            "askPrice": fmt8(quote.ask),
            "askQty": size,
        }
        if futures:
            row["time"] = epoch_ms(venue)
        rows.append(row)
    return json_response(rows[0] if "symbol" in request.query else rows)


async def depth(request: web.Request) -> web.StreamResponse:
    """A synthetic book: the quote and four more levels a tick apart on each side."""
    venue = venue_of(request)
    futures = request.path.startswith("/fapi")
    symbol = request.query.get("symbol")
    if not symbol:
        raise errors.mandatory("symbol")
    spec: SpotSpec | PerpSpec | None = PERPS.get(symbol) if futures else SPOT.get(symbol)
    if spec is None:
        raise errors.bad_symbol()
    quote = venue.engine.quote(perp_engine_symbol(symbol) if futures else symbol)
    levels = min(int(request.query.get("limit", "5") or 5), 5)
    bids = [[fmt8(quote.bid - i * spec.tick), "1.00000000"] for i in range(levels)]
    asks = [[fmt8(quote.ask + i * spec.tick), "1.00000000"] for i in range(levels)]
    body: dict[str, Any] = {
        "lastUpdateId": venue.engine.quote(quote.symbol).time.microsecond + 1,
        "bids": bids,
        "asks": asks,
    }
    if futures:
        body.update({"E": epoch_ms(venue), "T": epoch_ms(venue)})
    return json_response(body)


def _perp_symbol(venue: BinanceVenue, spec: PerpSpec) -> dict[str, Any]:
    return {
        "symbol": spec.symbol,
        "pair": spec.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": spec.base,
        "quoteAsset": spec.quote,
        "marginAsset": spec.quote,
        "pricePrecision": spec.price_precision,
        "quantityPrecision": spec.quantity_precision,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": ["PoW"],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fwire.price_text(spec, spec.min_price),
                "maxPrice": fwire.price_text(spec, spec.max_price),
                "tickSize": str(spec.tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": str(spec.min_qty),
                "maxQty": str(spec.max_qty),
                "stepSize": str(spec.step),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": str(spec.min_qty),
                "maxQty": str(spec.market_max_qty),
                "stepSize": str(spec.step),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": str(spec.min_notional)},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": [
            "LIMIT",
            "MARKET",
            "STOP",
            "STOP_MARKET",
            "TAKE_PROFIT",
            "TAKE_PROFIT_MARKET",
            "TRAILING_STOP_MARKET",
        ],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }


async def futures_exchange_info(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    limits = venue.binance.futures_limits
    return json_response(
        {
            "timezone": "UTC",
            "serverTime": epoch_ms(venue),
            "futuresType": "U_MARGINED",
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": limits.weight_limit,
                },
                {
                    "rateLimitType": "ORDERS",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": limits.orders_1d,
                },
                {
                    "rateLimitType": "ORDERS",
                    "interval": "SECOND",
                    "intervalNum": 10,
                    "limit": limits.orders_10s,
                },
            ],
            "exchangeFilters": [],
            "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
            "symbols": [_perp_symbol(venue, PERPS[s]) for s in _pick(request, PERPS)],
        }
    )


async def premium_index(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    rows = []
    for symbol in _pick(request, PERPS):
        last = venue.engine.quote(perp_engine_symbol(symbol)).last
        mark = fmt8(last)
        rows.append(
            {
                "symbol": symbol,
                "markPrice": mark,
                "indexPrice": mark,
                "estimatedSettlePrice": mark,
                "lastFundingRate": "0.00010000",
                "interestRate": "0.00010000",
                "nextFundingTime": (epoch_ms(venue) // 28_800_000 + 1) * 28_800_000,
                "time": epoch_ms(venue),
            }
        )
    return json_response(rows[0] if "symbol" in request.query else rows)


async def not_found(request: web.Request) -> web.StreamResponse:
    raise BinanceError(-1000, "An unknown error occurred while processing the request.", status=404)
