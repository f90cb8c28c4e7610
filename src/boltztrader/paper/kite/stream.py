"""Order updates pushed two ways: postbacks (HTTP POST of JSON) and the Kite ticker WebSocket.

Both carry the order (its row in the order book) plus ``user_id``, ``app_id``, ``unfilled_quantity``
and ``checksum`` = sha256(order_id + order_timestamp + api_secret), with ``status`` COMPLETE,
REJECTED, CANCELLED or UPDATE (a partial fill or a modification). None is sent for the placement
itself. The WebSocket also reports a triggered SL order (status OPEN); postbacks do not.

Postbacks: ``PUT /_paper/accounts/{api_key}/postback`` ``{"url": ...}`` (``null`` to stop). They go
out in order from one background task with an aiohttp ClientSession, never on the request path;
a receiver that fails or is slow only loses its own postbacks (5 s timeout, no retry).

WebSocket: ``ws://host:port/?api_key=...&access_token=...`` (what KiteTicker opens for its root); a bad
or expired token gets HTTP 403 before the upgrade. Text frames ``{"type":"order","data":{...}}``.
Subscribe/mode messages are accepted and ignored (binary market-data ticks are not simulated).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
from aiohttp import web

from boltztrader.paper.kite import errors
from boltztrader.paper.kite.book import KiteAccount, KiteOrder, update_status
from boltztrader.paper.kite.session import check, checksum
from boltztrader.paper.kite.wire import num, order_json
from boltztrader.paper.model import ZERO, Event
from boltztrader.paper.venue import DISCONNECT, PaperAccount, Venue

log = logging.getLogger(__name__)


def update_payload(account: PaperAccount, state: KiteAccount, order: KiteOrder, event: Event,
                   status: str) -> dict[str, Any]:
    filled = event.filled_quantity
    average = ZERO if not filled else event.filled_quote / filled
    row = order_json(state, order, order.history[-1], status=status, filled=filled, average=average)
    unfilled = ZERO if status in ("COMPLETE", "CANCELLED", "REJECTED") else order.quantity - filled
    return {
        "user_id": state.user_id,
        "unfilled_quantity": num(Decimal(unfilled)),
        "app_id": state.app_id,
        "checksum": checksum(order.order_id, row["order_timestamp"], account.api_secret),
        **row,
    }


class Postbacks:
    """Queue of (url, payload) delivered by one background task."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.delivered = 0
        self.failed = 0

    def hook(self, account: PaperAccount, state: KiteAccount, order: KiteOrder, event: Event,
             status: str) -> None:
        if state.postback_url is None or status == "OPEN":
            return
        self.queue.put_nowait((state.postback_url, update_payload(account, state, order, event, status)))

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as client:
            while True:
                url, payload = await self.queue.get()
                try:
                    async with client.post(url, data=json.dumps(payload),
                                           headers={"Content-Type": "application/json"}) as response:
                        await response.read()
                    self.delivered += 1
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    self.failed += 1
                    log.info("postback to %s failed: %s", url, exc)


async def postback_worker(postbacks: Postbacks) -> AsyncIterator[None]:
    task = asyncio.create_task(postbacks.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def order_updates(request: web.Request, venue: Venue) -> web.StreamResponse:
    """The ticker WebSocket: order updates of the account the token belongs to."""
    try:
        account, state = check(venue, request.query.get("api_key", ""), request.query.get("access_token", ""))
    except errors.KiteError as exc:
        return errors.render(exc)
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    subscription = venue.subscribe(account.account_id)
    reader = asyncio.ensure_future(_drain(ws))
    try:
        while not ws.closed:
            getter = asyncio.ensure_future(subscription.queue.get())
            done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                break
            item = getter.result()
            if item is DISCONNECT or not isinstance(item, Event):
                break
            order = state.by_engine.get(item.order.order_id)
            status = update_status(item)
            if order is None or status is None:
                continue
            data = update_payload(account, state, order, item, status)
            await ws.send_str(json.dumps({"type": "order", "data": data}))
    finally:
        venue.unsubscribe(subscription)
        reader.cancel()
        await ws.close()
    return ws


async def _drain(ws: web.WebSocketResponse) -> None:
    async for _message in ws:
        pass  # subscribe / mode requests: accepted, no market data is streamed
