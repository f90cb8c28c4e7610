"""``/v1/ws``: the caller's own events, live and resumable, the same from every service process.

The stream is the caller's audit chain ``user:<id>``: every change of their orders, fills,
positions, approvals, accounts and risk is written there in the same transaction as the change,
with a gapless ``seq``. An event's ``seq`` is its entry's; a client that reconnects with the last
``seq`` it saw gets exactly what it missed, read from the database: no gap, no duplicate, in order.
Every user (an admin too) sees their own chain only.

Protocol (JSON text frames):

1. Authenticate: ``Authorization: Bearer <token>`` at the handshake (a bad one is refused with
   HTTP 403), or, from a browser, a first message ``{"type": "auth", "token": "btz_..."}`` within
   10 s; a missing, bad or malformed one closes the socket with **1008**.
2. Client: ``{"type": "resume", "after_seq": N}`` (``0``: from the beginning; else the last ``seq``
   you received) or ``{"type": "resume", "from": "now"}`` (only what happens from now on), within
   10 s. A malformed resume, or an ``after_seq`` beyond the newest event, closes with **4400**.
3. Server: ``{"type": "ready", "after_seq": N, "head_seq": H}``: events ``N+1 .. H`` follow now,
   then the live ones. Keep ``head_seq`` as your last ``seq`` if no event arrives before you leave.
4. Server, for every entry with ``seq > N``, in order, the backlog first, then as they commit::

       {"type": "event", "seq": 42, "kind": "order", "action": "order.accepted",
        "entity": "order", "entity_id": "...", "at": "2025-01-02T03:04:05.000000Z", "data": {...}}

   ``kind`` is one of ``order``, ``fill``, ``position``, ``approval`` (an order waiting for, or
   given, a decision), ``account``, ``risk`` (risk decisions, kill switches), ``signal``, ``other``;
   ``action`` is the audit action; ``data`` the entry's payload (money as strings). Frames never
   carry secrets: audit payloads refuse secret-named keys by construction.
5. Server: ``{"type": "ping"}`` every 20 s; the client may answer ``{"type": "pong"}``. Anything
   else the client sends after the resume is ignored.

Closing codes: 1008 authentication, 4400 a bad resume, **1013** a client too slow to keep up (the
server keeps a bounded send queue per socket and waits at most ``SLOW_CLIENT_SECONDS`` for room,
then lets the client go; one that does not even read the close frame sees the connection drop,
1006), 1011 the server failed, 1012 the server is restarting. After any of the last four:
reconnect and resume from your last ``seq``.

Live delivery comes from ``boltztrader.bus`` (PostgreSQL NOTIFY at commit, or polling SQLite); each
socket also re-reads its chain every ``PING_SECONDS``, so a lost wake-up delays an event, never
drops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, WebSocket, status
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator
from starlette.websockets import WebSocketDisconnect, WebSocketDisconnected, WebSocketState

from boltztrader.api.auth import websocket_principal
from boltztrader.bus import Bus, Subscription
from boltztrader.ledger import AuditEntry, format_utc

__all__ = ["router", "stop_bus"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["events"])

RESUME_TIMEOUT_SECONDS = 10.0
PING_SECONDS = 20.0
SEND_QUEUE = 256  # frames waiting for one socket
SLOW_CLIENT_SECONDS = 10.0  # how long the queue may stay full before the client is let go
CLOSE_BAD_RESUME = 4400
CLOSE_TIMEOUT_SECONDS = 2.0

KINDS = ("order", "fill", "position", "approval", "account", "risk", "signal", "other")
_ACTION_KINDS = {
    "order.fill": "fill", "order.partial_fill": "fill",
    "order.approve": "approval", "order.approved": "approval", "order.decline": "approval",
    "order.declined": "approval", "order.approval_expired": "approval", "order.approval_denied": "approval",
}
_ENTITY_KINDS = {
    "order": "order", "position": "position", "broker_account": "account", "account": "account",
    "trading_state": "risk", "signal": "signal",
}


class Resume(BaseModel):
    """Where the stream starts: after a ``seq``, or from now."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["resume"]
    after_seq: StrictInt | None = Field(default=None, ge=0)
    from_: Literal["now"] | None = Field(default=None, alias="from")

    @model_validator(mode="after")
    def _exactly_one(self) -> Resume:
        if (self.after_seq is None) == (self.from_ is None):
            raise ValueError('give exactly one of "after_seq" and "from"')
        return self


class SlowClient(Exception):
    """The socket's send queue stayed full for ``SLOW_CLIENT_SECONDS``."""


class BadResume(Exception):
    """The client's resume message was missing, malformed or beyond the stream's head."""


@router.websocket("/ws", name="events")
async def events(websocket: WebSocket) -> None:
    """The caller's own events (orders, fills, positions, approvals, accounts, risk), resumable by seq."""
    principal = await websocket_principal(websocket)
    if principal is None:
        return
    chain = f"user:{principal.user_id}"
    bus = _bus(websocket.app)
    # Subscribed before anything is read: a commit after any read below wakes us.
    async with bus.subscribe(chain) as wakeups:
        try:
            after = await _begin(websocket, bus, chain)
        except BadResume as exc:
            await _close(websocket, CLOSE_BAD_RESUME, str(exc))
            return
        except (WebSocketDisconnect, WebSocketDisconnected):
            return
        except Exception:
            log.exception("event stream of %s failed to start", chain)
            await _close(websocket, status.WS_1011_INTERNAL_ERROR, "the server failed: try again")
            return
        if after is not None:
            await _stream(websocket, bus, wakeups, chain, after)


