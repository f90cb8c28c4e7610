"""The user-data stream: order updates and fills, reconnecting by itself, with gaps reported.

- Spot: the WebSocket API (``ws_api_url``), ``userDataStream.subscribe.signature`` (works with
  HMAC and Ed25519 keys; the spot REST listenKey was retired in 2026). Events come wrapped as
  ``{"subscriptionId": N, "event": {...}}``; ``executionReport`` becomes an ``OrderUpdate``.
- USD-M futures: ``POST /fapi/v1/listenKey`` then ``<futures_ws_url>/ws/<listenKey>``, kept alive
  with ``PUT /fapi/v1/listenKey``; ``ORDER_TRADE_UPDATE`` becomes an ``OrderUpdate``.

A TRADE execution carries a ``FillReport`` whose ``broker_trade_id`` is Binance's trade id ``t``;
events are passed on as they come (duplicates and reordering included): de-duplicating fills by
trade id is the caller's job.

Whenever the connection is lost (closed, dead heartbeat, ``eventStreamTerminated``,
``listenKeyExpired``) or cannot be opened, the stream retries with exponential backoff and, once
subscribed again, yields ``StreamGap(since, until, reason)``: events in that window may be lost,
so the caller reconciles by polling. A malformed event is skipped and reported as a zero-length
gap. A refused key (``BrokerAuthError``) ends the stream with that error: retrying cannot help.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aiohttp

from boltztrader.brokers.binance import errors, mapping
from boltztrader.brokers.binance.client import BinanceClient
from boltztrader.brokers.binance.config import BinanceConfig
from boltztrader.brokers.binance.wire import now, protocol_error
from boltztrader.domain.reports import BrokerEvent, StreamGap
from boltztrader.errors import BrokerAuthError, BrokerProtocolError, TradingError

log = logging.getLogger(__name__)

_SUBSCRIBE = "userDataStream.subscribe.signature"
_LISTEN_KEY_PATH = "/fapi/v1/listenKey"
_RETRYABLE = (TradingError, aiohttp.ClientError, OSError, TimeoutError, ValueError)
_ENDED = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED,
          aiohttp.WSMsgType.ERROR)


class _Connection:
    """One open socket, the events that arrived before the subscription answer, its keep-alive."""

    __slots__ = ("keepalive", "pending", "ws")

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.pending: list[dict[str, Any]] = []
        self.keepalive: asyncio.Task[None] | None = None

    async def close(self) -> None:
        if self.keepalive is not None:
            self.keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.keepalive
        await self.ws.close()


class UserStream:
    """One subscription to the account's user-data stream; ``run()`` is the event iterator."""

    def __init__(self, client: BinanceClient, config: BinanceConfig) -> None:
        self._client = client
        self._config = config
        self._ids = itertools.count(1)
        self._stop = asyncio.Event()
        self._current: _Connection | None = None

    def __repr__(self) -> str:
        return f"UserStream(futures={self._config.futures})"

    async def close(self) -> None:
        self._stop.set()
        if self._current is not None:
            await self._current.ws.close()

    async def run(self) -> AsyncIterator[BrokerEvent]:
        cfg = self._config
        delay = cfg.stream_backoff_initial
        since: datetime | None = None
        reason = ""
        while not self._stop.is_set():
            try:
                conn = await self._open()
            except BrokerAuthError:
                raise
            except _RETRYABLE as exc:
                if since is None:
                    since, reason = now(), f"stream could not connect ({type(exc).__name__})"
                log.warning("binance stream: connect failed (%s); retrying in %.2f s",
                            type(exc).__name__, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                delay = min(delay * 2, cfg.stream_backoff_max)
                continue
            delay = cfg.stream_backoff_initial
            self._current = conn
            try:
                if since is not None:
                    yield StreamGap(since=since, until=now(), reason=reason)
                    since = None
                async for event in self._events(conn):
                    yield event
            finally:
                self._current = None
                await conn.close()
            if not self._stop.is_set():
                since, reason = now(), "stream disconnected"
                log.warning("binance stream: disconnected; reconnecting")

    # -- connecting ---------------------------------------------------------------------------------
    async def _open(self) -> _Connection:
        if self._config.futures:
            return await self._open_futures()
        return await self._open_spot()

    async def _connect(self, url: str) -> aiohttp.ClientWebSocketResponse:
        try:
            return await self._client.stream_session().ws_connect(
                url, heartbeat=self._config.stream_heartbeat, autoping=True,
                timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
            )
        except aiohttp.ClientError as exc:  # its text can hold the URL (a listenKey): keep the type only
            raise aiohttp.ClientError(f"websocket connect failed ({type(exc).__name__})") from None

    async def _open_spot(self) -> _Connection:
        ws = await self._connect(self._config.ws_api_url)
        conn = _Connection(ws)
        try:
            await self._subscribe(conn)
        except BaseException:
            await ws.close()
            raise
        return conn

    async def _subscribe(self, conn: _Connection) -> None:
        client = self._client
        request_id = next(self._ids)
        params: dict[str, object] = {"apiKey": client.api_key_header["X-MBX-APIKEY"],
                                     "timestamp": client.timestamp()}
        params["signature"] = client.signer.sign_ws(params)
        await conn.ws.send_str(json.dumps({"id": request_id, "method": _SUBSCRIBE, "params": params}))
        async with asyncio.timeout(self._config.stream_subscribe_timeout):
            while True:
                msg = await conn.ws.receive()
                if msg.type in _ENDED:
                    raise aiohttp.ClientError("websocket closed while subscribing")
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                if not isinstance(frame, dict):
                    continue
                if frame.get("id") != request_id:
                    if "event" in frame:
                        conn.pending.append(frame)
                    continue
                if frame.get("status") == 200:
                    return
                error = errors.classify(int(frame.get("status") or 400),
                                        json.dumps(frame.get("error") or {}).encode(), {},
                                        changes_state=False, op="stream subscribe")
                if isinstance(error, errors.TimestampRejected):
                    await client.sync_time()
                raise error

    async def _open_futures(self) -> _Connection:
        key = await self._listen_key("POST")
        ws = await self._connect(f"{self._config.futures_ws_url}/ws/{key}")
        conn = _Connection(ws)
        conn.keepalive = asyncio.create_task(self._keep_alive(conn))
        return conn

    async def _listen_key(self, method: str) -> str:
        """POST creates (or returns) the account's listenKey; PUT extends it (USD-M takes no
        parameters: the account has one key)."""
        body = await self._client.keyed(method, _LISTEN_KEY_PATH, op="listen key")
        if method != "POST":
            return ""
        try:
            found = body["listenKey"]
        except (KeyError, TypeError) as exc:
            raise protocol_error("listen key", exc) from None
        if not isinstance(found, str) or not found:
            raise BrokerProtocolError("binance listen key: unexpected answer")
        return found

    async def _keep_alive(self, conn: _Connection) -> None:
        while True:
            await asyncio.sleep(self._config.listen_key_keepalive)
            try:
                await self._listen_key("PUT")
            except TradingError as exc:
                log.warning("binance stream: listenKey keep-alive failed (%s); reconnecting",
                            type(exc).__name__)
                await conn.ws.close()
                return

    # -- reading ------------------------------------------------------------------------------------
    async def _events(self, conn: _Connection) -> AsyncIterator[BrokerEvent]:
        futures = self._config.futures
        for frame in conn.pending:
            for event in self._decode(frame, futures):
                if event is None:
                    return
                yield event
        conn.pending.clear()
        ws = conn.ws
        while True:
            msg = await ws.receive()
            if msg.type is not aiohttp.WSMsgType.TEXT:
                if msg.type in _ENDED:
                    return
                continue
            try:
                frame = json.loads(msg.data)
            except ValueError:
                yield _skipped("unreadable frame")
                continue
            for event in self._decode(frame, futures):
                if event is None:
                    return
                yield event

    def _decode(self, frame: Any, futures: bool) -> list[BrokerEvent | None]:
        """Zero or one event; ``None`` means the server ended the subscription (reconnect)."""
        if not isinstance(frame, dict):
            return []
        event = frame if futures else frame.get("event")
        if not isinstance(event, dict):
            return []  # an answer to a request of ours
        kind = event.get("e")
        try:
            if kind == "executionReport":
                return [mapping.execution_report(event)]
            if kind == "ORDER_TRADE_UPDATE":
                return [mapping.order_trade_update(event)]
        except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
            log.warning("binance stream: malformed %s skipped (%s)", kind, protocol_error("stream", exc))
            return [_skipped(f"malformed {kind} skipped")]
        if kind in ("eventStreamTerminated", "listenKeyExpired"):
            return [None]
        return []


def _skipped(reason: str) -> StreamGap:
    at = now()
    return StreamGap(since=at, until=at, reason=reason)
