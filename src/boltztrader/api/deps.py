"""What every route module shares: the running parts, and the one way lists are paged.

Routes reach the database only through the services and repositories below ``api`` (the
architecture's rule: the API never holds a database session of its own); they get the engine
and the trading runtime here.

Paging: ``?limit=`` (1..200, default 50) and ``?cursor=`` (opaque, from the previous page's
``next_cursor``); a page is ``{"items": [...], "next_cursor": "..." | null}``. A cursor encodes
the sort key of the last item returned (keyset paging: stable while rows are added).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.errors import ConfigError, InvalidInput
from boltztrader.wiring.runtime import Runtime

__all__ = ["Cursor", "Limit", "Page", "decode_cursor", "encode_cursor", "engine_of", "runtime_of"]

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page (1 to 200).")]
Cursor = Annotated[str | None, Query(max_length=400, description="next_cursor of the previous page.")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def engine_of(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.container.engine
    return engine


def runtime_of(request: Request) -> Runtime:
    """The trading runtime; 500 "not configured" when this process does not trade."""
    runtime: Runtime | None = request.app.state.container.runtime
    if runtime is None:
        raise ConfigError("trading is not running in this process")
    return runtime


def encode_cursor(key: list[Any]) -> str:
    """An opaque cursor for the sort key of the last item of a page (strings and numbers)."""
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """The sort key inside a cursor; InvalidInput (422) for anything we did not make."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidInput("cursor is not one this API returned", "cursor") from None
    if not isinstance(key, list):
        raise InvalidInput("cursor is not one this API returned", "cursor")
    return key
