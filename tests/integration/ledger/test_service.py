"""The audit service: whole-ledger verification, Ed25519 keys and signed checkpoints."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader import audit
from boltztrader.errors import LedgerIntegrityError
from boltztrader.ledger import ProblemKind

from .helpers import append, tamper


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    """A fresh Ed25519 key pair on disk."""
    return audit.generate_keypair(tmp_path / "keys")


def test_keygen_writes_a_private_key_only_its_owner_can_read(keys: tuple[Path, Path]) -> None:
    """The private key file has mode 0600 and both files load as an Ed25519 key pair."""
    private_path, public_path = keys
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    private = audit.load_private_key(private_path)
    assert audit.fingerprint(private.public_key()) == audit.fingerprint(audit.load_public_key(public_path))


def test_keygen_refuses_to_overwrite_a_key(keys: tuple[Path, Path]) -> None:
    """Generating keys into a directory that holds some already raises instead of replacing them."""
    with pytest.raises(FileExistsError):
        audit.generate_keypair(keys[0].parent)


async def test_verify_ledger_reports_every_chain(engine: AsyncEngine) -> None:
    """A sound ledger's report is ok and lists each chain with its entry count and head."""
    await append(engine, 3)
    await append(engine, 2, chain="user:1")
    report = await audit.verify_ledger(engine)
    assert report.ok
    assert [(c.chain, c.entries, c.head.seq) for c in report.chains] == [("global", 3, 3), ("user:1", 2, 2)]
    assert report.entries == 5


async def test_checkpoint_round_trip_verifies(engine: AsyncEngine, keys: tuple[Path, Path],
                                              tmp_path: Path) -> None:
    """An exported checkpoint, read back with the public key, verifies the ledger it was taken of."""
    await append(engine, 4)
    out = tmp_path / "checkpoint.json"
    signed = await audit.export_checkpoint(engine, keys[0], out)
    assert [(h.chain, h.seq) for h in signed.checkpoint.heads] == [("global", 4)]
    report = await audit.verify_ledger(engine, checkpoint=audit.read_checkpoint(out),
                                       public_key=audit.load_public_key(keys[1]))
    assert report.ok
    assert report.checkpoint == signed.checkpoint


async def test_checkpoint_of_another_key_is_a_failure(engine: AsyncEngine, keys: tuple[Path, Path],
                                                      tmp_path: Path) -> None:
    """A checkpoint checked with a public key that did not sign it fails and is not used."""
    await append(engine, 1)
    out = tmp_path / "checkpoint.json"
    await audit.export_checkpoint(engine, keys[0], out)
    _, other_public = audit.generate_keypair(tmp_path / "other")
    report = await audit.verify_ledger(engine, checkpoint=audit.read_checkpoint(out),
                                       public_key=audit.load_public_key(other_public))
    assert not report.ok
    assert report.checkpoint is None
    assert "not by the given public key" in (report.first_failure() or "")


async def test_forged_checkpoint_signature_is_a_failure(engine: AsyncEngine, keys: tuple[Path, Path],
                                                        tmp_path: Path) -> None:
    """Editing a head inside a signed checkpoint makes its signature invalid."""
    await append(engine, 2)
    out = tmp_path / "checkpoint.json"
    await audit.export_checkpoint(engine, keys[0], out)
    document = json.loads(out.read_text())
    document["heads"][0]["seq"] = 1
    out.write_text(json.dumps(document))
    report = await audit.verify_ledger(engine, checkpoint=audit.read_checkpoint(out),
                                       public_key=audit.load_public_key(keys[1]))
    assert report.checkpoint_problem is not None
    assert "signature is invalid" in report.checkpoint_problem


async def test_export_refuses_to_sign_a_tampered_ledger(engine: AsyncEngine, keys: tuple[Path, Path],
                                                        tmp_path: Path) -> None:
    """export_checkpoint raises LedgerIntegrityError naming the bad entry and writes no file."""
    await append(engine, 3)
    await tamper(engine, ("UPDATE audit_ledger SET actor = 'forger' WHERE seq = 2", {}))
    out = tmp_path / "checkpoint.json"
    with pytest.raises(LedgerIntegrityError) as caught:
        await audit.export_checkpoint(engine, keys[0], out)
    assert (caught.value.chain, caught.value.seq) == ("global", 2)
    assert not out.exists()


async def test_entries_without_a_head_row_are_reported(engine: AsyncEngine) -> None:
    """A chain whose audit_heads row was deleted reports its entries as beyond the head."""
    await append(engine, 2)
    await tamper(engine, ("DELETE FROM audit_heads WHERE chain = 'global'", {}))
    report = await audit.verify_ledger(engine)
    problem = report.problems[0]
    assert (problem.chain, problem.seq, problem.kind) == ("global", 1, ProblemKind.BEYOND_HEAD)
