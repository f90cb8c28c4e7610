"""``/v1/ws``: each user's own audit chain as a live event stream, resumable by seq, across processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import httpx
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from boltztrader.accounts.linking import link_account
from boltztrader.accounts.paper import open_paper_account
from boltztrader.api.app import create_app
from boltztrader.db.audit import Pending, log_audit_many, read_entries
from boltztrader.domain.enums import AccountMode
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.settings import load_settings
from boltztrader.wiring import build_container

from ...paper.conftest import free_port
from .conftest import Service, until

Event = dict[str, Any]


def _ws_url(base: str) -> str:
    return base.replace("http://", "ws://", 1) + "/v1/ws"


def _signal(signal_id: str, account_id: str, **extra: Any) -> dict[str, Any]:
    body = {"id": signal_id, "model_id": "m1", "symbol": "BTCUSDT", "market": "crypto", "side": "buy",
            "quantity": "0.001", "confidence": "0.9", "created_at": datetime.now(UTC).isoformat(),
            "account_id": account_id}
    return body | extra


@dataclass
class Client:
    """One open socket: the ``ready`` frame, and every event frame received so far (raw text too)."""

    socket: ClientConnection
    ready: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)

    async def until(self, done: Callable[[list[Event]], bool], within: float = 15.0) -> list[Event]:
        """Receive until ``done(events)`` holds; the events so far (AssertionError after ``within`` s)."""
        deadline = asyncio.get_running_loop().time() + within
        while not done(self.events):
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, f"gave up waiting; got {[(e['seq'], e['action']) for e in self.events]}"
            try:
                text = await asyncio.wait_for(self.socket.recv(), left)
            except TimeoutError:
                continue
            assert isinstance(text, str)
            self.raw.append(text)
            frame = json.loads(text)
            if frame["type"] == "event":
                self.events.append(frame)
            else:
                assert frame["type"] == "ping", frame
        return self.events

    async def quiet_for(self, seconds: float) -> list[Event]:
        """Receive for ``seconds``; what arrived."""
        before = len(self.events)
        with contextlib.suppress(AssertionError):
            await self.until(lambda _events: False, within=seconds)
        return self.events[before:]


@contextlib.asynccontextmanager
async def stream(base: str, token: str, *, after_seq: int | None = 0,
                 header: bool = True) -> AsyncIterator[Client]:
    """A socket to ``base``'s /v1/ws, authenticated and resumed after ``after_seq`` (None: from now)."""
    headers = {"Authorization": f"Bearer {token}"} if header else {}
    async with connect(_ws_url(base), additional_headers=headers) as socket_:
        if not header:
            await socket_.send(json.dumps({"type": "auth", "token": token}))
        resume = {"type": "resume", "from": "now"} if after_seq is None else {"type": "resume",
                                                                              "after_seq": after_seq}
        await socket_.send(json.dumps(resume))
        ready = json.loads(await asyncio.wait_for(socket_.recv(), 10))
        assert ready["type"] == "ready", ready
        yield Client(socket_, ready)


async def _post_signal(service: Service, body: dict[str, Any], token: str | None = None) -> str:
    """Send a signal over HTTP; the id of its one order."""
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers(token)) as client:
        answer = await client.post("/v1/signals", json=body)
    assert answer.status_code == 201, answer.text
    (outcome,) = answer.json()["outcomes"]
    return str(outcome["order_id"])


def _has(action: str, entity_id: str) -> Callable[[list[Event]], bool]:
    return lambda events: any(e["action"] == action and e["entity_id"] == entity_id for e in events)


async def _chain(service: Service, user_id: str, after_seq: int = 0) -> list[tuple[int, str, str]]:
    async with service.engine.connect() as conn:
        entries = await read_entries(conn, f"user:{user_id}", after_seq=after_seq, limit=100_000)
    return [(e.seq, e.action, e.entity_id) for e in entries]


def _seen(events: list[Event]) -> list[tuple[int, str, str]]:
    return [(e["seq"], e["action"], e["entity_id"]) for e in events]


async def _filled(service: Service, signal_id: str, token: str | None = None) -> bool:
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers(token)) as client:
        got = (await client.get(f"/v1/signals/{signal_id}")).json()
    return [o["status"] for o in got["outcomes"]] == ["filled"]


async def test_a_signals_order_streams_from_creation_to_fill_in_seq_order(service: Service) -> None:
    """Resumed from 0, the socket carries the whole chain in seq order, then a new order's life to a fill."""
    async with stream(service.url, service.token, after_seq=0) as client:
        assert client.ready == {"type": "ready", "after_seq": 0, "head_seq": 2}  # the two linked accounts
        order_id = await _post_signal(service, _signal("ws-1", service.accounts["binance"]))
        events = await client.until(_has("order.fill", order_id))
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert [e["kind"] for e in events[:2]] == ["account", "account"]
    mine = [e for e in events if e["entity_id"] == order_id]
    actions = [e["action"] for e in mine]
    assert actions[:3] == ["order.created", "risk.decision", "order.submit_started"]
    assert actions[-1] == "order.fill"
    kinds = {e["action"]: e["kind"] for e in mine}
    assert (kinds["order.created"], kinds["risk.decision"], kinds["order.fill"]) == ("order", "risk", "fill")
    created = mine[0]
    assert created["entity"] == "order"
    assert created["data"]["client_order_id"]
    assert Decimal(created["data"]["quantity"]) == Decimal("0.001")
    assert created["at"].endswith("Z")
    assert datetime.fromisoformat(created["at"]) <= datetime.now(UTC)
    assert _seen(events) == (await _chain(service, service.user_id))[:len(events)]


