"""Kite's daily login, the request-token exchange, for real Kite and the paper Kite alike.

The user logs in on Kite's page and comes back with a single-use ``request_token``; the app then
POSTs ``/session/token`` with ``checksum = sha256(api_key + request_token + api_secret)`` and gets
the day's ``access_token``, which Kite kills at the next 06:00 IST. The brokers.kite adapter has
its own copy of this exchange; this one lives with the account services, which may not import a
concrete broker package, and talks aiohttp directly.

Failures are classified once here: no connection is ``ConnectionFailed``; a lost answer or a 5xx
is ``BrokerDown`` (the request token may be spent: log in again); 429 is ``RateLimited``; any other
refusal is ``BrokerAuthError``; an answer without a token is ``BrokerProtocolError``. Messages
carry Kite's own error text and never the key's secret, the request token or the access token.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any, Final

import aiohttp

from boltztrader.domain.secrets import Secret
from boltztrader.errors import (
    BrokerAuthError,
    BrokerDown,
    BrokerProtocolError,
    ConnectionFailed,
    RateLimited,
)

KITE_API_ROOT: Final = "https://api.kite.trade"
KITE_VERSION: Final = "3"
IST: Final = timezone(timedelta(hours=5, minutes=30), "IST")  # India has no daylight saving time
SESSION_EXPIRY: Final = time(6, 0)  # IST: every access token dies at the next one
TIMEOUT_SECONDS: Final = 10.0  # the whole exchange; Kite's own client waits 7 s
_WHERE = "zerodha POST /session/token"
_MAX_MESSAGE = 200


@dataclass(frozen=True, slots=True)
class KiteLogin:
    """The day's session: the access token and when Kite stops accepting it (UTC)."""

    access_token: Secret
    expires_at: datetime
    user_id: str
    login_time: datetime | None  # as Kite reported it; None when the answer had none


def checksum(api_key: str, request_token: Secret, api_secret: Secret) -> str:
    """Kite's login checksum: lowercase hex SHA-256 of api_key + request_token + api_secret."""
    text = api_key + request_token.reveal() + api_secret.reveal()
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def kite_session_expiry(now: datetime) -> datetime:
    """The first 06:00 IST strictly after ``now``, in UTC: when a token issued at ``now`` dies."""
    if now.utcoffset() is None:
        raise ValueError("kite_session_expiry needs an aware datetime")
    local = now.astimezone(IST)
    expiry = local.replace(hour=SESSION_EXPIRY.hour, minute=SESSION_EXPIRY.minute, second=0, microsecond=0)
    if expiry <= local:
        expiry += timedelta(days=1)
    return expiry.astimezone(UTC)


async def exchange_request_token(session: aiohttp.ClientSession, *, api_key: str, request_token: Secret,
                                 api_secret: Secret, base_url: str = KITE_API_ROOT,
                                 now: datetime | None = None) -> KiteLogin:
    """POST ``/session/token`` at ``base_url`` and return the day's session.

    The expiry is counted from Kite's ``login_time`` (the broker's clock) when the answer has one,
    else from ``now`` (default: the wall clock).
    """
    if not api_key:
        raise ValueError("api_key is required")
    if not isinstance(request_token, Secret) or not isinstance(api_secret, Secret):
        raise TypeError("the request token and the api secret are Secret values")
    form = {"api_key": api_key, "request_token": request_token.reveal(),
            "checksum": checksum(api_key, request_token, api_secret)}
    url = base_url.rstrip("/") + "/session/token"
    status, body = await _post(session, url, form)
    data = _envelope_data(status, body)
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise BrokerProtocolError(f"{_WHERE}: the answer holds no access_token")
    login_time = _ist_time(data.get("login_time"))
    moment = login_time or now or datetime.now(UTC)
    user_id = data.get("user_id")
    return KiteLogin(access_token=Secret(token), expires_at=kite_session_expiry(moment),
                     user_id=user_id if isinstance(user_id, str) else "", login_time=login_time)


async def _post(session: aiohttp.ClientSession, url: str, form: dict[str, str]) -> tuple[int, bytes]:
    headers = {"X-Kite-Version": KITE_VERSION}
    limits = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    try:
        async with session.post(url, data=form, headers=headers, timeout=limits,
                                allow_redirects=False) as resp:
            return resp.status, await resp.read()
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
        raise ConnectionFailed(f"{_WHERE}: could not connect ({type(exc).__name__})") from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise BrokerDown(f"{_WHERE}: no complete answer ({type(exc).__name__}); "
                         "the request token may be spent: log in again") from None


def _envelope_data(status: int, body: bytes) -> dict[str, Any]:
    """The ``data`` of a success envelope; the error classes of the module docstring otherwise."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        if status >= 500:
            raise BrokerDown(f"{_WHERE}: HTTP {status}")
        raise BrokerProtocolError(f"{_WHERE}: HTTP {status} with a body that is not a JSON object")
    if parsed.get("status") == "error" or parsed.get("error_type") or status >= 400:
        raise _refusal(status, parsed)
    data = parsed.get("data")
    if not isinstance(data, dict):
        raise BrokerProtocolError(f"{_WHERE}: the answer has no data object")
    return data


def _refusal(status: int, body: dict[str, Any]) -> Exception:
    error_type = str(body.get("error_type") or "error")[:_MAX_MESSAGE]
    message = str(body.get("message") or "")[:_MAX_MESSAGE]
    text = f"{_WHERE}: HTTP {status} {error_type}: {message}".rstrip(": ")
    if status == 429:
        return RateLimited(text)
    if status >= 500:
        return BrokerDown(text)
    return BrokerAuthError(text)


def _ist_time(raw: object) -> datetime | None:
    """A Kite timestamp (``yyyy-mm-dd hh:mm:ss``, IST) as an aware UTC datetime; None if absent or odd."""
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.strptime(raw.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return moment.replace(tzinfo=IST).astimezone(UTC)
