"""Verify a hash chain in one streaming pass (constant memory) and name its first bad entry.

:class:`ChainVerifier` takes entries one at a time (so an async reader can feed it page by
page); :func:`verify_chain` runs it over any iterable. *Anchors* are (seq, hash) points the chain
must pass through — a signed checkpoint's head, or the ``audit_heads`` row read before the
scan — and catch what the chain alone cannot: a removed tail and a consistently rewritten chain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from boltztrader.ledger.canonical import is_canonical_object
from boltztrader.ledger.chain import GENESIS_HASH, AuditEntry, ChainHead


class ProblemKind(StrEnum):
    """Why an entry is bad."""

    SEQ_GAP = "seq gap"
    SEQ_ORDER = "seq out of order"
    WRONG_CHAIN = "entry of another chain"
    PREV_HASH_MISMATCH = "prev_hash mismatch"
    HASH_MISMATCH = "hash mismatch"
    PAYLOAD_NOT_CANONICAL = "payload not canonical"
    REWRITTEN = "rewritten"
    TAIL_MISSING = "tail missing"
    BEYOND_HEAD = "entry beyond the recorded head"


@dataclass(frozen=True, slots=True)
class Problem:
    """The first bad entry of a chain: its seq, the kind of fault and a one-line explanation."""

    chain: str
    seq: int
    kind: ProblemKind
    detail: str

    def __str__(self) -> str:
        return f"chain {self.chain!r}: first bad entry seq {self.seq}: {self.kind.value} ({self.detail})"


@dataclass(frozen=True, slots=True)
class Anchor:
    """A point the chain must pass through; ``source`` names where it came from in messages."""

    head: ChainHead
    source: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What one pass found: entries checked, the last good head, and the first problem if any."""

    chain: str
    entries: int
    head: ChainHead
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


class ChainVerifier:
    """Feed entries in seq order; stops at the first problem, remembers only the last entry."""

    def __init__(self, chain: str, *, anchors: Iterable[Anchor] = ()) -> None:
        self.chain = chain
        self._anchors = sorted((a for a in anchors if a.head.seq > 0), key=lambda a: a.head.seq)
        self._next_anchor = 0
        self._head = ChainHead(chain, 0, GENESIS_HASH)
        self._entries = 0
        self.problem: Problem | None = None

    @property
    def head(self) -> ChainHead:
        """The last entry that verified (seq 0 and GENESIS_HASH before the first)."""
        return self._head

    def feed(self, entry: AuditEntry) -> bool:
        """Check the next entry; False (and ``problem`` set) once the chain is known bad."""
        if self.problem is not None:
            return False
        self.problem = self._check(entry)
        if self.problem is not None:
            return False
        self._head = entry.head
        self._entries += 1
        self.problem = self._check_anchor(entry)
        return self.problem is None

    def finish(self, *, expected_head: ChainHead | None = None) -> VerifyResult:
        """The result after the last entry; ``expected_head`` is where the chain must end exactly."""
        if self.problem is None:
            self.problem = self._check_end(expected_head)
        return VerifyResult(self.chain, self._entries, self._head, self.problem)

    def _fault(self, seq: int, kind: ProblemKind, detail: str) -> Problem:
        return Problem(self.chain, seq, kind, detail)

    def _check(self, entry: AuditEntry) -> Problem | None:
        expected = self._head.seq + 1
        if entry.chain != self.chain:
            return self._fault(entry.seq, ProblemKind.WRONG_CHAIN, f"it says chain {entry.chain!r}")
        if entry.seq > expected:
            return self._fault(expected, ProblemKind.SEQ_GAP,
                               f"entry {expected} is missing, the next stored entry is {entry.seq}")
        if entry.seq < expected:
            return self._fault(entry.seq, ProblemKind.SEQ_ORDER,
                               f"seq {entry.seq} appears after seq {self._head.seq}")
        if not is_canonical_object(entry.payload):
            return self._fault(entry.seq, ProblemKind.PAYLOAD_NOT_CANONICAL,
                               "the stored payload is not canonical JSON")
        intact = entry.computed_hash() == entry.hash
        if entry.prev_hash != self._head.hash:
            if intact and self._head.seq > 0:
                # Entry n+1 is intact but chained to a different entry n: the earliest entry that can
                # be the rewritten one is n (or n+1 was rehashed with a forged link).
                return self._fault(self._head.seq, ProblemKind.REWRITTEN,
                                   f"entry {entry.seq} is intact but chained to a different entry "
                                   f"{self._head.seq}: one of them was rewritten")
            return self._fault(entry.seq, ProblemKind.PREV_HASH_MISMATCH,
                               f"prev_hash does not equal the hash of entry {self._head.seq}")
        if not intact:
            return self._fault(entry.seq, ProblemKind.HASH_MISMATCH,
                               "the stored hash does not match the entry's contents")
        return None

    def _check_anchor(self, entry: AuditEntry) -> Problem | None:
        while self._next_anchor < len(self._anchors):
            anchor = self._anchors[self._next_anchor]
            if anchor.head.seq > entry.seq:
                return None
            self._next_anchor += 1
            if anchor.head.seq == entry.seq and anchor.head.hash != entry.hash:
                return self._fault(entry.seq, ProblemKind.REWRITTEN,
                                   f"its hash differs from the one the {anchor.source} recorded")
        return None

    def _check_end(self, expected_head: ChainHead | None) -> Problem | None:
        last = self._head.seq
        for anchor in self._anchors[self._next_anchor:]:
            if anchor.head.seq > last:
                return self._fault(last + 1, ProblemKind.TAIL_MISSING,
                                   f"the chain ends at seq {last} but the {anchor.source} "
                                   f"recorded seq {anchor.head.seq}")
        if expected_head is None:
            return None
        if expected_head.seq > last:
            return self._fault(last + 1, ProblemKind.TAIL_MISSING,
                               f"the chain ends at seq {last} but its head is seq {expected_head.seq}")
        if expected_head.seq < last:
            return self._fault(expected_head.seq + 1, ProblemKind.BEYOND_HEAD,
                               f"the chain's head is seq {expected_head.seq} but entries go on to {last}")
        if expected_head.hash != self._head.hash:
            return self._fault(last, ProblemKind.REWRITTEN, "its hash differs from the chain's head")
        return None


def verify_chain(entries: Iterable[AuditEntry], *, expected_head: ChainHead | None = None,
                 checkpoint: ChainHead | None = None, chain: str | None = None) -> VerifyResult:
    """Verify entries of one chain, sorted by seq, in one streaming pass.

    ``expected_head`` is where the chain must end (the ``audit_heads`` row); ``checkpoint`` is a
    (seq, hash) the chain must pass through (a signed checkpoint's head). The chain's name comes
    from ``chain``, else either head, else the first entry.
    """
    iterator = iter(entries)
    first = next(iterator, None)
    name = chain or (expected_head or checkpoint or first or ChainHead("", 0, GENESIS_HASH)).chain
    anchors = [Anchor(checkpoint, "checkpoint")] if checkpoint is not None else []
    verifier = ChainVerifier(name, anchors=anchors)
    if first is not None and verifier.feed(first):
        for entry in iterator:
            if not verifier.feed(entry):
                break
    return verifier.finish(expected_head=expected_head)