async def test_a_reconnect_after_the_last_seq_gets_exactly_what_was_missed(service: Service) -> None:
    """What committed while a client was away arrives on resuming from its last seq: no gap, no duplicate."""
    binance = service.accounts["binance"]
    async with stream(service.url, service.token, after_seq=0) as client:
        first = await _post_signal(service, _signal("ws-r1", binance))
        before = await client.until(_has("order.fill", first))
    last = before[-1]["seq"]
    missed_orders = [await _post_signal(service, _signal(f"ws-r{i}", binance)) for i in (2, 3)]
    assert await until(lambda: _filled(service, "ws-r3"))
    assert await _filled(service, "ws-r2")
    async with stream(service.url, service.token, after_seq=last) as client:
        head = client.ready["head_seq"]
        assert client.ready["after_seq"] == last
        assert head > last
        after = await client.until(lambda events: bool(events) and events[-1]["seq"] >= head)
        assert await client.quiet_for(0.5) == []  # nothing beyond the head: no duplicates trail in
    assert [e["seq"] for e in after] == list(range(last + 1, head + 1))
    assert _seen(after) == await _chain(service, service.user_id, after_seq=last)
    for order_id in missed_orders:
        assert _has("order.created", order_id)(after)
        assert _has("order.fill", order_id)(after)
    assert not {e["seq"] for e in after} & {e["seq"] for e in before}


async def test_resume_from_now_skips_the_backlog(service: Service) -> None:
    """``from: now`` answers with the head as the starting point and streams only later events."""
    async with stream(service.url, service.token, after_seq=None) as client:
        assert client.ready["after_seq"] == client.ready["head_seq"] == 2
        order_id = await _post_signal(service, _signal("ws-now", service.accounts["binance"]))
        events = await client.until(_has("order.created", order_id))
    assert (events[0]["seq"], events[0]["action"]) == (3, "order.created")


async def _closed_with(socket_: ClientConnection) -> int | None:
    """Read until the server closes; its close code."""
    with contextlib.suppress(ConnectionClosed):
        while True:
            await asyncio.wait_for(socket_.recv(), 15)
    return None if socket_.close_code is None else int(socket_.close_code)


async def test_a_socket_without_a_valid_token_is_refused(service: Service) -> None:
    """A bad header is refused at the handshake (403); no token, a bad one, or a malformed resume close it."""
    with pytest.raises(InvalidStatus) as refused:
        async with connect(_ws_url(service.url), additional_headers={"Authorization": "Bearer btz_nope"}):
            pass
    assert refused.value.response.status_code == 403
    async with connect(_ws_url(service.url)) as anonymous:  # a resume where the token should be
        await anonymous.send(json.dumps({"type": "resume", "after_seq": 0}))
        assert await _closed_with(anonymous) == 1008
    async with connect(_ws_url(service.url)) as wrong:
        await wrong.send(json.dumps({"type": "auth", "token": "btz_" + "x" * 43}))
        assert await _closed_with(wrong) == 1008
    bad_resumes = ({"type": "resume"}, {"type": "resume", "after_seq": -1},
                   {"type": "resume", "after_seq": 999}, "not json",
                   {"type": "resume", "after_seq": 0, "user_id": service.other_user_id})
    for resume in bad_resumes:
        async with connect(_ws_url(service.url), additional_headers=service.headers()) as socket_:
            await socket_.send(resume if isinstance(resume, str) else json.dumps(resume))
            assert await _closed_with(socket_) == 4400, resume
    async with stream(service.url, service.token, header=False) as by_message:  # the browser's way
        assert by_message.ready["head_seq"] == 2


async def test_a_user_never_receives_another_users_events(service: Service) -> None:
    """Two users' sockets (and an admin's) each carry their own chain and nothing of anyone else's."""
    async with stream(service.url, service.token) as mine, \
            stream(service.url, service.other_token) as theirs, \
            stream(service.url, service.admin_token) as admins:
        assert admins.ready["head_seq"] == 0
        my_order = await _post_signal(service, _signal("ws-iso-1", service.accounts["binance"]))
        their_order = await _post_signal(service, _signal("ws-iso-2", service.other_account),
                                         token=service.other_token)
        mine_got = await mine.until(_has("order.fill", my_order))
        theirs_got = await theirs.until(_has("order.fill", their_order))
        assert await admins.quiet_for(1.0) == []
    assert their_order not in {e["entity_id"] for e in mine_got}
    assert my_order not in {e["entity_id"] for e in theirs_got}
    assert _seen(theirs_got) == (await _chain(service, service.other_user_id))[:len(theirs_got)]
    assert _seen(mine_got) == (await _chain(service, service.user_id))[:len(mine_got)]


