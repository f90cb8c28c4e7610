"""Kite login: request tokens, the checksum exchange, access tokens that die at 06:00 IST, logout.

A real user logs in on kite.zerodha.com and comes back with a ``request_token``; here the admin API
hands one out (``POST /_paper/accounts`` and ``POST /_paper/accounts/{api_key}/request_token``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, time, timedelta
from typing import Any

from aiohttp import web

from boltztrader.paper.kite import errors
from boltztrader.paper.kite.book import KiteAccount, Session, state_of
from boltztrader.paper.kite.wire import IST, ist
from boltztrader.paper.venue import PaperAccount, Venue

REQUEST_TOKEN_LIFETIME = timedelta(minutes=5)
EXPIRY_TIME = time(6, 0)


def checksum(*parts: str) -> str:
    """Kite's checksum: lowercase hex SHA-256 of the plain concatenation."""
    return hashlib.sha256("".join(parts).encode()).hexdigest()


def _token() -> str:
    return secrets.token_urlsafe(24).replace("-", "a").replace("_", "b")[:32]


def next_expiry(login: datetime) -> datetime:
    """The first 06:00 IST strictly after ``login``."""
    local = login.astimezone(IST)
    expiry = local.replace(hour=EXPIRY_TIME.hour, minute=0, second=0, microsecond=0)
    if expiry <= local:
        expiry += timedelta(days=1)
    return expiry


def issue_request_token(venue: Venue, account: PaperAccount) -> str:
    state = state_of(venue, account)
    now = venue.now()
    for token in [t for t, expiry in state.request_tokens.items() if expiry <= now]:
        del state.request_tokens[token]
    token = _token()
    state.request_tokens[token] = now + REQUEST_TOKEN_LIFETIME
    return token


def generate_session(venue: Venue, api_key: str, request_token: str, sent_checksum: str) -> dict[str, Any]:
    """``POST /session/token``: a single-use request token and its checksum -> the user session."""
    account = venue.by_api_key(api_key)
    if account is None:
        raise errors.token_error(errors.BAD_API_KEY)
    state = state_of(venue, account)
    now = venue.now()
    expiry = state.request_tokens.pop(request_token, None)
    if expiry is None or expiry <= now:
        raise errors.token_error(errors.EXPIRED_TOKEN)
    if not hmac.compare_digest(sent_checksum, checksum(api_key, request_token, account.api_secret)):
        raise errors.token_error(errors.BAD_CHECKSUM)
    session = Session(access_token=_token(), public_token=_token(), enctoken=secrets.token_urlsafe(48),
                      login_time=now, expires_at=next_expiry(now))
    state.sessions[session.access_token] = session
    return {
        **profile(state),
        "api_key": api_key,
        "access_token": session.access_token,
        "public_token": session.public_token,
        "enctoken": session.enctoken,
        "refresh_token": "",
        "silo": "",
        "login_time": ist(now),
    }


def profile(state: KiteAccount) -> dict[str, Any]:
    """``GET /user/profile`` (also the user part of the session payload)."""
    return {
        "user_id": state.user_id,
        "user_type": "individual",
        "email": f"{state.user_id.lower()}@paper.invalid",
        "user_name": f"Paper Trader {state.user_id}",
        "user_shortname": "Paper",
        "broker": "ZERODHA",
        "exchanges": ["NSE"],
        "products": ["CNC", "NRML", "MIS"],
        "order_types": ["MARKET", "LIMIT", "SL", "SL-M"],
        "avatar_url": None,
        "meta": {"demat_consent": "consent"},
    }


def logout(venue: Venue, api_key: str, access_token: str) -> bool:
    """``DELETE /session/token``: the token stops working at once."""
    account = venue.by_api_key(api_key)
    if account is None:
        raise errors.token_error()
    state_of(venue, account).sessions.pop(access_token, None)
    return True


def authenticate(request: web.Request, venue: Venue) -> tuple[PaperAccount, KiteAccount]:
    """Check ``Authorization: token api_key:access_token``; 403 TokenException otherwise."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    api_key, _, access_token = credentials.strip().partition(":")
    if scheme.lower() != "token" or not api_key or not access_token:
        raise errors.token_error()
    return check(venue, api_key, access_token)


def check(venue: Venue, api_key: str, access_token: str) -> tuple[PaperAccount, KiteAccount]:
    account = venue.by_api_key(api_key)
    if account is None:
        raise errors.token_error()
    state = state_of(venue, account)
    session = state.sessions.get(access_token)
    if session is None:
        raise errors.token_error()
    if venue.now() >= session.expires_at:
        del state.sessions[access_token]
        raise errors.token_error(errors.EXPIRED_TOKEN)
    return account, state
