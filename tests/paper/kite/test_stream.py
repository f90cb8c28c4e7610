"""Order updates: the ticker WebSocket and postbacks to a real local HTTP receiver, with checksums."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.paper.conftest import free_port
from tests.paper.kite.conftest import KiteUser, admin, sha256

FORM = {"exchange": "NSE", "tradingsymbol": "INFY", "transaction_type": "BUY", "quantity": "1",
        "product": "CNC", "order_type": "LIMIT", "price": "1400"}


async def _http(session: aiohttp.ClientSession, user: KiteUser, method: str, path: str,
                **kwargs: Any) -> Any:
    async with session.request(method, user.url + path, headers=user.headers(), **kwargs) as response:
        body = await response.json()
        assert response.status == 200, body
        return body["data"]


def _ws_url(user: KiteUser, token: str) -> str:
    return user.url.replace("http://", "ws://") + f"?api_key={user.api_key}&access_token={token}"


async def _next_update(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.receive(), timeout=5)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    payload: dict[str, Any] = json.loads(message.data)
    assert payload["type"] == "order"
    data: dict[str, Any] = payload["data"]
    return data


async def test_websocket_sends_order_updates_but_not_the_placement(user: KiteUser) -> None:
    """The ticker socket gets no frame for the placement, then UPDATE on modify and CANCELLED on cancel."""
    ws_url = _ws_url(user, user.access_token)
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url) as ws:
        await ws.send_str(json.dumps({"a": "subscribe", "v": [408065]}))
        order_id = (await _http(session, user, "POST", "/orders/regular", data=FORM))["order_id"]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.receive(), timeout=0.3)
        await _http(session, user, "PUT", f"/orders/regular/{order_id}", data={"price": "1405"})
        update = await _next_update(ws)
        assert update["order_id"] == order_id
        assert update["status"] == "UPDATE"
        assert update["price"] == 1405
        await _http(session, user, "DELETE", f"/orders/regular/{order_id}")
        cancelled = await _next_update(ws)
        assert cancelled["status"] == "CANCELLED"
        assert cancelled["user_id"] == user.user_id
        assert isinstance(cancelled["app_id"], int)
        assert cancelled["checksum"] == sha256(order_id, cancelled["order_timestamp"], user.api_secret)


async def test_websocket_refuses_a_bad_token(user: KiteUser) -> None:
    """A wrong access_token is refused with HTTP 403 before the upgrade."""
    ws_url = _ws_url(user, "wrong")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(ws_url)
    assert refused.value.status == 403


async def test_postbacks_reach_a_real_receiver_with_a_valid_checksum(user: KiteUser) -> None:
    """COMPLETE and REJECTED postbacks arrive as raw JSON with sha256(order_id + order_timestamp + secret)."""
    received: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        await received.put((request.content_type, json.loads(await request.read())))
        return web.Response(text="ok")

    receiver = web.Application()
    receiver.router.add_post("/hook", receive)
    runner = web.AppRunner(receiver)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        admin(user.paper, "PUT", f"/_paper/accounts/{user.api_key}/postback",
              json={"url": f"http://127.0.0.1:{port}/hook"})
        async with aiohttp.ClientSession() as session:
            filled = (await _http(session, user, "POST", "/orders/regular", data={**FORM, "price": "1530"}))
            rejected = (await _http(session, user, "POST", "/orders/regular",
                                    data={**FORM, "price": "1500", "quantity": "5000"}))
        first_type, first = await asyncio.wait_for(received.get(), timeout=5)
        _, second = await asyncio.wait_for(received.get(), timeout=5)
    finally:
        await runner.cleanup()
    assert first_type == "application/json"
    assert first["order_id"] == filled["order_id"]
    assert first["status"] == "COMPLETE"
    assert first["filled_quantity"] == 1
    assert first["unfilled_quantity"] == 0
    assert first["checksum"] == sha256(first["order_id"], first["order_timestamp"], user.api_secret)
    assert second["order_id"] == rejected["order_id"]
    assert second["status"] == "REJECTED"
    assert second["checksum"] == sha256(second["order_id"], second["order_timestamp"], user.api_secret)
    assert {"user_id", "unfilled_quantity", "app_id", "checksum", "placed_by", "order_id", "status",
            "order_timestamp", "tradingsymbol", "average_price", "filled_quantity", "guid"} <= set(first)
