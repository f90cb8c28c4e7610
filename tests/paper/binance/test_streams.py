"""Wire fidelity of user-data streams: WebSocket API subscriptions, legacy spot and futures listenKey
streams, event fields, and DISCONNECT from the fault plan."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

import aiohttp
import requests

from tests.paper.binance.conftest import Raw, now_ms, set_price
from tests.paper.conftest import RunningPaper


def _ws(raw: Raw, path: str) -> str:
    return raw.url.replace("http://", "ws://") + path


def _key_call(raw: Raw, method: str, path: str) -> dict[str, Any]:
    """A listenKey REST call (API-key header only, no signature)."""
    body: dict[str, Any] = requests.request(
        method, raw.url + path, headers={"X-MBX-APIKEY": raw.key}, timeout=10
    ).json()
    return body


async def _key(raw: Raw, method: str, path: str) -> dict[str, Any]:
    return await asyncio.to_thread(_key_call, raw, method, path)


async def _next(ws: aiohttp.ClientWebSocketResponse, event: str) -> dict[str, Any]:
    """The next frame whose event type (wrapped or not) is ``event``."""
    while True:
        message = await asyncio.wait_for(ws.receive(), 5)
        assert message.type is aiohttp.WSMsgType.TEXT, message
        frame: dict[str, Any] = json.loads(message.data)
        inner = frame.get("event", frame.get("data", frame))
        if inner.get("e") == event:
            return frame


def _subscribe_frame(raw: Raw, secret: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"apiKey": raw.key, "timestamp": now_ms()}
    payload = urlencode(sorted(params.items()))
    params["signature"] = hmac.new(
        (secret or raw.secret).encode(), payload.encode(), hashlib.sha256
    ).hexdigest()
    return {"id": "sub-1", "method": "userDataStream.subscribe.signature", "params": params}


async def test_ws_api_subscription_wraps_events(raw: Raw) -> None:
    """userDataStream.subscribe.signature answers a subscriptionId; events arrive wrapped with it, and a
    cancel's executionReport carries the cancel's id in c and the original in C."""
    async with aiohttp.ClientSession() as session, session.ws_connect(_ws(raw, "/ws-api/v3")) as ws:
        await ws.send_json(_subscribe_frame(raw))
        reply = await ws.receive_json(timeout=5)
        assert reply["id"] == "sub-1"
        assert reply["status"] == 200
        assert reply["result"] == {"subscriptionId": 0}
        await asyncio.to_thread(
            raw.call,
            "POST",
            "/api/v3/order",
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.01",
            price="50000",
            newClientOrderId="ws-1",
        )
        new = await _next(ws, "executionReport")
        assert new["subscriptionId"] == 0
        report = new["event"]
        assert (report["x"], report["X"], report["c"], report["C"]) == ("NEW", "NEW", "ws-1", "")
        assert report["q"] == "0.01000000"
        assert report["N"] is None
        assert report["t"] == -1
        assert report["w"] is True
        position = await _next(ws, "outboundAccountPosition")
        assert {row["a"] for row in position["event"]["B"]} == {"BTC", "USDT"}
        await asyncio.to_thread(
            raw.call,
            "DELETE",
            "/api/v3/order",
            symbol="BTCUSDT",
            origClientOrderId="ws-1",
            newClientOrderId="ws-cancel",
        )
        cancel = (await _next(ws, "executionReport"))["event"]
        assert (cancel["x"], cancel["X"], cancel["c"], cancel["C"]) == (
            "CANCELED",
            "CANCELED",
            "ws-cancel",
            "ws-1",
        )
        await ws.send_json({"id": 2, "method": "session.subscriptions"})
        reply = await ws.receive_json(timeout=5)
        while reply.get("id") != 2:  # account events may come first
            reply = await ws.receive_json(timeout=5)
        assert reply["result"] == [{"subscriptionId": 0}]


async def test_ws_api_bad_signature(raw: Raw) -> None:
    """A subscription signed with the wrong secret gets status 400 and -1022."""
    async with aiohttp.ClientSession() as session, session.ws_connect(_ws(raw, "/ws-api/v3")) as ws:
        await ws.send_json(_subscribe_frame(raw, secret="not-the-secret"))
        reply = await ws.receive_json(timeout=5)
        assert reply["status"] == 400
        assert reply["error"] == {"code": -1022, "msg": "Signature for this request is not valid."}


async def test_spot_listen_key_stream_trade_fields(raw: Raw, paper: RunningPaper) -> None:
    """A legacy spot listenKey stream gets unwrapped TRADE reports with l, z, L, n, N, t, T, Z, Y set."""
    listen_key = (await _key(raw, "POST", "/api/v3/userDataStream"))["listenKey"]
    assert len(listen_key) == 64
    assert (await _key(raw, "POST", "/api/v3/userDataStream"))["listenKey"] == listen_key
    async with aiohttp.ClientSession() as session, session.ws_connect(_ws(raw, f"/ws/{listen_key}")) as ws:
        await asyncio.to_thread(
            raw.call,
            "POST",
            "/api/v3/order",
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.01",
            price="59000",
        )
        await _next(ws, "executionReport")
        await asyncio.to_thread(set_price, paper, "BTCUSDT", "58900")
        trade = await _next(ws, "executionReport")
        assert (trade["x"], trade["X"]) == ("TRADE", "FILLED")
        assert trade["l"] == trade["z"] == "0.01000000"
        assert trade["L"] == "59000.00000000"
        assert trade["n"] == "0.59000000"
        assert trade["N"] == "USDT"
        assert trade["t"] > 0
        assert trade["m"] is True
        assert trade["Z"] == trade["Y"] == "590.00000000"
    assert await _key(raw, "PUT", f"/api/v3/userDataStream?listenKey={listen_key}") == {}
    assert await _key(raw, "DELETE", f"/api/v3/userDataStream?listenKey={listen_key}") == {}
    gone = await _key(raw, "PUT", f"/api/v3/userDataStream?listenKey={listen_key}")
    assert gone == {"code": -1125, "msg": "This listenKey does not exist."}


async def test_futures_listen_key_stream(raw: Raw) -> None:
    """A /fapi/v1/listenKey stream gets ORDER_TRADE_UPDATE and ACCOUNT_UPDATE for a futures fill."""
    listen_key = (await _key(raw, "POST", "/fapi/v1/listenKey"))["listenKey"]
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(_ws(raw, f"/private/ws?listenKey={listen_key}")) as ws,
    ):
        await asyncio.to_thread(
            raw.call,
            "POST",
            "/fapi/v1/order",
            symbol="ETHUSDT",
            side="SELL",
            type="MARKET",
            quantity="0.100",
            newClientOrderId="f-1",
        )
        update = await _next(ws, "ORDER_TRADE_UPDATE")
        assert update["o"]["c"] == "f-1"
        assert update["o"]["x"] == "NEW"
        trade = (await _next(ws, "ORDER_TRADE_UPDATE"))["o"]
        assert (trade["x"], trade["X"], trade["l"], trade["ps"]) == ("TRADE", "FILLED", "0.100", "BOTH")
        account = (await _next(ws, "ACCOUNT_UPDATE"))["a"]
        assert account["m"] == "ORDER"
        assert account["P"][0]["pa"] == "-0.100"
        assert account["B"][0]["a"] == "USDT"


async def test_connector_subscribe_frame_on_combined_stream(raw: Raw) -> None:
    """A SUBSCRIBE frame naming a listenKey on /stream gets {"result": null} and combined-wrapped events."""
    listen_key = (await _key(raw, "POST", "/api/v3/userDataStream"))["listenKey"]
    async with aiohttp.ClientSession() as session, session.ws_connect(_ws(raw, "/stream")) as ws:
        await ws.send_json({"method": "SUBSCRIBE", "params": [listen_key], "id": 5})
        assert await ws.receive_json(timeout=5) == {"result": None, "id": 5}
        await asyncio.to_thread(
            raw.call, "POST", "/api/v3/order", symbol="SOLUSDT", side="BUY", type="MARKET", quantity="1.000"
        )
        frame = await _next(ws, "executionReport")
        assert frame["stream"] == listen_key
        assert frame["data"]["s"] == "SOLUSDT"


async def test_unknown_listen_key_refused(raw: Raw) -> None:
    """Connecting with an unknown listenKey is refused with -1125 instead of a silent stream."""
    async with aiohttp.ClientSession() as session:
        response = await session.get(raw.url + "/ws/nope")
        assert response.status == 400
        assert await response.json() == {"code": -1125, "msg": "This listenKey does not exist."}


async def test_fault_disconnect_closes_the_socket(raw: Raw) -> None:
    """With stream.disconnect_every=1 the venue's DISCONNECT closes the client's socket after one event."""
    plan = {"stream": {"disconnect_every": 1}}
    assert (await asyncio.to_thread(requests.put, raw.url + "/_paper/faults", json=plan, timeout=10)).ok
    async with aiohttp.ClientSession() as session, session.ws_connect(_ws(raw, "/ws-api/v3")) as ws:
        await ws.send_json(_subscribe_frame(raw))
        assert (await ws.receive_json(timeout=5))["status"] == 200
        await asyncio.to_thread(
            raw.call,
            "POST",
            "/api/v3/order",
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.01",
            price="50000",
        )
        await _next(ws, "executionReport")
        while True:
            message = await asyncio.wait_for(ws.receive(), 5)
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                break
        assert ws.closed
