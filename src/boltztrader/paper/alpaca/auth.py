"""Alpaca authentication (the ``APCA-API-*`` header pair) and the 200 requests/minute per-key limit.

Missing headers get 403 ``{"message": "forbidden."}`` (no code, as real Alpaca); a wrong pair gets
401 ``{"code": 40110000, ...}``. Every authenticated response carries ``X-Ratelimit-Limit``,
``X-Ratelimit-Remaining`` and ``X-Ratelimit-Reset`` (unix seconds when the window ends).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
import uuid
from dataclasses import dataclass

from aiohttp import web

from boltztrader.paper.alpaca import errors
from boltztrader.paper.venue import PaperAccount, Venue

KEY_HEADER = "APCA-API-KEY-ID"
SECRET_HEADER = "APCA-API-SECRET-KEY"  # noqa: S105 - a header name, not a secret
DEFAULT_PER_MINUTE = 200
_NAMESPACE = uuid.UUID("0b4f3c8a-2e7d-4f61-9a35-5c1d7e9b2a44")
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def credentials(account: PaperAccount) -> dict[str, str]:
    """How ``POST /_paper/accounts`` names an Alpaca account's keys."""
    return {"key_id": account.api_key, "secret_key": account.api_secret}


def authenticate(venue: Venue, key: str | None, secret: str | None) -> PaperAccount:
    """The account for a key pair: ``forbidden`` when a header is missing, 401 when the pair is wrong."""
    if not key or not secret:
        raise errors.forbidden()
    account = venue.by_api_key(key)
    if account is None or not hmac.compare_digest(account.api_secret, secret):
        raise errors.not_authorized()
    return ensure_identity(account)


def from_headers(venue: Venue, request: web.Request) -> PaperAccount:
    return authenticate(venue, request.headers.get(KEY_HEADER), request.headers.get(SECRET_HEADER))


def ensure_identity(account: PaperAccount) -> PaperAccount:
    """Give the account its Alpaca id (UUID) and paper account number (``PA`` + 10 characters) once."""
    if "alpaca_id" not in account.extra:
        account.extra["alpaca_id"] = str(uuid.uuid5(_NAMESPACE, account.account_id))
        digest = hashlib.sha256(account.account_id.encode()).digest()
        account.extra["account_number"] = "PA" + "".join(_ALNUM[b % len(_ALNUM)] for b in digest[:10])
    return account


@dataclass(slots=True)
class _Window:
    start: float
    count: int = 0


class RateLimiter:
    """A fixed one-minute window per API key (0 per minute: unlimited, headers still sent)."""

    def __init__(self, per_minute: int = DEFAULT_PER_MINUTE) -> None:
        self.per_minute = per_minute
        self._windows: dict[str, _Window] = {}

    def hit(self, key: str, now: float | None = None) -> tuple[bool, dict[str, str]]:
        """Count one request; (allowed, the X-Ratelimit headers to send)."""
        now = time.time() if now is None else now
        window = self._windows.get(key)
        if window is None or now >= window.start + 60:
            window = self._windows[key] = _Window(now)
        window.count += 1
        limit = self.per_minute
        allowed = limit <= 0 or window.count <= limit
        remaining = max(limit - window.count, 0) if limit > 0 else 0
        headers = {"X-Ratelimit-Limit": str(limit), "X-Ratelimit-Remaining": str(remaining),
                   "X-Ratelimit-Reset": str(math.ceil(window.start + 60))}
        return allowed, headers

    def reset(self) -> None:
        self._windows.clear()
