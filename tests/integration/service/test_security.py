"""Security properties of the whole API, checked from its own route table against the running service.

- Ownership: every route with an object in its path, called by another user with the trader's
  object ids, answers 404 and changes nothing (a new route is covered as soon as it exists; one
  with a path parameter this suite does not know fails the suite until it is added here).
- Mass assignment: every request body refuses fields it does not define (422), so a client can
  never set user_id, status, filled_quantity and the like.
- A sentinel broker secret, linked through the API and traded with, never appears in a response,
  a WebSocket frame, a log record or any table of the database.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import inspect, select, text

from boltztrader.db.tables import broker_accounts, broker_orders, model_subscriptions

from ...contract.harness import admin
from .conftest import Service, until

# Which object of the trader each path parameter names.
OBJECTS = {"account_id": "account", "order_id": "order", "signal_id": "signal",
           "subscription_id": "subscription"}
# Routes that are public by design, with the reason.
PUBLIC = {
    ("POST", "/v1/postbacks/kite/{account_id}"): "Kite cannot send a token; the body's checksum is the proof",
    ("GET", "/static/{name}"): "the dashboard's own files",
}
# A well-formed body for the routes that need one (so that a refusal cannot come from validation).
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/v1/accounts/{account_id}"): {"label": "taken over"},
    ("POST", "/v1/orders/{order_id}/decline"): {"reason": "not mine"},
    ("PATCH", "/v1/subscriptions/{subscription_id}"): {"active": False},
}
QUERY_VALUES = {"symbol": "BTCUSDT"}  # required query parameters of object routes: well-formed values
PROBES = {"user_id": "someone-else", "status": "filled", "filled_quantity": "100", "role": "admin",
          "id": "forced-id", "trading_state": "active", "version": 99}


def _signal(signal_id: str, account_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": signal_id, "model_id": "m-sec", "symbol": "BTCUSDT", "market": "crypto", "side": "buy",
            "quantity": "0.001", "confidence": "0.9", "created_at": datetime.now(UTC).isoformat(),
            "account_id": account_id, **extra}


async def _trader_objects(service: Service, client: httpx.AsyncClient) -> dict[str, str]:
    account = service.accounts["binance"]
    sent = await client.post("/v1/signals", json=_signal("sec-1", account))
    assert sent.status_code == 201, sent.text
    subscription = await client.post("/v1/subscriptions", json={"model_id": "m-sec", "sizing": "signal"})
    assert subscription.status_code == 201, subscription.text
    return {"account": account, "order": sent.json()["outcomes"][0]["order_id"], "signal": "sec-1",
            "subscription": subscription.json()["id"]}


def _object_routes(service: Service) -> list[tuple[str, str, dict[str, str]]]:
    """(method, path, required query) of every operation with a path parameter, from the OpenAPI document."""
    paths = service.app.openapi()["paths"]
    found = []
    for path, operations in paths.items():
        for method, operation in operations.items():
            if "{" not in path or method not in ("get", "post", "put", "patch", "delete"):
                continue
            query = {p["name"]: QUERY_VALUES.get(p["name"], "x") for p in operation.get("parameters", [])
                     if p["in"] == "query" and p.get("required")}
            found.append((method.upper(), path, query))
    return found


async def _snapshot(service: Service, objects: dict[str, str]) -> tuple[Any, ...]:
    async with service.engine.connect() as conn:
        account = (await conn.execute(select(broker_accounts).where(
            broker_accounts.c.id == objects["account"]))).one()
        order = (await conn.execute(select(broker_orders.c.status, broker_orders.c.version).where(
            broker_orders.c.id == objects["order"]))).one()
        sub = (await conn.execute(select(model_subscriptions.c.active).where(
            model_subscriptions.c.id == objects["subscription"]))).one()
    return (account.label, account.execution_mode, account.unlinked_at, tuple(order), tuple(sub))


async def test_every_object_route_hides_another_users_objects(service: Service) -> None:
    """Each route with an object id in its path answers 404 to another user and changes nothing."""
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as trader:
        objects = await _trader_objects(service, trader)
        await until(lambda: _settled(trader, objects["signal"]))
    before = await _snapshot(service, objects)
    routes = _object_routes(service)
    assert ("GET", "/v1/orders/{order_id}") in [(m, p) for m, p, _ in routes]  # the app's own table
    checked = 0
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers(service.other_token)) as other:
        for method, path, query in routes:
            if (method, path) in PUBLIC:
                continue
            names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
            unknown = [n for n in names if n not in OBJECTS]
            assert not unknown, f"{method} {path}: add its parameter {unknown} to OBJECTS in this test"
            url = path
            for name in names:
                url = url.replace("{" + name + "}", objects[OBJECTS[name]])
            body = BODIES.get((method, path), {}) if method in ("POST", "PUT", "PATCH") else None
            answer = await other.request(method, url, params=query, json=body)
            assert answer.status_code == 404, (method, path, answer.status_code, answer.text)
            assert objects[OBJECTS[names[0]]] not in answer.text or "no " in answer.text.lower()
            checked += 1
        # Objects named in the query string or the body, not the path.
        for method, url, body in (
            ("GET", f"/v1/risk/limits?account_id={objects['account']}", None),
            ("PUT", f"/v1/risk/limits?account_id={objects['account']}", {"max_order_notional": "1"}),
            ("POST", "/v1/killswitch", {"scope": "account", "account_id": objects["account"],
                                        "state": "halted", "reason": "probe"}),
            ("POST", "/v1/subscriptions", {"model_id": "m", "account_id": objects["account"],
                                           "sizing": "signal"}),
            ("POST", "/v1/signals", _signal("sec-probe", objects["account"])),
        ):
            answer = await other.request(method, url, json=body)
            assert answer.status_code == 404, (method, url, answer.status_code, answer.text)
        for url in (f"/v1/orders?account_id={objects['account']}",
                    f"/v1/fills?account_id={objects['account']}",
                    f"/v1/orders?signal_id={objects['signal']}"):
            answer = await other.get(url)
            assert answer.status_code in (200, 404), (url, answer.text)
            assert answer.status_code == 404 or answer.json()["items"] == [], (url, answer.text)
    assert checked >= 15
    assert await _snapshot(service, objects) == before


async def _settled(client: httpx.AsyncClient, signal_id: str) -> bool:
    statuses = [o["status"] for o in (await client.get(f"/v1/signals/{signal_id}")).json()["outcomes"]]
    return statuses == ["filled"]


def test_every_request_body_refuses_fields_it_does_not_define() -> None:
    """Every request body of the OpenAPI document forbids extra fields (mass-assignment probes get 422)."""
    from boltztrader.api.app import create_app
    from boltztrader.settings import load_settings
    from boltztrader.wiring import build_container

    app = create_app(build_container(load_settings({"BOLTZ_DATABASE_URL": "sqlite+aiosqlite:///:memory:"})))
    document = app.openapi()
    schemas = document["components"]["schemas"]
    bodies = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                schema = media["schema"]
                refs = [schema.get("$ref", "")] + [o.get("$ref", "") for o in schema.get("anyOf", [])]
                name = next((r for r in refs if r), "").rsplit("/", 1)[-1]
                assert name in schemas, (method, path, schema)
                assert schemas[name].get("additionalProperties") is False, f"{method} {path}: {name} is open"
                bodies.append((method, path))
    assert len(bodies) >= 8, bodies


async def test_mass_assignment_probes_are_refused_and_change_nothing(service: Service) -> None:
    """Server-owned fields sent by a client (user_id, status, filled_quantity, role, ...) answer 422."""
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as trader:
        objects = await _trader_objects(service, trader)
        await until(lambda: _settled(trader, objects["signal"]))
        before = await _snapshot(service, objects)
        for method, url, body in (
            ("PATCH", f"/v1/accounts/{objects['account']}", {"label": "x"}),
            ("POST", f"/v1/orders/{objects['order']}/decline", {"reason": "x"}),
            ("PATCH", f"/v1/subscriptions/{objects['subscription']}", {"active": True}),
            ("POST", "/v1/subscriptions", {"model_id": "m2", "sizing": "signal"}),
            ("POST", "/v1/signals", _signal("sec-2", objects["account"])),
            ("POST", "/v1/accounts/paper", {"broker": "binance"}),
        ):
            for field, value in PROBES.items():
                if field in body:  # the body's own field (a signal's id is the model's to choose)
                    continue
                answer = await trader.request(method, url, json={**body, field: value})
                # A signal may name a user to target: someone else's is not found, never taken.
                expected = 404 if (url, field) == ("/v1/signals", "user_id") else 422
                assert answer.status_code == expected, (method, url, field, answer.status_code, answer.text)
        assert await _snapshot(service, objects) == before


async def test_a_sentinel_secret_never_leaves_the_vault(service: Service,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """A linked account's secret is in no response, frame, log record or table, even while it trades."""
    caplog.set_level(logging.DEBUG)
    creds = admin(service.papers["binance"], "POST", "/_paper/accounts", json={"cash": {"USDT": "50000"}})
    sentinel = creds["api_secret"]
    seen: list[str] = []
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as trader:
        link = {"broker": "binance", "mode": "paper", "label": "sentinel", "api_key": creds["api_key"],
                "api_secret": sentinel}
        linked = await trader.post("/v1/accounts", json=link)
        seen.append(linked.text)
        assert linked.status_code == 201, linked.text
        account = linked.json()["id"]
        frames = asyncio.ensure_future(_frames(service, seconds=6))
        for request in (
            trader.post("/v1/signals", json=_signal("sec-3", account)),
            trader.get(f"/v1/accounts/{account}"), trader.get("/v1/accounts"),
            trader.post(f"/v1/accounts/{account}/check"), trader.get(f"/v1/accounts/{account}/balance"),
            trader.get("/v1/orders"), trader.get("/v1/audit"), trader.get("/v1/fills"),
            trader.post("/v1/accounts", json=link),  # a conflict: its error must not echo the secret
        ):
            seen.append((await request).text)
        await until(lambda: _settled(trader, "sec-3"))
        seen.extend(await frames)
    assert len(seen) > 10
    for text_seen in seen:
        assert sentinel not in text_seen
    assert all(sentinel not in record.getMessage() and sentinel not in str(record.args)
               for record in caplog.records)
    dump = await _dump(service)
    assert sentinel.encode() not in dump
    assert creds["api_key"].encode() in dump  # the dump does read the stored values


async def _frames(service: Service, *, seconds: float) -> list[str]:
    frames: list[str] = []
    url = service.url.replace("http://", "ws://") + "/v1/ws"
    async with websockets.connect(url) as socket:
        await socket.send(json.dumps({"type": "auth", "token": service.token}))
        await socket.send(json.dumps({"type": "resume", "after_seq": 0}))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            try:
                frame = await asyncio.wait_for(socket.recv(), deadline - loop.time())
            except TimeoutError:
                break
            frames.append(frame if isinstance(frame, str) else frame.decode())
    assert frames
    return frames


async def _dump(service: Service) -> bytes:
    async with service.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        chunks = []
        for table in tables:
            for row in await conn.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    chunks.append(value if isinstance(value, bytes) else str(value).encode())
    return b"\n".join(chunks)
