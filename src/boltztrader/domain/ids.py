"""Identifiers: our own record ids, and the client order id that makes a send idempotent.

Record ids are UUIDv7 (RFC 9562) written as 32 lowercase hex digits. Time-ordered ids keep
database index inserts at the right-hand edge of the B-tree (random UUIDv4 scatter them), sort in
creation order in logs and listings, and still carry 74 random bits, so two processes never need
to coordinate. Python 3.11 has no ``uuid.uuid7``, so it is built here. Order within one millisecond
is not guaranteed; nothing may depend on it.

The client order id is *not* random: it is a pure function of (signal id, account id). Retrying
the same intent after a crash therefore produces the same id, and the broker's duplicate check
(or our lookup by client order id) stops a second order.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta

__all__ = [
    "ALPACA_CLIENT_ORDER_ID_MAX",
    "BINANCE_CLIENT_ORDER_ID",
    "CLIENT_ORDER_ID_PREFIX",
    "KITE_TAG",
    "client_order_id",
    "id_timestamp",
    "kite_tag",
    "new_id",
]

CLIENT_ORDER_ID_PREFIX = "bz"
# Binance newClientOrderId: the strictest of the three brokers, so our ids are built to fit it.
BINANCE_CLIENT_ORDER_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
ALPACA_CLIENT_ORDER_ID_MAX = 128
# Kite has no client order id; its ``tag`` is alphanumeric and at most 20 characters.
KITE_TAG = re.compile(r"^[A-Za-z0-9]{1,20}$")

_DIGEST_CHARS = 30  # 120 bits: a collision among even billions of intents is out of reach
_OUR_COID = re.compile(rf"^{CLIENT_ORDER_ID_PREFIX}[0-9a-f]{{{_DIGEST_CHARS}}}$")
_KITE_TAG_LEN = 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def new_id(*, at: datetime | None = None, random_bits: int | None = None) -> str:
    """A new UUIDv7 as 32 hex digits; ``at`` and ``random_bits`` exist so tests can pin the output."""
    moment = datetime.now(UTC) if at is None else at
    if moment.tzinfo is None:
        raise ValueError("new_id needs an aware datetime")
    millis = (moment - _EPOCH) // timedelta(milliseconds=1)
    if not 0 <= millis < 1 << 48:
        raise ValueError(f"timestamp out of UUIDv7 range: {moment.isoformat()}")
    rand = secrets.randbits(74) if random_bits is None else random_bits
    if not 0 <= rand < 1 << 74:
        raise ValueError("random_bits must fit in 74 bits")
    value = millis << 80 | 0x7 << 76 | (rand >> 62) << 64 | 0b10 << 62 | (rand & ((1 << 62) - 1))
    return uuid.UUID(int=value).hex


def id_timestamp(record_id: str) -> datetime:
    """The creation time (millisecond precision, UTC) embedded in an id made by ``new_id``."""
    parsed = uuid.UUID(hex=record_id)
    if parsed.version != 7:
        raise ValueError(f"not a UUIDv7 id: {record_id!r}")
    return _EPOCH + timedelta(milliseconds=parsed.int >> 80)


def _require_text(value: str, name: str) -> str:
    if not isinstance(value, str) or not value or value.strip() != value:
        raise ValueError(f"{name} must be non-empty text without surrounding spaces, got {value!r}")
    return value


def client_order_id(signal_id: str, account_id: str) -> str:
    """The deterministic client order id of one (signal, account) intent: ``bz`` + 30 hex digits.

    32 characters of ``[a-z0-9]`` satisfy Binance (<= 36, its regex), Alpaca (<= 128) and any log or
    URL. The hash input is length-prefixed so ``("a|b", "c")`` and ``("a", "b|c")`` cannot collide.
    """
    _require_text(signal_id, "signal_id")
    _require_text(account_id, "account_id")
    material = f"boltztrader.coid.v1\n{len(signal_id)}:{signal_id}\n{len(account_id)}:{account_id}"
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()
    return CLIENT_ORDER_ID_PREFIX + digest[:_DIGEST_CHARS]


def kite_tag(coid: str) -> str:
    """A <= 20 character alphanumeric Kite tag derived from a client order id.

    For our own ids the tag is simply their first 20 characters (``bz`` + 72 bits of the hash), so
    an operator can match tag to id by eye. Any other id is hashed first, so the tag is still
    alphanumeric and deterministic.
    """
    _require_text(coid, "client_order_id")
    if _OUR_COID.fullmatch(coid):
        return coid[:_KITE_TAG_LEN]
    digest = hashlib.sha256(f"boltztrader.kitetag.v1\n{coid}".encode()).hexdigest()
    return CLIENT_ORDER_ID_PREFIX + digest[: _KITE_TAG_LEN - len(CLIENT_ORDER_ID_PREFIX)]
