"""The API's bearer-token dependency: the right caller gets through, everyone else a 401 or 403 problem."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, WebSocket
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.accounts import users
from boltztrader.api.app import create_app
from boltztrader.api.auth import AdminPrincipal, CurrentPrincipal, websocket_principal
from boltztrader.settings import load_settings
from boltztrader.wiring import Container

from .helpers import disable

PROBLEM = "application/problem+json"


def build_app(engine: AsyncEngine, db_url: str) -> FastAPI:
    """The real app factory around the test's engine, plus three routes that use the dependencies."""
    app = create_app(Container(settings=load_settings({}, database_url=db_url), engine=engine))

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, Any]:
        return {"user_id": principal.user_id, "email": principal.email, "role": principal.role.value,
                "token_id": principal.token_id}

    @app.get("/admin-only")
    async def admin_only(principal: AdminPrincipal) -> dict[str, str]:
        return {"admin": principal.email}

    @app.websocket("/ws")
    async def stream(websocket: WebSocket) -> None:
        principal = await websocket_principal(websocket, wait_seconds=1.0)
        if principal is None:
            return
        await websocket.send_text(json.dumps({"email": principal.email}))
        await websocket.close()

    return app


@pytest.fixture
async def app(engine: AsyncEngine, db_url: str) -> FastAPI:
    return build_app(engine, db_url)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["status"] == 401
    assert body["type"] == "urn:boltztrader:problem:unauthenticated"
    assert body["title"]
    assert body["detail"]


async def test_a_valid_token_reaches_the_route_as_its_user(engine: AsyncEngine,
                                                          client: httpx.AsyncClient) -> None:
    """A request with a user's token reaches the route, which sees that user and token."""
    user, token = await users.create_user(engine, "ann@example.com")
    response = await client.get("/me", headers=bearer(token.reveal()))
    assert response.status_code == 200
    body = response.json()
    assert (body["user_id"], body["email"], body["role"]) == (user.id, "ann@example.com", "user")
    lower = await client.get("/me", headers={"Authorization": f"bearer {token.reveal()}"})
    assert lower.status_code == 200


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer btz_" + "A" * 43}, {"Authorization": "Bearer not-even-a-token"},
])
async def test_a_missing_or_wrong_token_is_a_401_problem(engine: AsyncEngine, client: httpx.AsyncClient,
                                                         headers: dict[str, str]) -> None:
    """No token, another scheme, or an unknown token: 401 problem+json with WWW-Authenticate: Bearer."""
    await users.create_user(engine, "bea@example.com")
    assert_unauthenticated(await client.get("/me", headers=headers))


async def test_a_revoked_token_is_a_401_problem(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    """A token works until revoked, and answers 401 from then on."""
    _, token = await users.create_user(engine, "cy@example.com")
    assert (await client.get("/me", headers=bearer(token.reveal()))).status_code == 200
    await users.revoke_token(engine, prefix=users.display_prefix(token.reveal()))
    assert_unauthenticated(await client.get("/me", headers=bearer(token.reveal())))


async def test_a_disabled_users_token_is_a_401_problem(engine: AsyncEngine,
                                                       client: httpx.AsyncClient) -> None:
    """Disabling a user turns their token's next request into a 401."""
    user, token = await users.create_user(engine, "di@example.com")
    await disable(engine, user.id)
    assert_unauthenticated(await client.get("/me", headers=bearer(token.reveal())))


async def test_an_admin_route_is_403_for_a_user_and_open_to_an_admin(engine: AsyncEngine,
                                                                    client: httpx.AsyncClient) -> None:
    """A user's valid token on an admin-only route is a 403 problem; an admin's token gets through."""
    _, user_token = await users.create_user(engine, "ed@example.com", "user")
    _, admin_token = await users.create_user(engine, "root@example.com", "admin")

    refused = await client.get("/admin-only", headers=bearer(user_token.reveal()))
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["type"] == "urn:boltztrader:problem:forbidden"
    assert user_token.reveal() not in refused.text

    allowed = await client.get("/admin-only", headers=bearer(admin_token.reveal()))
    assert allowed.status_code == 200
    assert allowed.json() == {"admin": "root@example.com"}
    assert_unauthenticated(await client.get("/admin-only"))


async def test_the_openapi_document_names_the_bearer_scheme(client: httpx.AsyncClient) -> None:
    """The OpenAPI document declares HTTP bearer authentication for the protected routes."""
    document = (await client.get("/openapi.json")).json()
    schemes = document["components"]["securitySchemes"].values()
    assert any(scheme["type"] == "http" and scheme["scheme"] == "bearer" for scheme in schemes)
    assert document["paths"]["/me"]["get"]["security"]


async def websocket_session(app: FastAPI, *, headers: dict[str, str] | None = None,
                            messages: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Drive one WebSocket connection through the ASGI app; returns what the app sent."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "websocket.connect"})
    for text in messages:
        await inbox.put({"type": "websocket.receive", "text": text})
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    raw_headers = [(b"host", b"test")]
    raw_headers += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    scope = {"type": "websocket", "asgi": {"version": "3.0", "spec_version": "2.3"}, "scheme": "ws",
             "http_version": "1.1", "path": "/ws", "raw_path": b"/ws", "query_string": b"",
             "root_path": "", "headers": raw_headers, "client": ("127.0.0.1", 50000),
             "server": ("test", 80), "subprotocols": [], "state": {}, "extensions": {}}
    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    return sent


async def test_a_websocket_authenticates_by_header_or_first_message(engine: AsyncEngine,
                                                                     app: FastAPI) -> None:
    """A WebSocket with the bearer header, or whose first message carries the token, is accepted."""
    _, token = await users.create_user(engine, "flo@example.com")

    by_header = await websocket_session(app, headers=bearer(token.reveal()))
    assert [m["type"] for m in by_header] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert json.loads(by_header[1]["text"]) == {"email": "flo@example.com"}

    hello = json.dumps({"type": "auth", "token": token.reveal()})
    by_message = await websocket_session(app, messages=(hello,))
    assert [m["type"] for m in by_message] == ["websocket.accept", "websocket.send", "websocket.close"]


@pytest.mark.parametrize(("headers", "messages", "accepted"), [
    ({"Authorization": "Bearer btz_" + "B" * 43}, (), False),
    (None, (json.dumps({"type": "auth", "token": "btz_" + "B" * 43}),), True),
    (None, ("not json",), True),
    (None, (), True),  # nothing within the wait
])
async def test_a_websocket_without_a_valid_token_is_closed_1008(
        engine: AsyncEngine, app: FastAPI, headers: dict[str, str] | None, messages: tuple[str, ...],
        accepted: bool) -> None:
    """A bad header is refused at the handshake; a bad, malformed or missing first message closes 1008."""
    await users.create_user(engine, "gil@example.com")
    sent = await websocket_session(app, headers=headers, messages=messages)
    assert [m["type"] for m in sent] == (["websocket.accept"] if accepted else []) + ["websocket.close"]
    assert sent[-1]["code"] == 1008
