"""Ledger entries and their hash: every field is covered, and the byte layout is as documented."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from boltztrader.ledger import GENESIS_HASH, AuditEntry, ChainHead, entry_hash, genesis, next_entry

T0 = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)


def _entry(head: ChainHead | None = None, **payload: object) -> AuditEntry:
    return next_entry(head or genesis("global"), recorded_at=T0, actor="api", action="order.placed",
                      entity="order", entity_id="o-1", payload=payload or {"qty": Decimal("1.5")})


def test_hash_is_sha256_of_the_documented_byte_layout() -> None:
    """The hash is sha256(prev_hash, LF, seq, LF, canonical record with the payload as a string)."""
    entry = _entry()
    record = (b'{"action":"order.placed","actor":"api","chain":"global","entity":"order",'
              b'"entity_id":"o-1","payload":"{\\"qty\\":\\"1.5\\"}","recorded_at":"2024-01-02T03:04:05.000006Z"}')
    expected = hashlib.sha256(GENESIS_HASH.encode() + b"\n1\n" + record).hexdigest()
    assert entry.payload == '{"qty":"1.5"}'
    assert entry.hash == expected


def test_first_entry_follows_genesis() -> None:
    """The first entry of a chain has seq 1 and the all-zero prev_hash."""
    entry = _entry()
    assert (entry.seq, entry.prev_hash, entry.chain) == (1, "0" * 64, "global")


def test_next_entry_links_to_the_previous_hash() -> None:
    """Each entry's seq is the head's plus one and its prev_hash is the head's hash."""
    first = _entry()
    second = _entry(first.head)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert second.hash != first.hash


@pytest.mark.parametrize(
    ("field", "value"),
    [("chain", "user:1"), ("seq", 2), ("recorded_at", datetime(2024, 1, 2, 3, 4, 5, 7, tzinfo=UTC)),
     ("actor", "cli"), ("action", "order.cancelled"), ("entity", "account"), ("entity_id", "o-2"),
     ("payload", '{"qty":"1.6"}'), ("prev_hash", "1" * 64)],
)
def test_changing_any_field_changes_the_hash(field: str, value: Any) -> None:
    """Editing actor, action, time, chain or any other field makes the computed hash differ."""
    entry = _entry()
    edited = dataclasses.replace(entry, **{field: value})
    assert entry.computed_hash() == entry.hash
    assert edited.computed_hash() != entry.hash


def test_entry_hash_equals_computed_hash() -> None:
    """entry_hash over an entry's fields is the hash stored on it."""
    e = _entry()
    assert entry_hash(e.prev_hash, e.seq, chain=e.chain, recorded_at=e.recorded_at, actor=e.actor,
                      action=e.action, entity=e.entity, entity_id=e.entity_id, payload=e.payload) == e.hash


@pytest.mark.parametrize("payload", [{"api_secret": "x"}, {"order": {"Access-Token": "x"}},
                                     {"items": [{"password": "x"}]}])
def test_payload_naming_a_secret_is_refused(payload: dict[str, object]) -> None:
    """A payload key that names a secret, at any depth, is refused: secrets never enter the ledger."""
    with pytest.raises(ValueError, match="secret"):
        next_entry(genesis("g"), recorded_at=T0, actor="a", action="b", entity="c", entity_id="d",
                   payload=payload)


def test_payload_with_a_float_is_refused() -> None:
    """A float anywhere in the payload is refused with TypeError."""
    with pytest.raises(TypeError):
        _entry(price=1.5)
