"""The audit ledger's entries and their hash chain.

Each chain (``"global"``, or a partition such as ``"user:<id>"``) is a gapless sequence
``seq = 1, 2, 3, ...``. Entry ``n`` stores the hash of entry ``n - 1`` as ``prev_hash``
(entry 1 stores :data:`GENESIS_HASH`) and its own ``hash``, computed as follows.

Hash byte layout (format version 1) — ``hash = sha256(M).hexdigest()`` (64 lowercase hex
characters), where ``M`` is the concatenation of:

1. ``prev_hash`` as 64 ASCII bytes (lowercase hex);
2. the byte ``0x0A`` (``"\\n"``);
3. ``seq`` in decimal ASCII digits, no sign, no leading zeros;
4. the byte ``0x0A``;
5. the canonical JSON (see :mod:`boltztrader.ledger.canonical`) of the object
   ``{"action", "actor", "chain", "entity", "entity_id", "payload", "recorded_at"}``
   (keys in this sorted order), where ``payload`` is the entry's canonical payload *text*
   embedded as a JSON string (so the hash covers its exact bytes) and ``recorded_at`` is
   ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.

Example — entry 1 of chain ``global`` with payload ``{"qty":"1.5"}`` hashes these bytes
(``0…0`` is 64 zeros; the payload's quotes are escaped because it is embedded as a string)::

    0…0
    1
    {"action":"order.placed","actor":"api","chain":"global","entity":"order","entity_id":"o-1",
      "payload":"{\\"qty\\":\\"1.5\\"}","recorded_at":"2024-01-02T03:04:05.000006Z"}

(the JSON is one line, wrapped here; no newline follows it). ``tests/unit/ledger/test_chain.py`` checks it.

``prev_hash`` and ``seq`` come first at fixed framing, and every other field is inside one
canonical object, so changing any field (actor, action, time, chain...) changes the hash.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from boltztrader.ledger.canonical import canonical_bytes, canonical_text, format_utc

GENESIS_HASH = "0" * 64

# Payload keys that name a secret: such a payload is refused, secrets never enter the ledger.
SECRET_KEYS = frozenset({
    "password", "passwd", "passphrase", "secret", "apisecret", "clientsecret", "accesstoken",
    "refreshtoken", "requesttoken", "sessiontoken", "token", "privatekey", "masterkey", "totp", "otp",
    "pin",
})


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last entry of a chain as (chain, seq, hash); seq 0 and GENESIS_HASH for an empty chain."""

    chain: str
    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One ledger entry exactly as stored; ``payload`` is canonical JSON text."""

    chain: str
    seq: int
    recorded_at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    payload: str
    prev_hash: str
    hash: str

    def computed_hash(self) -> str:
        """The hash this entry's fields produce (equal to ``hash`` when it is intact)."""
        return entry_hash(self.prev_hash, self.seq, chain=self.chain, recorded_at=self.recorded_at,
                          actor=self.actor, action=self.action, entity=self.entity,
                          entity_id=self.entity_id, payload=self.payload)

    @property
    def head(self) -> ChainHead:
        return ChainHead(self.chain, self.seq, self.hash)


def entry_hash(prev_hash: str, seq: int, *, chain: str, recorded_at: datetime, actor: str, action: str,
               entity: str, entity_id: str, payload: str) -> str:
    """sha256 over ``prev_hash``, ``seq`` and every other field, laid out as the module describes."""
    record = canonical_bytes({
        "action": action, "actor": actor, "chain": chain, "entity": entity, "entity_id": entity_id,
        "payload": payload, "recorded_at": format_utc(recorded_at),
    })
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(b"\n%d\n" % seq)
    digest.update(record)
    return digest.hexdigest()


def next_entry(head: ChainHead, *, recorded_at: datetime, actor: str, action: str, entity: str,
               entity_id: str, payload: Mapping[str, object]) -> AuditEntry:
    """The entry that follows ``head`` on its chain, with canonical payload and computed hash.

    TypeError when the payload has no canonical form; ValueError when it holds a secret-named key.
    """
    secret = find_secret_key(payload)
    if secret is not None:
        raise ValueError(f"payload key {secret!r} names a secret: secrets never enter the audit ledger")
    text = canonical_text(payload)
    if not text.startswith("{"):
        raise TypeError("an audit payload is a JSON object (a Mapping)")
    seq = head.seq + 1
    digest = entry_hash(head.hash, seq, chain=head.chain, recorded_at=recorded_at, actor=actor,
                        action=action, entity=entity, entity_id=entity_id, payload=text)
    return AuditEntry(chain=head.chain, seq=seq, recorded_at=recorded_at, actor=actor, action=action,
                      entity=entity, entity_id=entity_id, payload=text, prev_hash=head.hash, hash=digest)


def genesis(chain: str) -> ChainHead:
    """The head of an empty chain."""
    return ChainHead(chain, 0, GENESIS_HASH)


def find_secret_key(value: object) -> str | None:
    """The first key anywhere in ``value`` whose name (case, ``_`` and ``-`` ignored) is a secret's."""
    kind = type(value)
    if kind is dict or (kind is not list and kind is not tuple and isinstance(value, Mapping)):
        for key, item in value.items():  # type: ignore[attr-defined]
            if isinstance(key, str) and _is_secret_name(key):
                return key
            if type(item) in _SCALARS:
                continue
            found = find_secret_key(item)
            if found is not None:
                return found
    elif kind is list or kind is tuple or isinstance(value, list | tuple):
        for item in value:  # type: ignore[attr-defined]
            if type(item) in _SCALARS:
                continue
            found = find_secret_key(item)
            if found is not None:
                return found
    return None


_SCALARS = frozenset({str, int, bool, type(None), Decimal, datetime})


@functools.lru_cache(maxsize=4096)  # payload keys repeat from entry to entry
def _is_secret_name(key: str) -> bool:
    return key.lower().replace("_", "").replace("-", "") in SECRET_KEYS
