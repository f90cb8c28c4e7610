"""Conformance: the unmodified official clients (python-binance, binance-connector, ccxt) against the
paper Binance over a real socket."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import warnings
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from tests.paper.binance.conftest import new_account, set_price
from tests.paper.conftest import RunningPaper

with warnings.catch_warnings():  # python-binance imports a deprecated websockets name
    warnings.simplefilter("ignore", DeprecationWarning)
    from binance import AsyncClient, BinanceSocketManager, Client
    from binance.exceptions import BinanceAPIException
    from binance.spot import Spot
    from binance.websocket.spot.websocket_stream import SpotWebsocketStreamClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def client(paper: RunningPaper) -> Iterator[Client]:
    """python-binance's sync Client aimed at the paper server (its own event loop, closed afterwards)."""
    account = new_account(paper)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # the Client takes the current loop for its WebSocket helpers
    client = Client(account["api_key"], account["api_secret"], ping=False)
    client.API_URL = paper.url + "/api"
    client.FUTURES_URL = paper.url + "/fapi"
    yield client
    client.close_connection()
    asyncio.set_event_loop(None)
    loop.close()


def test_python_binance_sync_spot_order_cycle(client: Client) -> None:
    """python-binance's sync Client places, queries and cancels a spot order and reads the account."""
    assert client.ping() == {}
    info = client.get_exchange_info()
    assert {s["symbol"] for s in info["symbols"]} == {"BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT"}
    placed = client.create_order(
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.01000",
        price="50000.00",
        newClientOrderId="pb-sync-1",
    )
    assert placed["status"] == "NEW"
    assert placed["fills"] == []
    fetched = client.get_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert fetched["clientOrderId"] == "pb-sync-1"
    assert fetched["origQty"] == "0.01000000"
    by_client_id = client.get_order(symbol="BTCUSDT", origClientOrderId="pb-sync-1")
    assert by_client_id["orderId"] == placed["orderId"]
    cancelled = client.cancel_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert cancelled["status"] == "CANCELED"
    assert cancelled["origClientOrderId"] == "pb-sync-1"
    market = client.create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    assert market["status"] == "FILLED"
    assert len(market["fills"]) >= 1
    balances = {b["asset"]: b for b in client.get_account()["balances"]}
    assert Decimal(balances["BTC"]["free"]) == Decimal("1.01")
    with pytest.raises(BinanceAPIException) as caught:
        client.get_order(symbol="BTCUSDT", orderId=999999)
    assert caught.value.code == -2013


def test_python_binance_sync_futures(client: Client) -> None:
    """python-binance's futures calls open a position, report it, and change leverage."""
    assert client.futures_change_leverage(symbol="BTCUSDT", leverage=10)["leverage"] == 10
    order = client.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010", newOrderRespType="RESULT"
    )
    assert order["status"] == "FILLED"
    assert order["executedQty"] == "0.010"
    fetched = client.futures_get_order(symbol="BTCUSDT", orderId=order["orderId"])
    assert fetched["status"] == "FILLED"
    positions = client.futures_position_information(symbol="BTCUSDT")
    assert Decimal(positions[0]["positionAmt"]) == Decimal("0.01")
    balance = client.futures_account_balance()
    assert balance[0]["asset"] == "USDT"
    assert Decimal(balance[0]["balance"]) < Decimal("100000")
    account = client.futures_account()
    assert Decimal(account["totalPositionInitialMargin"]) > 0
    resting = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.010",
        "price": "50000.0",
        "newClientOrderId": "dup-f",
    }
    assert client.futures_create_order(**resting)["status"] == "NEW"
    with pytest.raises(BinanceAPIException) as caught:
        client.futures_create_order(**resting)
    assert caught.value.code == -4116


async def test_python_binance_async_client_and_user_socket(paper: RunningPaper) -> None:
    """python-binance's AsyncClient trades and its user socket (WebSocket API subscription) gets the
    executionReport of its own order."""
    account = new_account(paper)
    client = AsyncClient(account["api_key"], account["api_secret"], loop=asyncio.get_running_loop())
    client.API_URL = paper.url + "/api"
    client.FUTURES_URL = paper.url + "/fapi"
    client.ws_api._url = paper.url.replace("http://", "ws://") + "/ws-api/v3"
    client.ws_api.TIMEOUT = 1  # its read loop polls this often; closing waits for one poll (default 10 s)
    try:
        assert await client.ping() == {}
        manager = BinanceSocketManager(client)
        async with manager.user_socket() as socket:
            placed = await client.create_order(
                symbol="ETHUSDT",
                side="BUY",
                type="LIMIT",
                timeInForce="GTC",
                quantity="0.1000",
                price="2900.00",
                newClientOrderId="pb-async",
            )
            assert placed["status"] == "NEW"
            seen: list[dict[str, Any]] = []
            while not any(m.get("e") == "executionReport" for m in seen):
                seen.append(await asyncio.wait_for(socket.recv(), 10))
            report = next(m for m in seen if m.get("e") == "executionReport")
            assert report["c"] == "pb-async"
            assert report["x"] == "NEW"
            assert report["X"] == "NEW"
            fetched = await client.get_order(symbol="ETHUSDT", orderId=placed["orderId"])
            assert fetched["status"] == "NEW"
            cancelled = await client.cancel_order(symbol="ETHUSDT", orderId=placed["orderId"])
            assert cancelled["status"] == "CANCELED"
            account_info = await client.get_account()
            assert any(b["asset"] == "ETH" for b in account_info["balances"])
    finally:
        await client.close_connection()
        await client.ws_api.close()


