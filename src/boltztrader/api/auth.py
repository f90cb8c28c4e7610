"""Who is calling: API tokens on HTTP requests and WebSockets.

HTTP: ``Authorization: Bearer <token>``. Routes take ``CurrentPrincipal`` (any valid token) or
``AdminPrincipal`` (an admin's token); a missing, unknown or revoked token, or a disabled user,
answers 401 with ``WWW-Authenticate: Bearer``, a non-admin on an admin route 403, both as
problems (``api.problems`` must be installed).

WebSocket: ``websocket_principal`` reads the same ``Authorization`` header at the handshake. A
browser cannot set that header, so without it the first message must be the token, as text
``{"type": "auth", "token": "btz_..."}``, within ``WS_AUTH_TIMEOUT_SECONDS``. A query parameter is
not offered: query strings end up in access logs, and a token must not.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, cast

from fastapi import Depends, Request, WebSocket, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketState

from boltztrader.accounts.users import Principal, authenticate
from boltztrader.errors import AuthError, Forbidden

__all__ = ["AdminPrincipal", "CurrentPrincipal", "current_principal", "require_admin", "websocket_principal"]

WS_AUTH_TIMEOUT_SECONDS = 10.0
MISSING = "this endpoint needs an API token: send Authorization: Bearer <token>"
INVALID = "the API token is not valid: unknown, revoked, or its user is disabled"

# auto_error=False: we answer a missing token ourselves, as a problem; the scheme also puts the
# bearer requirement into the OpenAPI document.
bearer_scheme = HTTPBearer(auto_error=False, description="An API token from `boltz users create` or "
                                                        "`boltz users token`.")


def _engine(connection: HTTPConnection) -> AsyncEngine:
    return cast(AsyncEngine, connection.app.state.container.engine)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The caller behind the request's bearer token; AuthError (401) when there is none valid."""
    if credentials is None:
        raise AuthError(MISSING)
    principal = await authenticate(_engine(request), credentials.credentials)
    if principal is None:
        raise AuthError(INVALID)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def require_admin(principal: CurrentPrincipal) -> Principal:
    """The caller, if an admin; Forbidden (403) for any other valid token."""
    if not principal.is_admin:
        raise Forbidden("this action needs an admin's API token")
    return principal


AdminPrincipal = Annotated[Principal, Depends(require_admin)]


async def websocket_principal(websocket: WebSocket, *,
                              wait_seconds: float = WS_AUTH_TIMEOUT_SECONDS) -> Principal | None:
    """Authenticate a WebSocket, then accept it; or close it (1008) and return None.

    On a Principal the socket is accepted; on None it is closed (or the client left) and the
    caller simply returns. Without the header, the first message must arrive within ``wait_seconds``.
    """
    header = websocket.headers.get("authorization")
    if header is not None:
        scheme, token = get_authorization_scheme_param(header)
        principal = await authenticate(_engine(websocket), token) if scheme.lower() == "bearer" else None
        if principal is None:
            await _reject(websocket, INVALID)
            return None
        await websocket.accept()
        return principal
    await websocket.accept()
    presented = await _first_message_token(websocket, wait_seconds)
    principal = None if presented is None else await authenticate(_engine(websocket), presented)
    if principal is None:
        await _reject(websocket, MISSING if presented is None else INVALID)
    return principal


async def _first_message_token(websocket: WebSocket, wait_seconds: float) -> str | None:
    try:
        message = await asyncio.wait_for(websocket.receive(), wait_seconds)
    except TimeoutError:
        return None
    if message["type"] != "websocket.receive" or not message.get("text"):
        return None
    try:
        data: Any = json.loads(message["text"])
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("type") == "auth" and isinstance(data.get("token"), str):
        return cast(str, data["token"])
    return None


async def _reject(websocket: WebSocket, reason: str) -> None:
    if websocket.client_state is not WebSocketState.DISCONNECTED:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=reason)
