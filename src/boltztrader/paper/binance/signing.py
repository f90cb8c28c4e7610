"""Signed requests: parameters from the raw query and body, the HMAC over the bytes as received, and
the timestamp window.

``totalParams`` is the raw query string (signature pair removed) followed directly by the raw body
(signature pair removed), byte for byte: never re-sorted or re-encoded, because every client places
and orders its parameters differently. Parameters are the body's merged with the query's; the query
wins a clash. The body is parsed as form data whatever its Content-Type.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote_plus, urlencode

from aiohttp import web

from boltztrader.paper.binance import errors
from boltztrader.paper.binance.errors import BinanceError
from boltztrader.paper.venue import PaperAccount, Venue

DEFAULT_RECV_WINDOW = Decimal(5000)
MAX_RECV_WINDOW = Decimal(60000)
_KEY_FORMAT = re.compile(r"^[A-Za-z0-9]{1,128}$")
_DIGITS = re.compile(r"^[0-9]{1,20}$")
_RECV = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,3})?$")


@dataclass(frozen=True, slots=True)
class Params:
    """The request's parameters (decoded) and the exact bytes a signature must cover."""

    values: dict[str, str]
    payload: bytes
    signature: str | None


def split_pairs(raw: bytes) -> tuple[dict[str, str], bytes, str | None]:
    """Decode ``k=v&...`` form data: the values, the raw bytes minus the signature pair, the signature."""
    values: dict[str, str] = {}
    kept: list[bytes] = []
    signature: str | None = None
    if not raw:
        return values, b"", None
    for pair in raw.split(b"&"):
        if not pair:
            continue
        key_raw, _, value_raw = pair.partition(b"=")
        key = unquote_plus(key_raw.decode("utf-8", "replace"))
        value = unquote_plus(value_raw.decode("utf-8", "replace"))
        if key == "signature":
            if signature is not None:
                raise errors.duplicate_param()
            signature = value
            continue
        if key in values:
            raise errors.duplicate_param()
        values[key] = value
        kept.append(pair)
    return values, b"&".join(kept), signature


async def read_params(request: web.Request) -> Params:
    """Merge query and body parameters (the query wins) and keep the signed bytes."""
    query_values, query_payload, query_sig = split_pairs(request.raw_path.partition("?")[2].encode("latin-1"))
    body = await request.read() if request.can_read_body else b""
    body_values, body_payload, body_sig = split_pairs(body)
    merged = {**body_values, **query_values}
    return Params(merged, query_payload + body_payload, query_sig if query_sig is not None else body_sig)


def api_account(venue: Venue, headers: Mapping[str, str]) -> PaperAccount:
    """The account of the ``X-MBX-APIKEY`` header: -2014 when absent or malformed, -2015 when unknown."""
    key = headers.get("X-MBX-APIKEY", "")
    if not _KEY_FORMAT.match(key):
        raise BinanceError(-2014, errors.KEY_FORMAT, status=401)
    account = venue.by_api_key(key)
    if account is None:
        raise BinanceError(-2015, errors.KEY_REJECTED, status=401)
    return account


def sign(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def check_signed(
    venue: Venue, account: PaperAccount, values: Mapping[str, str], payload: bytes, signature: str | None
) -> None:
    """Signature and timestamp checks, in Binance's order; raise the exact error on failure."""
    if not signature:
        raise errors.mandatory("signature")
    raw_ts = values.get("timestamp")
    if not raw_ts:
        raise errors.mandatory("timestamp")
    if not _DIGITS.match(raw_ts):
        raise errors.illegal_chars("timestamp", errors.INT_RANGE)
    if not hmac.compare_digest(sign(account.api_secret, payload), signature.lower()):
        raise BinanceError(-1022, errors.BAD_SIGNATURE)
    check_timestamp(venue, values)


def check_timestamp(venue: Venue, values: Mapping[str, str]) -> None:
    raw_window = values.get("recvWindow")
    window = DEFAULT_RECV_WINDOW
    if raw_window:
        if not _RECV.match(raw_window):
            raise errors.illegal_chars("recvWindow", errors.DECIMAL_RANGE)
        try:
            window = Decimal(raw_window)
        except InvalidOperation:
            raise errors.illegal_chars("recvWindow", errors.DECIMAL_RANGE) from None
        if window > MAX_RECV_WINDOW:
            raise errors.too_large("recvWindow", "60000")
    stamp = Decimal(values["timestamp"])
    if stamp >= Decimal(10) ** 14:  # microseconds
        stamp = stamp / 1000
    now = Decimal(epoch_ms(venue))
    if stamp >= now + 1000:
        raise BinanceError(-1021, errors.TS_AHEAD)
    if now - stamp > window:
        raise BinanceError(-1021, errors.TS_OUTSIDE)


def epoch_ms(venue: Venue) -> int:
    return int(venue.now().timestamp() * 1000)


async def signed(request: web.Request, venue: Venue) -> tuple[PaperAccount, dict[str, str]]:
    """Authenticate a TRADE / USER_DATA request; return its account and merged parameters."""
    account = api_account(venue, request.headers)
    params = await read_params(request)
    check_signed(venue, account, params.values, params.payload, params.signature)
    return account, params.values


def ws_signature_ok(secret: str, params: Mapping[str, object], signature: str) -> bool:
    """WebSocket API signatures cover the params sorted by name as ``k=v&...`` (signature excluded)."""
    pairs = [(k, _ws_text(v)) for k, v in sorted(params.items()) if k != "signature"]
    wanted = signature.lower()
    for payload in ("&".join(f"{k}={v}" for k, v in pairs), urlencode(pairs)):
        if hmac.compare_digest(sign(secret, payload.encode()), wanted):
            return True
    return False


def _ws_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
