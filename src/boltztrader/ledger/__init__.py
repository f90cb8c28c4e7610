"""The audit ledger's pure core: canonical JSON, the hash chain, verification and checkpoints.

Standard library only and synchronous: callers pass the time and the data, and a signature
check as a callable, so the rules can be tested without a database or a crypto library.
"""

from __future__ import annotations

from boltztrader.ledger.canonical import canonical_bytes, canonical_text, format_utc, is_canonical_object
from boltztrader.ledger.chain import GENESIS_HASH, AuditEntry, ChainHead, entry_hash, genesis, next_entry
from boltztrader.ledger.checkpoint import (
    Checkpoint,
    MalformedCheckpoint,
    SignedCheckpoint,
    parse_checkpoint,
    sign,
)
from boltztrader.ledger.verify import Anchor, ChainVerifier, Problem, ProblemKind, VerifyResult, verify_chain

__all__ = [
    "GENESIS_HASH", "Anchor", "AuditEntry", "ChainHead", "ChainVerifier", "Checkpoint", "MalformedCheckpoint",
    "Problem", "ProblemKind", "SignedCheckpoint", "VerifyResult", "canonical_bytes", "canonical_text",
    "entry_hash", "format_utc", "genesis", "is_canonical_object", "next_entry", "parse_checkpoint", "sign",
    "verify_chain",
]
