"""Conformance with the unmodified alpaca-py: TradingClient, TradingStream and StockHistoricalDataClient."""

from __future__ import annotations

import asyncio
import threading
import warnings
from decimal import Decimal
from typing import Any

import pytest

with warnings.catch_warnings():  # alpaca-py imports websockets.legacy, deprecated since websockets 14
    warnings.simplefilter("ignore", DeprecationWarning)
    from alpaca.common.exceptions import APIError
    from alpaca.data.historical import StockHistoricalDataClient
    from alpaca.data.requests import StockLatestQuoteRequest, StockLatestTradeRequest
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
    from alpaca.trading.models import TradeUpdate
    from alpaca.trading.requests import GetOrdersRequest, LimitOrderRequest, MarketOrderRequest
    from alpaca.trading.stream import TradingStream

from boltztrader.paper.alpaca.context import BOOK_KEY

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _client(alpaca: Any) -> TradingClient:
    return TradingClient(alpaca.key, alpaca.secret, paper=True, url_override=alpaca.url)


def test_market_and_limit_orders_through_trading_client(alpaca: Any) -> None:
    """submit_order, get_orders, get_order_by_id, get_order_by_client_id and cancel_order_by_id all parse."""
    client = _client(alpaca)
    market = client.submit_order(MarketOrderRequest(symbol="AAPL", qty=2, side=OrderSide.BUY,
                                                    time_in_force=TimeInForce.DAY, client_order_id="sdk-m"))
    assert market.status is OrderStatus.PENDING_NEW
    assert market.client_order_id == "sdk-m"
    limit = client.submit_order(LimitOrderRequest(symbol="MSFT", qty=1, side=OrderSide.BUY,
                                                  time_in_force=TimeInForce.GTC, limit_price=400.5))
    assert limit.limit_price == "400.5"
    assert client.get_order_by_id(market.id).status is OrderStatus.FILLED
    assert client.get_order_by_client_id("sdk-m").id == market.id
    open_orders = client.get_orders()
    assert [o.id for o in open_orders] == [limit.id]
    query = GetOrdersRequest(status=QueryOrderStatus.ALL, nested=True, symbols=["AAPL"])
    everything = client.get_orders(query)
    assert [o.id for o in everything] == [market.id]
    assert client.cancel_order_by_id(limit.id) is None
    assert client.get_order_by_id(limit.id).status is OrderStatus.CANCELED


def test_account_positions_assets_clock(alpaca: Any) -> None:
    """get_account, get_all_positions, get_open_position, get_asset, get_clock and get_calendar parse."""
    client = _client(alpaca)
    client.submit_order(MarketOrderRequest(symbol="TSLA", qty=1.5, side=OrderSide.BUY,
                                           time_in_force=TimeInForce.DAY))
    account = client.get_account()
    assert account.currency == "USD"
    assert Decimal(account.cash) < Decimal(100000)
    positions = client.get_all_positions()
    assert [(p.symbol, p.qty) for p in positions] == [("TSLA", "1.5")]
    # the ask: 2 bps over 245.60, rounded up to the tick
    assert client.get_open_position("TSLA").avg_entry_price == "245.63"
    assert client.get_asset("SPY").fractionable is True
    assert client.get_clock().is_open is True
    assert client.get_calendar()
    closed = client.close_position("TSLA")
    assert closed.side is OrderSide.SELL
    assert client.get_all_positions() == []


def test_replace_and_cancel_all(alpaca: Any) -> None:
    """replace_order_by_id returns the new order; cancel_orders parses the 207 list."""
    from alpaca.trading.requests import ReplaceOrderRequest

    client = _client(alpaca)
    old = client.submit_order(LimitOrderRequest(symbol="NVDA", qty=3, side=OrderSide.BUY,
                                                time_in_force=TimeInForce.DAY, limit_price=100))
    new = client.replace_order_by_id(old.id, ReplaceOrderRequest(qty=5, limit_price=101))
    assert new.replaces == old.id
    assert new.qty == "5"
    assert client.get_order_by_id(old.id).status is OrderStatus.REPLACED
    responses = client.cancel_orders()
    assert [(r.id, r.status) for r in responses] == [(new.id, 200)]


