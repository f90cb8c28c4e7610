"""Checkpoints: the head (chain, seq, hash) of every chain at one moment, signed outside the database.

A chain that is rewritten consistently (every hash recomputed) verifies on its own; only a
record of its heads kept elsewhere, signed with a key the database never holds, exposes it.
This module is the checkpoint's *model* and file format; signing and signature checks are done
by callables the caller passes (the ``audit`` service uses Ed25519 from ``cryptography``).

File format (JSON, UTF-8)::

    {"format": "boltztrader.audit-checkpoint/1",
     "created_at": "2024-01-02T03:04:05.000006Z",
     "heads": [{"chain": "global", "hash": "<64 hex>", "seq": 42}, ...],   # sorted by chain
     "algorithm": "ed25519",
     "public_key_fingerprint": "sha256:<64 hex>",
     "signature": "<hex>"}

The signature covers :meth:`Checkpoint.signing_bytes`: the canonical JSON of the object with
only ``format``, ``created_at`` and ``heads``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from boltztrader.ledger.canonical import canonical_bytes, canonical_text, format_utc, parse_utc
from boltztrader.ledger.chain import ChainHead

FORMAT = "boltztrader.audit-checkpoint/1"
ALGORITHM = "ed25519"
_HEX = frozenset("0123456789abcdef")
T = TypeVar("T")


class MalformedCheckpoint(ValueError):
    """A checkpoint file that is not valid JSON of the expected shape."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Every chain's head at ``created_at``, sorted by chain name."""

    created_at: datetime
    heads: tuple[ChainHead, ...]

    @classmethod
    def of(cls, created_at: datetime, heads: Iterable[ChainHead]) -> Checkpoint:
        ordered = tuple(sorted(heads, key=lambda h: h.chain))
        names = [h.chain for h in ordered]
        if len(set(names)) != len(names):
            raise ValueError("a checkpoint holds one head per chain")
        return cls(created_at, ordered)

    def head(self, chain: str) -> ChainHead | None:
        """The recorded head of ``chain``, or None when the checkpoint does not know it."""
        for head in self.heads:
            if head.chain == chain:
                return head
        return None

    def body(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "created_at": format_utc(self.created_at),
            "heads": [{"chain": h.chain, "hash": h.hash, "seq": h.seq} for h in self.heads],
        }

    def signing_bytes(self) -> bytes:
        """The exact bytes a signature covers (canonical JSON of format, created_at, heads)."""
        return canonical_bytes(self.body())


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint with its signature and the fingerprint of the key that made it."""

    checkpoint: Checkpoint
    signature: bytes
    public_key_fingerprint: str
    algorithm: str = ALGORITHM

    def to_json(self) -> str:
        document = dict(self.checkpoint.body())
        document.update(algorithm=self.algorithm, public_key_fingerprint=self.public_key_fingerprint,
                        signature=self.signature.hex())
        return canonical_text(document) + "\n"

    def signature_valid(self, verify: Callable[[bytes, bytes], bool]) -> bool:
        """``verify(signature, message)`` on the signing bytes; True when it accepts them."""
        return verify(self.signature, self.checkpoint.signing_bytes())


def sign(checkpoint: Checkpoint, signer: Callable[[bytes], bytes], fingerprint: str) -> SignedCheckpoint:
    """Sign ``checkpoint`` with ``signer(message) -> signature``."""
    return SignedCheckpoint(checkpoint, signer(checkpoint.signing_bytes()), fingerprint)


def parse_checkpoint(text: str) -> SignedCheckpoint:
    """Read a checkpoint file's text; MalformedCheckpoint names what is wrong with it."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise MalformedCheckpoint(f"checkpoint is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise MalformedCheckpoint("checkpoint is not a JSON object")
    if document.get("format") != FORMAT:
        raise MalformedCheckpoint(f"checkpoint format is not {FORMAT!r}")
    if document.get("algorithm") != ALGORITHM:
        raise MalformedCheckpoint(f"checkpoint algorithm is not {ALGORITHM!r}")
    try:
        created_at = parse_utc(_field(document, "created_at", str))
        signature = bytes.fromhex(_field(document, "signature", str))
    except ValueError as exc:
        raise MalformedCheckpoint(f"checkpoint field is malformed: {exc}") from None
    fingerprint = _field(document, "public_key_fingerprint", str)
    raw_heads = _field(document, "heads", list)
    heads = [_head(item) for item in raw_heads]
    try:
        checkpoint = Checkpoint.of(created_at, heads)
    except ValueError as exc:
        raise MalformedCheckpoint(str(exc)) from None
    return SignedCheckpoint(checkpoint, signature, fingerprint)


def _field(document: Mapping[str, object], name: str, kind: type[T]) -> T:
    value = document.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MalformedCheckpoint(f"checkpoint field {name!r} is missing or not a {kind.__name__}")
    return value


def _head(item: object) -> ChainHead:
    if not isinstance(item, dict):
        raise MalformedCheckpoint("checkpoint head is not an object")
    chain = _field(item, "chain", str)
    seq = _field(item, "seq", int)
    digest = _field(item, "hash", str)
    if seq < 0 or len(digest) != 64 or not set(digest) <= _HEX:
        raise MalformedCheckpoint(f"checkpoint head of chain {chain!r} is malformed")
    return ChainHead(chain, seq, digest)
