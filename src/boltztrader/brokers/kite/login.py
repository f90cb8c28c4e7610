"""Kite's login and postbacks: the login URL, the request-token exchange, postback checksums.

The user logs in on Kite's page (``login_url``) and comes back to the app's redirect URL with a
single-use ``request_token``; ``generate_session`` exchanges it (``POST /session/token`` with
``checksum = sha256(api_key + request_token + api_secret)``) for the day's access token, which
Kite kills at the next 06:00 IST. Postbacks carry ``checksum = sha256(order_id + order_timestamp +
api_secret)``; ``verify_postback`` refuses any that does not match.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from boltztrader.brokers.kite import wire
from boltztrader.brokers.kite.client import KiteClient
from boltztrader.brokers.kite.config import KiteConfig
from boltztrader.domain.secrets import Secret
from boltztrader.errors import BrokerProtocolError

EXPIRY = time(6, 0)  # IST


class InvalidPostback(BrokerProtocolError):
    """A postback whose checksum does not match (forged, or for another app): ignore it."""


@dataclass(frozen=True, slots=True)
class KiteSession:
    """The result of a login: the access token and the moment Kite will stop accepting it."""

    access_token: Secret
    expires_at: datetime
    user_id: str
    login_time: datetime


def checksum(*parts: str) -> str:
    """Kite's checksum: lowercase hex SHA-256 of the plain concatenation."""
    return hashlib.sha256("".join(parts).encode()).hexdigest()


def login_url(api_key: str, redirect_params: Mapping[str, str] | None = None,
              base: str = "https://kite.zerodha.com/connect/login") -> str:
    """Where to send the user to log in; ``redirect_params`` come back on the redirect URL."""
    query = {"api_key": api_key, "v": wire.VERSION}
    if redirect_params:
        query["redirect_params"] = urlencode(dict(redirect_params))
    return f"{base}?{urlencode(query)}"


def next_expiry(moment: datetime) -> datetime:
    """The first 06:00 IST strictly after ``moment`` (in UTC)."""
    local = moment.astimezone(wire.IST)
    expiry = local.replace(hour=EXPIRY.hour, minute=EXPIRY.minute, second=0, microsecond=0)
    if expiry <= local:
        expiry += timedelta(days=1)
    return expiry.astimezone(UTC)


async def generate_session(config: KiteConfig, request_token: str, *, client: KiteClient | None = None,
                           ) -> KiteSession:
    """Exchange a request token for the day's access token (``BrokerAuthError`` if Kite refuses)."""
    own = client is None
    http = client or KiteClient(config)
    try:
        body = urlencode({"api_key": config.api_key, "request_token": request_token,
                          "checksum": checksum(config.api_key, request_token, config.api_secret.reveal())})
        data = await http.public_post(http.session_token_url, body)
    finally:
        if own:
            await http.close()
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise BrokerProtocolError("zerodha POST /session/token: no access_token in the answer")
    login_time = wire.ist_time(data.get("login_time")) or datetime.now(UTC)
    user_id = data.get("user_id")
    return KiteSession(access_token=Secret(token), expires_at=next_expiry(login_time),
                       user_id=user_id if isinstance(user_id, str) else "", login_time=login_time)


def verify_postback(body: bytes, api_secret: Secret) -> dict[str, Any]:
    """The postback's order row if its checksum matches; ``InvalidPostback`` otherwise."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise InvalidPostback("zerodha postback: the body is not JSON") from None
    if not isinstance(payload, dict):
        raise InvalidPostback("zerodha postback: the body is not an object")
    order_id, stamp, sent = payload.get("order_id"), payload.get("order_timestamp"), payload.get("checksum")
    if not (isinstance(order_id, str) and isinstance(stamp, str) and isinstance(sent, str)):
        raise InvalidPostback("zerodha postback: order_id, order_timestamp or checksum missing")
    expected = checksum(order_id, stamp, api_secret.reveal())
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise InvalidPostback("zerodha postback: checksum mismatch")
    return payload