def test_duplicate_client_order_id_raises_422(alpaca: Any) -> None:
    """A reused client_order_id raises APIError with status 422 and code 40010001."""
    client = _client(alpaca)
    request = MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                                 client_order_id="once")
    client.submit_order(request)
    with pytest.raises(APIError) as caught:
        client.submit_order(request)
    assert caught.value.status_code == 422
    assert caught.value.code == 40010001
    assert caught.value.message == "client_order_id must be unique"


def test_insufficient_buying_power_raises_403(alpaca: Any) -> None:
    """An order beyond the cash raises APIError with status 403 and code 40310000."""
    client = _client(alpaca)
    with pytest.raises(APIError) as caught:
        client.submit_order(MarketOrderRequest(symbol="SPY", qty=1000, side=OrderSide.BUY,
                                               time_in_force=TimeInForce.DAY))
    assert caught.value.status_code == 403
    assert caught.value.code == 40310000
    assert caught.value.message == "insufficient buying power"


def test_unknown_order_raises_404(alpaca: Any) -> None:
    """get_order_by_id of an unknown UUID raises APIError 404 with code 40410000."""
    import uuid

    with pytest.raises(APIError) as caught:
        _client(alpaca).get_order_by_id(uuid.uuid4())
    assert caught.value.status_code == 404
    assert caught.value.code == 40410000


def test_trading_stream_receives_trade_updates(alpaca: Any) -> None:
    """TradingStream authenticates, listens and hands the handler TradeUpdate models for our order."""
    stream = TradingStream(alpaca.key, alpaca.secret, paper=True, url_override=alpaca.ws_url)
    updates: list[TradeUpdate] = []
    got_fill = threading.Event()

    async def handler(update: TradeUpdate) -> None:
        updates.append(update)
        if update.event == "fill":
            got_fill.set()

    stream.subscribe_trade_updates(handler)
    thread = threading.Thread(target=stream.run, name="alpaca-trading-stream", daemon=True)
    thread.start()
    try:
        client = _client(alpaca)
        order = None
        for _ in range(100):  # place once the stream is listening (its connection is visible on the venue)
            if alpaca.paper.call(lambda: bool(alpaca.paper.app[BOOK_KEY].sinks.get(_account_id(alpaca)))):
                order = client.submit_order(MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY,
                                                               time_in_force=TimeInForce.DAY))
                break
            threading.Event().wait(0.05)
        assert order is not None, "the stream never started listening"
        assert got_fill.wait(10)
    finally:
        stream.stop()
        if stream._loop is not None and stream._ws is not None:
            asyncio.run_coroutine_threadsafe(stream.close(), stream._loop).result(5)
        thread.join(10)
    assert not thread.is_alive()
    assert [u.event for u in updates] == ["new", "fill"]
    fill = updates[-1]
    assert fill.order.id == order.id
    assert fill.order.status is OrderStatus.FILLED
    assert fill.price == 227.53
    assert fill.qty == 1
    assert fill.position_qty == 1
    assert fill.execution_id is not None
    assert fill.timestamp.tzinfo is not None


def _account_id(alpaca: Any) -> str:
    account = alpaca.paper.venue.by_api_key(alpaca.key)
    assert account is not None
    return str(account.account_id)


def test_stock_historical_data_client_latest_quote_and_trade(alpaca: Any) -> None:
    """StockHistoricalDataClient reads latest quotes (one and many) and trades from the same server."""
    data = StockHistoricalDataClient(alpaca.key, alpaca.secret, url_override=alpaca.url)
    quotes = data.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols=["AAPL", "MSFT"]))
    assert set(quotes) == {"AAPL", "MSFT"}
    assert quotes["AAPL"].ask_price == 227.53
    assert quotes["AAPL"].bid_price == 227.47
    one = data.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols="SPY"))
    assert one["SPY"].ask_price > one["SPY"].bid_price
    trades = data.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols="NVDA"))
    assert trades["NVDA"].price == 120.8
