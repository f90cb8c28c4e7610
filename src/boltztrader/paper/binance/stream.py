"""User-data streams over WebSocket.

- WebSocket API ``/ws-api/v3``: ``userDataStream.subscribe.signature`` (any key type; the signature
  covers the params sorted by name), ``userDataStream.unsubscribe``, ``session.subscriptions``,
  ``ping``, ``time``. Events arrive wrapped as ``{"subscriptionId": N, "event": {...}}``.
  ``session.logon`` / ``userDataStream.subscribe`` need an Ed25519 key, which paper accounts do not
  have: they are refused.
- Legacy listenKey streams: ``/ws/<listenKey>``, ``/ws?listenKey=``, ``/private/ws?listenKey=`` and
  ``/stream?streams=<key>`` (combined: ``{"stream": key, "data": event}``), plus ``SUBSCRIBE`` frames
  naming listenKeys on ``/ws`` and ``/stream`` (binance-connector). Spot keys carry spot events,
  ``/fapi/v1/listenKey`` keys futures events. Events arrive unwrapped.

When the fault plan drops a stream (DISCONNECT in the queue) the socket is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from boltztrader.paper.binance import errors, signing
from boltztrader.paper.binance.errors import BinanceError
from boltztrader.paper.binance.events import render
from boltztrader.paper.binance.state import BinanceVenue, venue_of
from boltztrader.paper.venue import Disconnect, Subscription

Wrap = Callable[[dict[str, Any]], dict[str, Any]]


class _Session:
    """One WebSocket connection and the subscriptions it carries."""

    def __init__(self, venue: BinanceVenue, ws: web.WebSocketResponse) -> None:
        self.venue = venue
        self.ws = ws
        self.pumps: dict[int, tuple[Subscription, asyncio.Task[None]]] = {}
        self.next_id = 0

    def subscribe(self, account_id: str, wrap_for: Callable[[int], Wrap]) -> int:
        sub_id = self.next_id
        self.next_id += 1
        subscription = self.venue.subscribe(account_id)
        self.pumps[sub_id] = (subscription, asyncio.create_task(self._pump(subscription, wrap_for(sub_id))))
        return sub_id

    def unsubscribe(self, sub_id: int) -> bool:
        entry = self.pumps.pop(sub_id, None)
        if entry is None:
            return False
        self.venue.unsubscribe(entry[0])
        entry[1].cancel()
        return True

    async def close(self) -> None:
        for sub_id in list(self.pumps):
            self.unsubscribe(sub_id)

    async def _pump(self, subscription: Subscription, wrap: Wrap) -> None:
        while True:
            item = await subscription.queue.get()
            if isinstance(item, Disconnect):
                await self.ws.close()
                return
            for payload in render(self.venue, item):
                if self.ws.closed:
                    return
                await self.ws.send_str(json.dumps(wrap(payload), separators=(",", ":")))

    async def send(self, body: dict[str, Any]) -> None:
        if not self.ws.closed:
            await self.ws.send_str(json.dumps(body, separators=(",", ":")))


async def _run(
    request: web.Request,
    on_text: Callable[[_Session, str], Any],
    setup: Callable[[_Session], None] | None = None,
) -> web.WebSocketResponse:
    venue = venue_of(request)
    ws = web.WebSocketResponse(heartbeat=20)
    await ws.prepare(request)
    session = _Session(venue, ws)
    try:
        if setup is not None:
            setup(session)
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                await on_text(session, message.data)
            elif message.type is WSMsgType.ERROR:
                break
    finally:
        await session.close()
    return ws


# -- WebSocket API -------------------------------------------------------------------------------------------
def _rate_limits(venue: BinanceVenue) -> list[dict[str, Any]]:
    return [
        {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": "MINUTE",
            "intervalNum": 1,
            "limit": venue.binance.spot_limits.weight_limit,
            "count": 2,
        }
    ]


async def ws_api(request: web.Request) -> web.StreamResponse:
    async def on_text(session: _Session, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            await session.send(
                {
                    "id": None,
                    "status": 400,
                    "error": {"code": -1100, "msg": "Illegal characters found in a parameter."},
                }
            )
            return
        if not isinstance(frame, dict):
            return
        request_id = frame.get("id")
        try:
            result = _ws_method(session, str(frame.get("method", "")), frame.get("params") or {})
        except BinanceError as exc:
            await session.send(
                {
                    "id": request_id,
                    "status": exc.status,
                    "error": exc.body(),
                    "rateLimits": _rate_limits(session.venue),
                }
            )
            return
        await session.send(
            {"id": request_id, "status": 200, "result": result, "rateLimits": _rate_limits(session.venue)}
        )

    return await _run(request, on_text)


def _wrapped(sub_id: int) -> Wrap:
    return lambda event: {"subscriptionId": sub_id, "event": event}


def _ws_method(session: _Session, method: str, params: dict[str, Any]) -> Any:
    venue = session.venue
    if method == "ping":
        return {}
    if method == "time":
        return {"serverTime": signing.epoch_ms(venue)}
    if method == "userDataStream.subscribe.signature":
        account = signing.api_account(venue, {"X-MBX-APIKEY": str(params.get("apiKey", ""))})
        signature = params.get("signature")
        if not signature:
            raise errors.mandatory("signature")
        if "timestamp" not in params:
            raise errors.mandatory("timestamp")
        if not signing.ws_signature_ok(account.api_secret, params, str(signature)):
            raise BinanceError(-1022, errors.BAD_SIGNATURE)
        signing.check_timestamp(venue, {k: str(v) for k, v in params.items()})
        sub_id = session.subscribe(account.account_id, _wrapped)
        return {"subscriptionId": sub_id}
    if method == "userDataStream.unsubscribe":
        wanted = params.get("subscriptionId")
        ids = list(session.pumps) if wanted is None else [int(wanted)]
        for sub_id in ids:
            if not session.unsubscribe(sub_id):
                raise BinanceError(-2036, "User Data Stream subscription not active.")
        return {}
    if method == "session.subscriptions":
        return [{"subscriptionId": sub_id} for sub_id in session.pumps]
    if method in ("session.logon", "userDataStream.subscribe"):
        raise BinanceError(-4056, "HMAC_SHA256 API key is not supported.")
    raise BinanceError(-1020, "This operation is not supported.")


# -- listenKey streams -------------------------------------------------------------------------------
def _keys(request: web.Request) -> list[str]:
    if "listenKey" in request.match_info:
        return [request.match_info["listenKey"]]
    if request.query.get("listenKey"):
        return [request.query["listenKey"]]
    return [k for k in request.query.get("streams", "").split("/") if k]


async def listen_stream(request: web.Request) -> web.StreamResponse:
    venue = venue_of(request)
    combined = request.path.startswith("/stream")
    keys = _keys(request)
    entries = [venue.binance.lookup(k) for k in keys]
    if any(e is None for e in entries):
        raise errors.bad_listen_key()

    def wrapper(key: str) -> Callable[[int], Wrap]:
        if combined:
            return lambda _: lambda event: {"stream": key, "data": event}
        return lambda _: lambda event: event

    def setup(session: _Session) -> None:
        for entry in entries:
            assert entry is not None
            session.subscribe(entry.account_id, wrapper(entry.key))

    async def on_text(session: _Session, text: str) -> None:
        with contextlib.suppress(ValueError):
            frame = json.loads(text)
            if not isinstance(frame, dict):
                return
            method = frame.get("method")
            names = [str(p) for p in frame.get("params") or []]
            if method == "SUBSCRIBE":
                for name in names:
                    entry = venue.binance.lookup(name)
                    if entry is not None:
                        session.subscribe(entry.account_id, wrapper(entry.key))
                await session.send({"result": None, "id": frame.get("id")})
            elif method == "LIST_SUBSCRIPTIONS":
                await session.send({"result": keys, "id": frame.get("id")})
            else:
                await session.send({"result": None, "id": frame.get("id")})

    return await _run(request, on_text, setup)
