"""The ``trade_updates`` WebSocket: authenticate, listen, map events; reconnect with backoff and
report each outage as a ``StreamGap`` once listening again.

Handshake (reference §5.1): send ``{"action":"authenticate","data":{"key_id","secret_key"}}``, read
the very next frame, which must be ``{"stream":"authorization","data":{"status":"authorized"}}``;
then ``{"action":"listen","data":{"streams":["trade_updates"]}}`` and wait for ``listening``.
Paper Alpaca sends binary frames holding JSON text; text frames are read the same way.

An unauthorized answer ends the iteration with ``BrokerAuthError`` (retrying a revoked key helps
nobody). Every other failure (refused connection, a dropped socket, a missed heartbeat) is
retried with exponential backoff and jitter. The gap runs from the moment the stream was lost to
the moment it listens again; events that arrived during the handshake are yielded after it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp

from boltztrader.brokers.alpaca import mapping
from boltztrader.brokers.alpaca.config import AlpacaConfig
from boltztrader.brokers.alpaca.wire import loads
from boltztrader.brokers.transport import new_session
from boltztrader.domain.reports import BrokerEvent, StreamGap
from boltztrader.errors import BrokerAuthError, BrokerProtocolError

_log = logging.getLogger(__name__)
_LISTEN = '{"action":"listen","data":{"streams":["trade_updates"]}}'


class StreamDropped(Exception):
    """The connection ended or never came up (the reason is a class name: no secrets)."""


class TradeUpdates:
    """Iterators over one account's trade updates; ``close`` ends every one of them."""

    def __init__(self, config: AlpacaConfig) -> None:
        self._config = config
        self._session: aiohttp.ClientSession | None = None
        self._sockets: set[aiohttp.ClientWebSocketResponse] = set()
        self._closed = False

    async def events(self) -> AsyncIterator[BrokerEvent]:
        config = self._config
        delay = config.reconnect_min
        down_since: datetime | None = None
        reason = ""
        while not self._closed:
            try:
                ws, early = await self._open()
            except StreamDropped as exc:
                if self._closed:
                    return
                down_since = down_since or datetime.now(UTC)
                reason = str(exc)
                await asyncio.sleep(delay * (0.5 + random.random() / 2))  # noqa: S311 - jitter, not a secret
                delay = min(delay * 2, config.reconnect_max)
                continue
            delay = config.reconnect_min
            try:
                if down_since is not None:
                    yield StreamGap(since=down_since, until=datetime.now(UTC), reason=reason)
                    down_since = None
                for frame in early:
                    event = self._event(frame)
                    if event is not None:
                        yield event
                while True:
                    message = await ws.receive()
                    if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                        reason = f"stream closed ({message.type.name.lower()})"
                        break
                    event = self._event(_decode(message.data))
                    if event is not None:
                        yield event
            finally:
                self._sockets.discard(ws)
                await ws.close()
            if self._closed:
                return
            down_since = datetime.now(UTC)
            if _log.isEnabledFor(logging.INFO):
                _log.info("alpaca trade_updates stream lost: %s; reconnecting", reason)

    async def close(self) -> None:
        self._closed = True
        for ws in list(self._sockets):
            await ws.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _open(self) -> tuple[aiohttp.ClientWebSocketResponse, list[Any]]:
        """Connect, authenticate and listen; the frames that came before the listening ack."""
        config = self._config
        if self._session is None or self._session.closed:
            self._session = new_session(limit=4, timeouts=config.timeouts)
        try:
            ws = await self._session.ws_connect(config.resolved_stream_url, heartbeat=config.stream_heartbeat,
                                                autoping=True)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise StreamDropped(f"could not connect ({type(exc).__name__})") from None
        self._sockets.add(ws)
        try:
            return ws, await self._handshake(ws)
        except BaseException:
            self._sockets.discard(ws)
            await ws.close()
            raise

    async def _handshake(self, ws: aiohttp.ClientWebSocketResponse) -> list[Any]:
        config = self._config
        try:
            async with asyncio.timeout(config.handshake_timeout):
                await ws.send_json({"action": "authenticate",
                                    "data": {"key_id": config.key_id,
                                             "secret_key": config.secret_key.reveal()}})
                reply = await _receive(ws)
                data = reply.get("data") if reply.get("stream") == "authorization" else None
                if not isinstance(data, dict) or data.get("status") != "authorized":
                    raise BrokerAuthError("alpaca trade_updates stream: authorization refused")
                await ws.send_str(_LISTEN)
                early: list[Any] = []
                while True:
                    frame = await _receive(ws)
                    if frame.get("stream") == "listening":
                        ack = frame.get("data")
                        streams = ack.get("streams") if isinstance(ack, dict) else None
                        if not isinstance(streams, list) or "trade_updates" not in streams:
                            raise BrokerProtocolError("alpaca trade_updates stream: listen not acknowledged")
                        return early
                    if frame.get("stream") == "authorization":  # a listen refused: the key went away
                        raise BrokerAuthError("alpaca trade_updates stream: authorization refused")
                    early.append(frame)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise StreamDropped(f"handshake failed ({type(exc).__name__})") from None

    def _event(self, frame: Any) -> BrokerEvent | None:
        """A trade update, a gap for one that cannot be read (reconcile), or None for other frames."""
        if not isinstance(frame, dict) or frame.get("stream") != "trade_updates":
            return None
        try:
            return mapping.trade_update(frame.get("data"))
        except BrokerProtocolError as exc:
            now = datetime.now(UTC)
            _log.warning("alpaca trade update dropped: %s", exc)
            return StreamGap(since=now, until=now, reason=f"unreadable trade update: {exc}")


async def _receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive()
    if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
        raise StreamDropped(f"stream closed during the handshake ({message.type.name.lower()})")
    frame = _decode(message.data)
    if not isinstance(frame, dict):
        raise BrokerProtocolError("alpaca trade_updates stream: a frame is not a JSON object")
    return frame


def _decode(data: str | bytes) -> Any:
    try:
        return loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