async def test_an_order_awaiting_approval_is_an_approval_event_and_frames_carry_no_secrets(
        service: Service) -> None:
    """A semi-manual account's order arrives as kind approval (then approved); no frame holds a secret."""
    async with aiohttp.ClientSession() as http:
        opened = await open_paper_account(http, service.papers["binance"].url, BrokerName.BINANCE)
    assert service.container.runtime is not None
    runtime = service.container.runtime
    async with stream(service.url, service.token) as client:
        semi = await link_account(service.engine, service.vault, user_id=service.user_id,
                                  broker=BrokerName.BINANCE, mode=AccountMode.PAPER, api_key=opened.api_key,
                                  api_secret=opened.api_secret, label="semi", execution_mode="semi_manual",
                                  now=datetime.now(UTC))
        await runtime.directory.load([semi])
        order_id = await _post_signal(service, _signal("ws-semi", semi))
        await client.until(_has("order.created", order_id))
        await runtime.approvals.approve(order_id, actor=f"user:{service.user_id}")
        events = await client.until(_has("order.fill", order_id))
    kinds = {e["action"]: e["kind"] for e in events if e["entity_id"] in (order_id, semi)}
    assert kinds["account.linked"] == "account"
    assert kinds["order.created"] == "approval"
    assert kinds["order.approved"] == "approval"
    assert kinds["order.fill"] == "fill"
    sentinels = [opened.api_secret.reveal(), service.token]
    text = "\n".join(client.raw)
    assert opened.api_key[-4:] in text  # the link is there (its key's last four characters) ...
    assert not [s for s in sentinels if s in text]  # ... and no secret of it, nor the caller's token


async def test_a_change_through_one_process_reaches_a_socket_on_another(service: Service,
                                                                       db_url: str) -> None:
    """A second app on the same database streams a change committed through the first (PostgreSQL: NOTIFY)."""
    container = build_container(load_settings({}, database_url=db_url))
    app = create_app(container, announce=lambda _line: None)  # no trading: it only serves sockets
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    task = asyncio.ensure_future(server.serve())
    assert await until(lambda: _started(server), within=10)
    try:
        async with stream(f"http://127.0.0.1:{port}", service.token, after_seq=None) as client:
            order_id = await _post_signal(service, _signal("ws-x", service.accounts["binance"]))
            started = asyncio.get_running_loop().time()
            await client.until(_has("order.created", order_id), within=10)
            # Far sooner than the stream's own 20 s safety re-read: a wake-up crossed the processes.
            assert asyncio.get_running_loop().time() - started < 5
            events = await client.until(_has("order.fill", order_id))
        bus = app.state.events_bus
        assert bus.mode == ("listen" if container.engine.dialect.name == "postgresql" else "poll")
        assert [e["seq"] for e in events] == list(range(3, 3 + len(events)))
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 20)


async def _started(server: uvicorn.Server) -> bool:
    return bool(server.started)


async def test_a_client_that_stops_reading_is_let_go(service: Service) -> None:
    """A socket whose client reads nothing is dropped once its bounded send queue stays full."""
    padding = "p" * 4000
    count = 4000
    async with service.engine.begin() as conn:  # a long backlog: about 16 MB of events
        await log_audit_many(conn, [Pending("test", f"bulk-{i}", "test.bulk", "tester", {"pad": padding},
                                            chain=f"user:{service.user_id}") for i in range(count)])
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16_384)  # a small window: the server fills it soon
    host, port = service.url.removeprefix("http://").split(":")
    raw.connect((host, int(port)))
    raw.setblocking(False)
    async with connect(_ws_url(service.url), sock=raw, additional_headers=service.headers(),
                       max_queue=4, compression=None) as socket_:
        await socket_.send(json.dumps({"type": "resume", "after_seq": 0}))
        await asyncio.sleep(15)  # read nothing: longer than the server waits for room in the queue
        got: list[Event] = []
        with contextlib.suppress(ConnectionClosed):
            while True:
                frame = json.loads(await asyncio.wait_for(socket_.recv(), 10))
                if frame["type"] == "event":
                    got.append(frame)
    # Dropped long before the end: 1013, or 1006 when it did not even read the close in time.
    assert socket_.close_code in (1013, 1006)
    assert 0 < len(got) < count
    async with stream(service.url, service.token, after_seq=got[-1]["seq"]) as client:  # and it resumes
        head = client.ready["head_seq"]
        rest = await client.until(lambda events: bool(events) and events[-1]["seq"] >= head, within=60)
    assert [e["seq"] for e in got + rest] == list(range(1, count + 3))
