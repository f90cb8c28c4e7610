"""verify_chain streams a chain and names its first bad entry and why."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from boltztrader.ledger import AuditEntry, ChainHead, ProblemKind, genesis, next_entry, verify_chain

T0 = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def build(n: int, chain: str = "global") -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    head = genesis(chain)
    for i in range(1, n + 1):
        entry = next_entry(head, recorded_at=T0 + timedelta(seconds=i), actor="api", action="order.placed",
                           entity="order", entity_id=f"o-{i}", payload={"i": i, "qty": Decimal("0.5")})
        entries.append(entry)
        head = entry.head
    return entries


def rehash(entry: AuditEntry, **changes: Any) -> AuditEntry:
    edited = dataclasses.replace(entry, **changes)
    return dataclasses.replace(edited, hash=edited.computed_hash())


def test_sound_chain_verifies() -> None:
    """An untouched chain verifies, counting every entry and ending at its last head."""
    entries = build(5)
    result = verify_chain(entries, expected_head=entries[-1].head)
    assert result.ok
    assert (result.entries, result.head) == (5, entries[-1].head)


def test_empty_chain_verifies_against_an_empty_head() -> None:
    """A chain with no entries verifies when its head says seq 0."""
    assert verify_chain([], expected_head=genesis("g")).ok


def test_missing_entry_is_a_seq_gap_naming_the_missing_seq() -> None:
    """Removing entry 3 reports a seq gap at seq 3."""
    entries = build(5)
    del entries[2]
    problem = verify_chain(entries).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (3, ProblemKind.SEQ_GAP)


def test_repeated_seq_is_out_of_order() -> None:
    """An entry whose seq repeats an earlier one is reported as out of order."""
    entries = build(3)
    problem = verify_chain([*entries, entries[1]]).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (2, ProblemKind.SEQ_ORDER)


def test_edited_payload_is_a_hash_mismatch_at_that_entry() -> None:
    """Changing a payload without recomputing the hash is reported at that entry's seq."""
    entries = build(5)
    entries[3] = dataclasses.replace(entries[3], payload=entries[3].payload.replace('"0.5"', '"9.5"'))
    problem = verify_chain(entries).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (4, ProblemKind.HASH_MISMATCH)


def test_edited_actor_is_detected() -> None:
    """Changing only the actor of an entry is reported at that entry's seq."""
    entries = build(3)
    entries[1] = dataclasses.replace(entries[1], actor="someone-else")
    problem = verify_chain(entries).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (2, ProblemKind.HASH_MISMATCH)


def test_non_canonical_payload_is_reported() -> None:
    """A payload stored with extra whitespace is reported as not canonical."""
    entries = build(3)
    entries[2] = rehash(entries[2], payload=entries[2].payload.replace(":", ": "))
    problem = verify_chain(entries).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (3, ProblemKind.PAYLOAD_NOT_CANONICAL)


def test_forged_prev_hash_is_a_prev_hash_mismatch() -> None:
    """An entry whose prev_hash was changed (its own hash left stale) is reported at its seq."""
    entries = build(4)
    entries[2] = dataclasses.replace(entries[2], prev_hash="f" * 64)
    problem = verify_chain(entries).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (3, ProblemKind.PREV_HASH_MISMATCH)


def test_entry_rewritten_with_its_own_hash_recomputed_is_named() -> None:
    """Rewriting entry 2 and recomputing only its hash is reported at seq 2, not at seq 3."""
    entries = build(4)
    entries[1] = rehash(entries[1], entity_id="forged")
    problem = verify_chain(entries).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (2, ProblemKind.REWRITTEN)


def test_entry_of_another_chain_is_reported() -> None:
    """An entry whose chain differs from the chain being verified is reported."""
    entries = build(2)
    problem = verify_chain([*entries, build(3, chain="other")[2]], chain="global").problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (3, ProblemKind.WRONG_CHAIN)


def test_removed_tail_is_detected_against_the_expected_head() -> None:
    """A chain that ends before its recorded head names the first missing seq."""
    entries = build(6)
    problem = verify_chain(entries[:4], expected_head=entries[-1].head).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (5, ProblemKind.TAIL_MISSING)


def test_entries_beyond_the_head_are_reported() -> None:
    """Entries after the recorded head are reported from the first one past it."""
    entries = build(5)
    problem = verify_chain(entries, expected_head=entries[2].head).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (4, ProblemKind.BEYOND_HEAD)


def test_head_with_another_hash_is_reported() -> None:
    """A head whose seq matches but whose hash does not is reported at that seq."""
    entries = build(3)
    problem = verify_chain(entries, expected_head=ChainHead("global", 3, "a" * 64)).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (3, ProblemKind.REWRITTEN)


def test_removed_tail_is_detected_against_a_checkpoint() -> None:
    """A chain shorter than a checkpoint's head names the first missing seq."""
    entries = build(5)
    problem = verify_chain(entries[:2], checkpoint=entries[3].head).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (3, ProblemKind.TAIL_MISSING)
    assert "checkpoint" in problem.detail


def test_consistent_rewrite_passes_alone_but_fails_against_a_checkpoint() -> None:
    """A chain rebuilt with recomputed hashes verifies on its own but not against a checkpoint."""
    original = build(5)
    forged: list[AuditEntry] = original[:1]
    for entry in original[1:]:
        forged.append(rehash(entry, prev_hash=forged[-1].hash, actor="forger"))
    assert verify_chain(forged).ok
    problem = verify_chain(forged, checkpoint=original[3].head).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (4, ProblemKind.REWRITTEN)


def test_chain_longer_than_its_checkpoint_verifies() -> None:
    """Entries appended after a checkpoint are fine: the checkpoint's head is still on the chain."""
    entries = build(6)
    assert verify_chain(entries, checkpoint=entries[2].head).ok


def test_verification_streams_and_stops_at_the_first_problem() -> None:
    """verify_chain pulls entries lazily and stops pulling at the first bad one."""
    entries = build(4)
    entries[1] = dataclasses.replace(entries[1], hash="0" * 64)
    pulled: list[int] = []

    def lazily() -> Iterator[AuditEntry]:
        for entry in entries:
            pulled.append(entry.seq)
            yield entry

    result = verify_chain(lazily())
    assert result.problem is not None
    assert pulled == [1, 2]
    assert (result.entries, result.head.seq) == (1, 1)


def test_problem_text_names_chain_seq_and_kind() -> None:
    """A problem's text names the chain, the first bad seq and the kind of fault."""
    entries = build(3, chain="user:42")
    entries[1] = dataclasses.replace(entries[1], hash="0" * 64)
    problem = verify_chain(entries).problem
    assert str(problem).startswith("chain 'user:42': first bad entry seq 2: hash mismatch")