async def stop_bus(app: FastAPI) -> None:
    """Stop the event bus of ``app``'s sockets, if one was started (the app's lifespan calls this)."""
    bus: Bus | None = getattr(app.state, "events_bus", None)
    if bus is not None:
        try:
            await bus.stop()
        except Exception:  # shutting down: the rest of the shutdown must still run
            log.exception("event bus: stopping failed")


def _bus(app: FastAPI) -> Bus:
    """The app's one bus, made on first use (no await between the look-up and the store)."""
    bus: Bus | None = getattr(app.state, "events_bus", None)
    if bus is None:
        bus = Bus(app.state.container.engine)
        app.state.events_bus = bus
    return bus


async def _begin(websocket: WebSocket, bus: Bus, chain: str) -> int | None:
    """Read the client's resume and answer ``ready``: the seq to stream after (None: the client left)."""
    resume = await _read_resume(websocket)
    if resume is None:
        return None
    head = await bus.head(chain)
    after = head if resume.after_seq is None else resume.after_seq
    if after > head:
        raise BadResume(f"after_seq {after} is beyond this stream's newest event ({head})")
    await _send_frame(websocket, {"type": "ready", "after_seq": after, "head_seq": head})
    return after


async def _read_resume(websocket: WebSocket) -> Resume | None:
    try:
        message = await asyncio.wait_for(websocket.receive(), RESUME_TIMEOUT_SECONDS)
    except TimeoutError:
        raise BadResume(f"no resume message within {RESUME_TIMEOUT_SECONDS:.0f}s") from None
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    if not text:
        raise BadResume('expected {"type": "resume", "after_seq": N} as JSON text')
    try:
        return Resume.model_validate_json(text)
    except ValidationError:
        raise BadResume('expected {"type": "resume", "after_seq": N} or {"type": "resume", '
                        '"from": "now"}') from None


async def _stream(websocket: WebSocket, bus: Bus, wakeups: Subscription, chain: str, after: int) -> None:
    """Run the socket until the client leaves, falls behind, or the server fails."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=SEND_QUEUE)
    tasks = [
        asyncio.create_task(_produce(queue, bus, wakeups, chain, after), name="ws-produce"),
        asyncio.create_task(_ping(queue), name="ws-ping"),
        asyncio.create_task(_send(websocket, queue), name="ws-send"),
        asyncio.create_task(_receive(websocket), name="ws-receive"),
    ]
    try:
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    failure = next((t.exception() for t in done if not t.cancelled() and t.exception() is not None), None)
    if isinstance(failure, SlowClient):
        await _close(websocket, status.WS_1013_TRY_AGAIN_LATER,
                     "too slow to keep up: reconnect and resume after your last seq")
    elif failure is not None and not isinstance(failure, (WebSocketDisconnect, WebSocketDisconnected)):
        log.error("event stream of %s failed", chain, exc_info=failure)
        await _close(websocket, status.WS_1011_INTERNAL_ERROR, "server failed: resume after your last seq")
    # Otherwise the client left: nothing to close.


async def _produce(queue: asyncio.Queue[dict[str, Any]], bus: Bus, wakeups: Subscription, chain: str,
                   after: int) -> None:
    """Every entry after ``after``, then every new one: read from the chain on each wake-up."""
    last = after
    while True:
        async for entry in bus.entries(chain, after_seq=last):
            await _put(queue, event_frame(entry))
            last = entry.seq
        # A wake-up lost anywhere (a dropped listener, a restart) costs at most one ping interval.
        await wakeups.wait(within=PING_SECONDS)


async def _ping(queue: asyncio.Queue[dict[str, Any]]) -> None:
    while True:
        await asyncio.sleep(PING_SECONDS)
        await _put(queue, {"type": "ping"})


async def _put(queue: asyncio.Queue[dict[str, Any]], frame: dict[str, Any]) -> None:
    try:
        queue.put_nowait(frame)
    except asyncio.QueueFull:
        try:
            await asyncio.wait_for(queue.put(frame), SLOW_CLIENT_SECONDS)
        except TimeoutError:
            raise SlowClient from None


async def _send(websocket: WebSocket, queue: asyncio.Queue[dict[str, Any]]) -> None:
    while True:
        await _send_frame(websocket, await queue.get())


async def _send_frame(websocket: WebSocket, frame: dict[str, Any]) -> None:
    await websocket.send_text(json.dumps(frame, separators=(",", ":"), ensure_ascii=False))


async def _receive(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it leaves."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    """Close unless already closed; a client that does not read cannot hold us up."""
    if WebSocketState.DISCONNECTED in (websocket.application_state, websocket.client_state):
        return
    with contextlib.suppress(TimeoutError, WebSocketDisconnect, WebSocketDisconnected, OSError):
        await asyncio.wait_for(websocket.close(code=code, reason=reason), CLOSE_TIMEOUT_SECONDS)


def event_frame(entry: AuditEntry) -> dict[str, Any]:
    """The frame of one audit entry."""
    data = json.loads(entry.payload)
    return {
        "type": "event", "seq": entry.seq, "kind": kind_of(entry.action, entry.entity, data),
        "action": entry.action, "entity": entry.entity, "entity_id": entry.entity_id,
        "at": format_utc(entry.recorded_at), "data": data,
    }


def kind_of(action: str, entity: str, data: object) -> str:
    """Which of ``KINDS`` an audit entry is, for clients that route events by kind."""
    kind = _ACTION_KINDS.get(action)
    if kind is not None:
        return kind
    if action == "order.created" and isinstance(data, dict) and data.get("status") == "pending_approval":
        return "approval"
    if action.startswith(("risk.", "killswitch.")):
        return "risk"
    return _ENTITY_KINDS.get(entity, "other")
