"""Kite's order-update WebSocket as ``OrderUpdate`` / ``StreamGap`` events.

``<ws_url>?api_key=..&access_token=..`` sends text frames ``{"type": "order", "data": <order row>}``
on partial fill, fill, modification, cancel, reject and trigger (never for the placement itself);
they may be duplicated or arrive out of order, so consumers key on the order id and never let the
filled quantity go backwards. Other frames (``error``, ``message``, binary heartbeats) are skipped.

Fills: an update carries the order's cumulative ``filled_quantity`` and ``average_price`` but no
trade id. A fill synthesised from it could not be de-duplicated against the trade book's real
trade ids (a reconnect merges several executions into one difference), so ``OrderUpdate.fill`` is
always None here: the order report's cumulative figures say what filled; reconcile fills, with
their ids, from ``GET /orders/{id}/trades``.

Reconnects: on a drop or a failed connect it waits (backoff from ``reconnect_initial`` doubling to
``reconnect_max``) and connects again; the first event after any outage is a ``StreamGap`` from
the moment the stream went down to the moment it came back. A 403 at the handshake (token expired)
raises ``BrokerAuthError`` instead: retrying cannot help. Error messages never carry the URL (its
query holds the access token).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal

import aiohttp
from yarl import URL

from boltztrader.brokers.kite import mapping
from boltztrader.brokers.kite.config import KiteConfig
from boltztrader.domain.reports import BrokerEvent, OrderUpdate, StreamGap
from boltztrader.domain.secrets import Secret
from boltztrader.errors import BrokerAuthError, BrokerProtocolError

log = logging.getLogger(__name__)

ClientIdOf = Callable[[str], str | None]


class StreamAuthError(BrokerAuthError):
    """Kite refused the stream's token at the handshake (403): log in again."""


async def _connect(session: aiohttp.ClientSession, url: URL, config: KiteConfig,
                   ) -> aiohttp.ClientWebSocketResponse | str:
    """The open socket, or why it failed: "auth" for a 403, else a short reason (no URL, no token)."""
    reason: str
    try:
        return await session.ws_connect(url, heartbeat=config.heartbeat, autoping=True,
                                        timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0))
    except aiohttp.WSServerHandshakeError as exc:
        reason = "auth" if exc.status in (401, 403) else f"handshake refused (HTTP {exc.status})"
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        reason = f"could not connect ({type(exc).__name__})"
    return reason


async def order_events(session_of: Callable[[], Awaitable[aiohttp.ClientSession]], config: KiteConfig,
                       token_of: Callable[[], Secret | None], client_id_of: ClientIdOf,
                       on_auth_expired: Callable[[], None]) -> AsyncIterator[BrokerEvent]:
    """Order updates for as long as the caller iterates; see the module doc."""
    base = URL(config.ws_url)
    delay = config.reconnect_initial
    down_since: datetime | None = None
    down_reason = ""
    while True:
        token = token_of()
        if token is None:
            raise StreamAuthError("zerodha order stream: no valid access token; log in to Kite again")
        url = base.with_query({"api_key": config.api_key, "access_token": token.reveal()})
        outcome = await _connect(await session_of(), url, config)
        del url
        if isinstance(outcome, str):
            if outcome == "auth":
                on_auth_expired()
                raise StreamAuthError("zerodha order stream: the access token was refused (HTTP 403)")
            if down_since is None:
                down_since, down_reason = datetime.now(UTC), outcome
            if log.isEnabledFor(logging.DEBUG):
                log.debug("kite order stream: %s; retrying in %.1f s", outcome, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, config.reconnect_max)
            continue
        ws = outcome
        delay = config.reconnect_initial
        try:
            if down_since is not None:
                yield StreamGap(since=down_since, until=datetime.now(UTC), reason=down_reason)
                down_since = None
            async for message in ws:
                if message.type is aiohttp.WSMsgType.TEXT:
                    update = _update(message.data, client_id_of)
                    if update is not None:
                        yield update
                elif message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                    break
        finally:
            await ws.close()
        down_since, down_reason = datetime.now(UTC), f"stream closed (code {ws.close_code})"


def _update(text: str, client_id_of: ClientIdOf) -> OrderUpdate | None:
    try:
        frame = json.loads(text, parse_float=Decimal)
    except ValueError:
        log.debug("kite order stream: a frame that is not JSON was skipped")
        return None
    if not isinstance(frame, dict) or frame.get("type") != "order" or not frame.get("data"):
        return None
    try:
        return OrderUpdate(order=mapping.order_report(frame["data"], client_id_of))
    except BrokerProtocolError as exc:
        log.debug("kite order stream: an order update was skipped: %s", exc)
        return None