def test_binance_connector_spot_and_stream(paper: RunningPaper) -> None:
    """binance-connector's Spot (everything in the query string) trades, and its listenKey stream
    receives the executionReport of a fill."""
    account = new_account(paper)
    spot = Spot(account["api_key"], account["api_secret"], base_url=paper.url)
    info = spot.exchange_info(symbol="BNBUSDT")
    assert info["symbols"][0]["symbol"] == "BNBUSDT"
    listen_key = spot.new_listen_key()["listenKey"]
    assert len(listen_key) == 64
    messages: queue.Queue[dict[str, Any]] = queue.Queue()
    opened = threading.Event()
    stream = SpotWebsocketStreamClient(
        stream_url=paper.url.replace("http://", "ws://"),
        on_message=lambda _, text: messages.put(json.loads(text)),
        on_open=lambda _: opened.set(),
    )
    try:
        assert opened.wait(10)
        stream.user_data(listen_key)
        reply = messages.get(timeout=10)
        assert reply["result"] is None
        assert isinstance(reply["id"], int)
        placed = spot.new_order(
            symbol="BNBUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="1.000",
            price="590.00",
            newClientOrderId="bc-1",
        )
        assert placed["status"] == "NEW"
        assert spot.get_order("BNBUSDT", orderId=placed["orderId"])["clientOrderId"] == "bc-1"
        set_price(paper, "BNBUSDT", "589.00")
        reports = []
        while not any(r.get("X") == "FILLED" for r in reports):
            message = messages.get(timeout=10)
            if message.get("e") == "executionReport":
                reports.append(message)
        filled = next(r for r in reports if r["X"] == "FILLED")
        assert filled["x"] == "TRADE"
        assert filled["l"] == "1.00000000"
        assert filled["L"] == "590.00000000"
        second = spot.new_order(
            symbol="BNBUSDT", side="SELL", type="LIMIT", timeInForce="GTC", quantity="1.000", price="700.00"
        )
        assert spot.cancel_order("BNBUSDT", orderId=second["orderId"])["status"] == "CANCELED"
        balances = {b["asset"]: b["free"] for b in spot.account()["balances"]}
        assert Decimal(balances["BNB"]) == Decimal("11")
    finally:
        stream.stop()
        stream.socket_manager.ws.shutdown()  # the connector sends a close frame but leaves its socket open
        spot.session.close()


def _ccxt(paper: RunningPaper) -> Any:
    account = new_account(paper)
    exchange = ccxt.binance(
        {
            "apiKey": account["api_key"],
            "secret": account["api_secret"],
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False},
        }
    )
    for name, url in list(exchange.urls["api"].items()):
        if isinstance(url, str):
            path = url.split(".com", 1)[1]
            exchange.urls["api"][name] = paper.url + path
    return exchange


def test_ccxt_spot_order_cycle(paper: RunningPaper) -> None:
    """ccxt.binance loads spot markets, places, fetches and cancels an order, and fetches the balance."""
    exchange = _ccxt(paper)
    try:
        markets = exchange.load_markets()
        assert "BTC/USDT" in markets
        assert markets["BTC/USDT"]["limits"]["cost"]["min"] == 5
        order = exchange.create_order("BTC/USDT", "limit", "buy", 0.01, 50000)
        assert order["status"] == "open"
        assert order["clientOrderId"].startswith("x-")
        fetched = exchange.fetch_order(order["id"], "BTC/USDT")
        assert fetched["status"] == "open"
        assert fetched["amount"] == 0.01
        cancelled = exchange.cancel_order(order["id"], "BTC/USDT")
        assert cancelled["status"] == "canceled"
        market = exchange.create_order("BTC/USDT", "market", "sell", 0.5)
        assert market["status"] == "closed"
        assert market["filled"] == 0.5
        balance = exchange.fetch_balance()
        assert balance["BTC"]["free"] == 0.5
        with pytest.raises(ccxt.InsufficientFunds):
            exchange.create_order("BTC/USDT", "market", "sell", 5)
    finally:
        exchange.session.close()
