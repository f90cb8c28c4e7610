"""The trade_updates WebSocket on the wire: handshake frames, binary JSON, event payloads, disconnects."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

import aiohttp
import pytest

MARKET = {"symbol": "AAPL", "qty": 1, "side": "buy", "type": "market", "time_in_force": "day"}
TS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")


async def _recv(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type is aiohttp.WSMsgType.BINARY, message  # paper sends binary frames of JSON
    data: dict[str, Any] = json.loads(message.data)
    return data


async def _listen(session: aiohttp.ClientSession, alpaca: Any) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(alpaca.ws_url)
    await ws.send_str(json.dumps({"action": "authenticate", "data": {"key_id": alpaca.key,
                                                                    "secret_key": alpaca.secret}}))
    assert await _recv(ws) == {"stream": "authorization",
                               "data": {"status": "authorized", "action": "authenticate"}}
    await ws.send_str(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
    assert await _recv(ws) == {"stream": "listening", "data": {"streams": ["trade_updates"]}}
    return ws


async def _post(session: aiohttp.ClientSession, alpaca: Any, method: str, path: str,
                body: Any = None) -> aiohttp.ClientResponse:
    headers = {"APCA-API-KEY-ID": alpaca.key, "APCA-API-SECRET-KEY": alpaca.secret}
    response = await session.request(method, alpaca.url + path, json=body, headers=headers)
    await response.read()
    return response


async def test_handshake_refuses_bad_keys_and_early_listen(alpaca: Any) -> None:
    """A listen before auth and a wrong secret both get an 'unauthorized' authorization frame."""
    async with aiohttp.ClientSession() as session, session.ws_connect(alpaca.ws_url + "/") as ws:
        await ws.send_str(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
        assert await _recv(ws) == {"stream": "authorization",
                                   "data": {"status": "unauthorized", "action": "listen"}}
        await ws.send_str(json.dumps({"action": "authenticate",
                                      "data": {"key_id": alpaca.key, "secret_key": "x"}}))
        reply = await _recv(ws)
        assert reply["stream"] == "authorization"
        assert reply["data"]["status"] == "unauthorized"


async def test_market_order_streams_new_then_fill(alpaca: Any) -> None:
    """A market buy produces 'new' then 'fill' with execution_id, string price/qty and position_qty."""
    async with aiohttp.ClientSession() as session:
        ws = await _listen(session, alpaca)
        placed = await _post(session, alpaca, "POST", "/v2/orders",
                             MARKET | {"qty": 3})
        assert placed.status == 200
        new, fill = await _recv(ws), await _recv(ws)
        await ws.close()
    assert new["stream"] == "trade_updates"
    assert new["data"]["event"] == "new"
    assert new["data"]["order"]["status"] == "new"
    assert TS_Z.match(new["data"]["timestamp"])
    data = fill["data"]
    assert data["event"] == "fill"
    assert data["order"]["status"] == "filled"
    assert uuid.UUID(data["execution_id"])
    assert data["price"] == "227.53"
    assert data["qty"] == "3"
    assert data["position_qty"] == "3"
    assert data["order"]["filled_qty"] == "3"
    assert data["order"]["filled_avg_price"] == "227.53"
    assert isinstance(data["event_id"], str)


async def test_cancel_streams_pending_cancel_then_canceled_and_replace_streams_replaced(alpaca: Any) -> None:
    """Cancel streams pending_cancel then canceled; replace streams replaced (old) then new (new order)."""
    limit = MARKET | {"symbol": "MSFT", "type": "limit", "limit_price": 400, "time_in_force": "gtc"}
    async with aiohttp.ClientSession() as session:
        ws = await _listen(session, alpaca)
        first = await (await session.post(alpaca.url + "/v2/orders", json=limit, headers={
            "APCA-API-KEY-ID": alpaca.key, "APCA-API-SECRET-KEY": alpaca.secret})).json()
        assert (await _recv(ws))["data"]["event"] == "new"
        patched = await _post(session, alpaca, "PATCH", f"/v2/orders/{first['id']}", {"limit_price": 401})
        assert patched.status == 200
        replaced, renewed = await _recv(ws), await _recv(ws)
        assert replaced["data"]["event"] == "replaced"
        assert replaced["data"]["order"]["id"] == first["id"]
        assert replaced["data"]["order"]["replaced_by"] == renewed["data"]["order"]["id"]
        assert renewed["data"]["event"] == "new"
        assert renewed["data"]["order"]["limit_price"] == "401"
        second_id = renewed["data"]["order"]["id"]
        assert (await _post(session, alpaca, "DELETE", f"/v2/orders/{second_id}")).status == 204
        pending, canceled = await _recv(ws), await _recv(ws)
        await ws.close()
    assert pending["data"]["event"] == "pending_cancel"
    assert pending["data"]["order"]["status"] == "pending_cancel"
    assert canceled["data"]["event"] == "canceled"
    assert canceled["data"]["order"]["status"] == "canceled"
    assert canceled["data"]["order"]["id"] == second_id


async def test_partial_fills_report_each_execution(alpaca_factory: Any) -> None:
    """With fills split in two, a market order streams partial_fill then fill, each with its own qty."""
    from boltztrader.paper.engine import EngineConfig
    from boltztrader.paper.venue import VenueConfig

    alpaca = alpaca_factory(VenueConfig(tick_seconds=0, engine=EngineConfig(fill_parts=2)))
    async with aiohttp.ClientSession() as session:
        ws = await _listen(session, alpaca)
        await _post(session, alpaca, "POST", "/v2/orders",
                    MARKET | {"symbol": "NVDA", "qty": 4})
        events = [(await _recv(ws))["data"] for _ in range(3)]
        await ws.close()
    assert [e["event"] for e in events] == ["new", "partial_fill", "fill"]
    assert [e["qty"] for e in events[1:]] == ["2", "2"]
    assert [e["position_qty"] for e in events[1:]] == ["2", "4"]
    assert events[1]["order"]["status"] == "partially_filled"
    assert events[1]["order"]["filled_qty"] == "2"
    assert events[1]["execution_id"] != events[2]["execution_id"]


async def test_fault_plan_disconnect_closes_the_socket(alpaca: Any) -> None:
    """With disconnect_every=1 the server closes the stream after the first event."""
    plan = {"stream": {"disconnect_every": 1}}
    async with aiohttp.ClientSession() as session:
        async with session.put(alpaca.url + "/_paper/faults", json=plan) as response:
            assert response.status == 200
        ws = await _listen(session, alpaca)
        await _post(session, alpaca, "POST", "/v2/orders",
                    MARKET)
        assert (await _recv(ws))["data"]["event"] == "new"
        closing = await asyncio.wait_for(ws.receive(), 5)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
        assert ws.closed


@pytest.mark.parametrize("frame", ["not json", "[1, 2]"])
async def test_garbage_gets_an_error_frame(alpaca: Any, frame: str) -> None:
    """A frame that is not a JSON object is answered, not fatal: the connection stays usable."""
    async with aiohttp.ClientSession() as session, session.ws_connect(alpaca.ws_url) as ws:
        await ws.send_str(frame)
        assert (await _recv(ws))["data"]["status"] == "unauthorized"
        await ws.send_str(json.dumps({"action": "authenticate",
                                      "data": {"key_id": alpaca.key, "secret_key": alpaca.secret}}))
        assert (await _recv(ws))["data"]["status"] == "authorized"
