"""The ``trade_updates`` WebSocket at ``/stream`` (and ``/stream/``), in the paper API's manner.

Handshake: the client sends ``{"action":"authenticate","data":{"key_id","secret_key"}}`` and reads
the very next frame, which must be the authorization reply; then ``listen`` is acknowledged with
``{"stream":"listening",...}``. Paper Alpaca sends **binary** frames holding JSON text; both Python
SDKs decode either. Events come from the venue (with its stream faults) plus the book's notices
(pending_cancel, an order cancelled while queued), merged in the order they happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import WSMsgType, web

from boltztrader.paper.alpaca import auth, errors
from boltztrader.paper.alpaca.book import Book
from boltztrader.paper.alpaca.context import book_of, venue_of
from boltztrader.paper.alpaca.records import AlpacaOrder, Notice, Sink
from boltztrader.paper.alpaca.views import order_json
from boltztrader.paper.alpaca.wire import num, ts
from boltztrader.paper.model import ZERO, Event, EventKind, State
from boltztrader.paper.venue import Disconnect, PaperAccount, Subscription, Venue

STATUS_OF_EVENT = {"new": "new", "partial_fill": "partially_filled", "fill": "filled", "canceled": "canceled",
                   "expired": "expired", "replaced": "replaced", "rejected": "rejected",
                   "pending_cancel": "pending_cancel"}


def frame(stream: str, data: dict[str, Any]) -> bytes:
    return json.dumps({"stream": stream, "data": data}).encode()


def event_data(book: Book, event: Event) -> dict[str, Any] | None:
    """The ``trade_updates`` data for an engine event, or None when Alpaca has no such event."""
    order = book.of_engine(event.account_id, event.order.order_id)
    if order is None:
        return None
    kind = event.kind
    if kind is EventKind.NEW:
        name = "new"
    elif kind is EventKind.FILL:
        name = "fill" if event.state is State.FILLED else "partial_fill"
    elif kind is EventKind.CANCELLED:
        name = order.status_for(State.CANCELLED)
    elif kind is EventKind.EXPIRED:
        name = "expired"
    elif kind is EventKind.REJECTED:
        name = "rejected"
    else:
        return None  # TRIGGERED, REPLACED: no trade update of their own on Alpaca
    data: dict[str, Any] = {
        "event": name,
        "event_id": str(event.seq),
        "timestamp": ts(event.time),
        "order": order_json(order, status=STATUS_OF_EVENT[name], state=event.state,
                            filled_qty=event.filled_quantity, filled_quote=event.filled_quote,
                            updated_at=max(event.time, order.submitted_at)),
    }
    fill = event.fill
    if fill is not None:
        data["execution_id"] = book.execution_id(fill.trade_id)
        data["price"] = num(fill.price)
        data["qty"] = num(fill.quantity)
        data["position_qty"] = num(order.position_after.get(fill.trade_id, ZERO))
    return data


def notice_data(notice: Notice) -> dict[str, Any]:
    order: AlpacaOrder = notice.order
    return {"event": notice.event, "event_id": notice.event_id, "timestamp": ts(notice.time),
            "order": order_json(order, status=STATUS_OF_EVENT.get(notice.event, notice.event))}


class _Connection:
    """One client: its account once authenticated, and its trade_updates feed while listening."""

    def __init__(self, ws: web.WebSocketResponse, venue: Venue, book: Book) -> None:
        self.ws = ws
        self.venue = venue
        self.book = book
        self.account: PaperAccount | None = None
        self.subscription: Subscription | None = None
        self.sink: Sink | None = None
        self.tasks: list[asyncio.Task[None]] = []

    async def send(self, stream: str, data: dict[str, Any]) -> None:
        if not self.ws.closed:
            await self.ws.send_bytes(frame(stream, data))

    async def handle(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            await self.send("authorization", {"status": "unauthorized", "action": "authenticate",
                                              "message": "invalid syntax"})
            return
        action = message.get("action")
        raw_data = message.get("data")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        if action in ("authenticate", "auth"):
            key = data.get("key_id", message.get("key"))
            secret = data.get("secret_key", message.get("secret"))
            await self.authenticate(key if isinstance(key, str) else None,
                                    secret if isinstance(secret, str) else None)
        elif action == "listen":
            await self.listen(data.get("streams"))
        else:
            await self.send("authorization", {"status": "unauthorized", "action": str(action),
                                              "message": "invalid action"})

    async def authenticate(self, key: str | None, secret: str | None) -> None:
        try:
            self.account = auth.authenticate(self.venue, key, secret)
        except errors.AlpacaError:
            message = ("must provide key_id and secret_key or oauth_token" if not key or not secret
                       else "access key verification failed")
            await self.send("authorization", {"status": "unauthorized", "action": "authenticate",
                                              "message": message})
            return
        await self.send("authorization", {"status": "authorized", "action": "authenticate"})

    async def listen(self, streams: Any) -> None:
        if self.account is None:
            await self.send("authorization", {"status": "unauthorized", "action": "listen"})
            return
        wanted = [s for s in streams if s == "trade_updates"] if isinstance(streams, list) else []
        if wanted and self.subscription is None:
            self.start(self.account.account_id)
        elif not wanted:
            self.stop()
        await self.send("listening", {"streams": wanted})

    def start(self, account_id: str) -> None:
        subscription = self.venue.subscribe(account_id)
        sink = self.book.add_sink(account_id)
        self.subscription, self.sink = subscription, sink
        self.tasks = [asyncio.create_task(self._forward(subscription, sink)),
                      asyncio.create_task(self._write(sink))]

    def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.tasks = []
        if self.subscription is not None:
            self.venue.unsubscribe(self.subscription)
            self.subscription = None
        if self.sink is not None and self.account is not None:
            self.book.remove_sink(self.account.account_id, self.sink)
            self.sink = None

    async def _forward(self, subscription: Subscription, sink: Sink) -> None:
        while True:
            item = await subscription.queue.get()
            sink.put_nowait(None if isinstance(item, Disconnect) else item)

    async def _write(self, sink: Sink) -> None:
        while True:
            item = await sink.get()
            if item is None:
                await self.ws.close()
                return
            data = notice_data(item) if isinstance(item, Notice) else event_data(self.book, item)
            if data is not None:
                await self.send("trade_updates", data)


async def handler(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse(autoping=True)
    await ws.prepare(request)
    connection = _Connection(ws, venue_of(request), book_of(request))
    try:
        async for message in ws:
            if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                await connection.handle(message.data)
            elif message.type is WSMsgType.ERROR:
                break
    finally:
        tasks = connection.tasks
        connection.stop()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return ws
