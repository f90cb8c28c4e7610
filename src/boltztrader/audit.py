"""The audit service: verify the whole ledger, and sign checkpoints of it with Ed25519.

The signing key lives outside the database (a file, mode 0600). A checkpoint records every
chain's head; verifying against it later exposes a removed tail or a chain rewritten with
recomputed hashes, which the chain alone cannot show.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db.audit import list_chains, read_head, read_heads, stream_entries
from boltztrader.errors import ConfigError, LedgerIntegrityError
from boltztrader.ledger import (
    Anchor,
    ChainHead,
    ChainVerifier,
    Checkpoint,
    MalformedCheckpoint,
    Problem,
    SignedCheckpoint,
    parse_checkpoint,
    sign,
)

PRIVATE_KEY_NAME = "audit_ed25519.key"
PUBLIC_KEY_NAME = "audit_ed25519.pub"


@dataclass(frozen=True, slots=True)
class ChainReport:
    """One chain's verification: entries that verified, its last good head, its first problem."""

    chain: str
    entries: int
    head: ChainHead
    problem: Problem | None


@dataclass(frozen=True, slots=True)
class LedgerReport:
    """The whole ledger's verification; ``checkpoint_problem`` is set when the checkpoint is untrusted."""

    chains: tuple[ChainReport, ...]
    checkpoint: Checkpoint | None = None
    checkpoint_problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.checkpoint_problem is None and all(c.problem is None for c in self.chains)

    @property
    def entries(self) -> int:
        return sum(c.entries for c in self.chains)

    @property
    def problems(self) -> list[Problem]:
        return [c.problem for c in self.chains if c.problem is not None]

    def first_failure(self) -> str | None:
        """One line naming what is wrong first (the checkpoint, else the first bad chain), or None."""
        if self.checkpoint_problem is not None:
            return self.checkpoint_problem
        problems = self.problems
        return str(problems[0]) if problems else None


# -- keys -----------------------------------------------------------------------------------------

def generate_keypair(out_dir: Path) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair to ``out_dir``; the private key file gets mode 0600.

    Refuses (FileExistsError) to overwrite an existing key.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    private_path, public_path = out_dir / PRIVATE_KEY_NAME, out_dir / PUBLIC_KEY_NAME
    if public_path.exists():
        raise FileExistsError(f"{public_path} already exists; not overwriting a key")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    # O_EXCL with mode 0600 from the start: the key is never readable by others, not even briefly.
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    public_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in PEM file ``path``; ConfigError when it is not one."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in PEM file ``path``; ConfigError when it is not one."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path} is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{path} is not an Ed25519 public key")
    return key


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """``sha256:`` and the hex sha256 of the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def check_signature(signed: SignedCheckpoint, public_key: Ed25519PublicKey) -> str | None:
    """None when ``public_key`` made the checkpoint's signature, else why it is not trusted."""
    if signed.public_key_fingerprint != fingerprint(public_key):
        return (f"checkpoint was signed by key {signed.public_key_fingerprint}, "
                f"not by the given public key {fingerprint(public_key)}")

    def verify(signature: bytes, message: bytes) -> bool:
        try:
            public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    if not signed.signature_valid(verify):
        return "checkpoint signature is invalid: the checkpoint was altered or forged"
    return None


def read_checkpoint(path: Path) -> SignedCheckpoint:
    """The signed checkpoint in file ``path``; ConfigError when it is unreadable or malformed."""
    try:
        return parse_checkpoint(path.read_text(encoding="utf-8"))
    except (MalformedCheckpoint, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


# -- verification ---------------------------------------------------------------------------------

async def verify_ledger(engine: AsyncEngine, *, checkpoint: SignedCheckpoint | None = None,
                        public_key: Ed25519PublicKey | None = None, batch_size: int = 1000) -> LedgerReport:
    """Verify every chain: its hashes, its ``audit_heads`` row and, if given, a signed checkpoint.

    A checkpoint is trusted only when ``public_key`` verifies its signature; an untrusted one is
    itself a failure (``checkpoint_problem``) and is not used for the chains.
    """
    trusted: Checkpoint | None = None
    problem: str | None = None
    if checkpoint is not None:
        if public_key is None:
            raise ConfigError("a checkpoint is trusted only with the public key that signed it")
        problem = check_signature(checkpoint, public_key)
        trusted = checkpoint.checkpoint if problem is None else None
    async with engine.connect() as conn:
        chains = set(await list_chains(conn))
        heads = await read_heads(conn)
    if trusted is not None:
        chains.update(h.chain for h in trusted.heads)
    reports = [await _verify_one(engine, name, heads.get(name), trusted, batch_size)
               for name in sorted(chains)]
    return LedgerReport(tuple(reports), trusted, problem)


async def _verify_one(engine: AsyncEngine, chain: str, head_before: ChainHead | None,
                      checkpoint: Checkpoint | None, batch_size: int) -> ChainReport:
    anchors = [Anchor(head_before or ChainHead(chain, 0, ""), "audit_heads row")]
    recorded = checkpoint.head(chain) if checkpoint is not None else None
    if recorded is not None:
        anchors.append(Anchor(recorded, "checkpoint"))
    verifier = ChainVerifier(chain, anchors=anchors)
    async for entry in stream_entries(engine, chain, batch_size=batch_size):
        if not verifier.feed(entry):
            break
    expected: ChainHead | None = None
    if verifier.problem is None:
        # Appends may have committed while we scanned: read the head again and hold the chain to
        # it only where our scan reached (entries past it are newer than the scan, not missing).
        async with engine.connect() as conn:
            head_after = await read_head(conn, chain) or ChainHead(chain, 0, "")
        if head_after.seq <= verifier.head.seq:
            expected = head_after
    result = verifier.finish(expected_head=expected)
    return ChainReport(chain, result.entries, result.head, result.problem)


# -- checkpoints ----------------------------------------------------------------------------------

async def export_checkpoint(engine: AsyncEngine, private_key_path: Path, out_path: Path, *,
                            now: datetime | None = None) -> SignedCheckpoint:
    """Verify the ledger, then write a checkpoint of every chain's verified head, signed.

    Refuses (LedgerIntegrityError) to sign a ledger that does not verify: a signature must never
    bless a tampered chain.
    """
    key = load_private_key(private_key_path)
    report = await verify_ledger(engine)
    if not report.ok:
        problem = report.problems[0]
        raise LedgerIntegrityError(f"refusing to sign a checkpoint: {problem}", chain=problem.chain,
                                   seq=problem.seq)
    signed = make_checkpoint((c.head for c in report.chains if c.head.seq > 0), key, now=now)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text(signed.to_json(), encoding="utf-8")
    os.replace(tmp, out_path)
    return signed


def make_checkpoint(heads: Iterable[ChainHead], key: Ed25519PrivateKey, *,
                    now: datetime | None = None) -> SignedCheckpoint:
    """A checkpoint of ``heads`` signed with ``key``."""
    checkpoint = Checkpoint.of(now or datetime.now(UTC), heads)
    return sign(checkpoint, key.sign, fingerprint(key.public_key()))
