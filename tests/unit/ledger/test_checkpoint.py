"""Checkpoints: canonical signing bytes, a strict file format, and signature checks by a callable."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from boltztrader.ledger import ChainHead, Checkpoint, MalformedCheckpoint, parse_checkpoint, sign

T0 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
HEADS = (ChainHead("user:2", 7, "b" * 64), ChainHead("global", 3, "a" * 64))
KEY = b"test-only-mac-key"


def signer(message: bytes) -> bytes:
    return hmac.new(KEY, message, hashlib.sha256).digest()


def verifier(signature: bytes, message: bytes) -> bool:
    return hmac.compare_digest(signature, signer(message))


def test_signing_bytes_do_not_depend_on_head_order() -> None:
    """Two checkpoints of the same heads given in different orders sign the same bytes."""
    assert Checkpoint.of(T0, HEADS).signing_bytes() == Checkpoint.of(T0, reversed(HEADS)).signing_bytes()


def test_signing_bytes_are_canonical_json_of_format_time_and_heads() -> None:
    """The signed bytes are the canonical JSON of format, created_at and the sorted heads."""
    body = json.loads(Checkpoint.of(T0, HEADS).signing_bytes())
    assert body == {"format": "boltztrader.audit-checkpoint/1", "created_at": "2024-05-06T07:08:09.000000Z",
                    "heads": [{"chain": "global", "hash": "a" * 64, "seq": 3},
                              {"chain": "user:2", "hash": "b" * 64, "seq": 7}]}


def test_file_round_trips_and_its_signature_verifies() -> None:
    """A signed checkpoint written to JSON parses back equal and its signature verifies."""
    signed = sign(Checkpoint.of(T0, HEADS), signer, "sha256:" + "c" * 64)
    parsed = parse_checkpoint(signed.to_json())
    assert parsed == signed
    assert parsed.signature_valid(verifier)
    assert parsed.checkpoint.head("user:2") == HEADS[0]


def test_altered_head_breaks_the_signature() -> None:
    """Changing one head's seq in the file makes the signature check fail."""
    document = json.loads(sign(Checkpoint.of(T0, HEADS), signer, "fp").to_json())
    document["heads"][0]["seq"] = 2
    assert not parse_checkpoint(json.dumps(document)).signature_valid(verifier)


def test_one_head_per_chain() -> None:
    """A checkpoint with two heads for the same chain is refused."""
    with pytest.raises(ValueError, match="one head per chain"):
        Checkpoint.of(T0, [HEADS[0], HEADS[0]])


@pytest.mark.parametrize(
    ("change", "message"),
    [({"format": "other/1"}, "format"), ({"algorithm": "rsa"}, "algorithm"),
     ({"created_at": "yesterday"}, "malformed"), ({"signature": "zz"}, "malformed"),
     ({"heads": "none"}, "heads"), ({"heads": [{"chain": "g", "seq": -1, "hash": "a" * 64}]}, "malformed"),
     ({"heads": [{"chain": "g", "seq": True, "hash": "a" * 64}]}, "seq"),
     ({"heads": [{"chain": "g", "seq": 1, "hash": "XYZ"}]}, "malformed"),
     ({"public_key_fingerprint": None}, "public_key_fingerprint")],
)
def test_malformed_files_are_refused_with_a_reason(change: dict[str, object], message: str) -> None:
    """Each kind of malformed checkpoint file raises MalformedCheckpoint naming what is wrong."""
    document = json.loads(sign(Checkpoint.of(T0, HEADS), signer, "fp").to_json())
    document.update(change)
    with pytest.raises(MalformedCheckpoint, match=message):
        parse_checkpoint(json.dumps(document))


@pytest.mark.parametrize("text", ["", "{", "[]", "null"])
def test_text_that_is_not_a_json_object_is_refused(text: str) -> None:
    """Empty, truncated or non-object text is a malformed checkpoint."""
    with pytest.raises(MalformedCheckpoint):
        parse_checkpoint(text)
