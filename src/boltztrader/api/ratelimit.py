"""Per-caller request limits: a token bucket per API token (per client address without one).

Over the limit a request is answered 429, as problem JSON, with ``Retry-After`` (whole seconds
until a request would be admitted), before any route runs. Health and metrics probes are exempt.
Callers are told apart by a hash of their bearer token, so the limiter never holds a token itself.
The buckets live in this process: with several service processes each enforces its own share.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["RateLimit", "RateLimiter"]

EXEMPT = ("/healthz", "/metrics")
MAX_CALLERS = 100_000  # buckets kept; the least recently seen are dropped first


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``per_second`` requests a second on average, up to ``burst`` at once."""

    per_second: float = 20.0
    burst: int = 60


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated


class RateLimiter:
    """ASGI middleware enforcing one ``RateLimit`` per caller."""

    def __init__(self, app: ASGIApp, limit: RateLimit, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._app = app
        self._limit = limit
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT or self._limit.per_second <= 0:
            await self._app(scope, receive, send)
            return
        wait = self._take(_caller(scope))
        if wait <= 0:
            await self._app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        body = json.dumps({
            "type": "urn:boltztrader:problem:too-many-requests", "title": "Too many requests",
            "status": 429, "detail": f"This caller is over {self._limit.per_second:g} requests a second; "
                                     f"retry after {retry_after} s.",
        }).encode()
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"application/problem+json"), (b"retry-after", str(retry_after).encode()),
            (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def _take(self, caller: str) -> float:
        """Take one token; 0 when admitted, else seconds until one is available."""
        now = self._clock()
        bucket = self._buckets.get(caller)
        if bucket is None:
            bucket = self._buckets[caller] = _Bucket(float(self._limit.burst), now)
            if len(self._buckets) > MAX_CALLERS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(caller)
            bucket.tokens = min(float(self._limit.burst),
                                bucket.tokens + (now - bucket.updated) * self._limit.per_second)
            bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self._limit.per_second


def _caller(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"authorization" and value:
            return "t:" + hashlib.sha256(value).hexdigest()[:32]
    client = scope.get("client")
    return "a:" + (client[0] if client else "unknown")
