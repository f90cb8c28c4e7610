"""``boltz audit verify`` run for real: exit 0 on a sound ledger, and names the first bad entry otherwise."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner, Result

from boltztrader.cli.audit import app
from boltztrader.ledger import AuditEntry

from .helpers import all_entries, append, tamper


async def boltz_audit(*args: str) -> Result:
    """Run ``boltz audit ARGS`` in a thread (the command runs its own event loop)."""
    return await asyncio.to_thread(lambda: CliRunner().invoke(app, list(args)))


@pytest.fixture
async def keys(tmp_path: Path) -> tuple[Path, Path]:
    """An Ed25519 key pair made with ``boltz audit keygen``."""
    result = await boltz_audit("keygen", "--out-dir", str(tmp_path / "keys"))
    assert result.exit_code == 0, result.output
    return tmp_path / "keys" / "audit_ed25519.key", tmp_path / "keys" / "audit_ed25519.pub"


async def checkpoint(db_url: str, keys: tuple[Path, Path], path: Path) -> Path:
    result = await boltz_audit("checkpoint", "--key", str(keys[0]), "--out", str(path),
                               "--database-url", db_url)
    assert result.exit_code == 0, result.output
    return path


def assert_fails_at(result: Result, chain: str, seq: int, why: str) -> None:
    assert result.exit_code == 1, result.output
    assert f"chain {chain!r}: first bad entry seq {seq}: {why}" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


async def test_sound_ledger_verifies_with_exit_0(engine: AsyncEngine, db_url: str) -> None:
    """A sound ledger exits 0 and summarizes its chains, entries and heads."""
    await append(engine, 3)
    await append(engine, 2, chain="user:9")
    result = await boltz_audit("verify", "--database-url", db_url)
    assert result.exit_code == 0, result.output
    assert "user:9" in result.output
    assert "2 chain(s), 5 entries verified" in result.output


async def test_one_edited_payload_byte_names_its_seq(engine: AsyncEngine, db_url: str) -> None:
    """Changing one byte of entry 4's payload with raw SQL fails verification at chain global seq 4."""
    entries = await append(engine, 6)
    forged = entries[3].payload.replace("2950.05", "2950.06")
    await tamper(engine, ("UPDATE audit_ledger SET payload = :p WHERE chain = 'global' AND seq = 4",
                          {"p": forged}))
    result = await boltz_audit("verify", "--database-url", db_url)
    assert_fails_at(result, "global", 4, "hash mismatch")


async def test_removed_tail_is_caught_by_the_heads_table(engine: AsyncEngine, db_url: str) -> None:
    """Deleting the last entries of a chain fails at the first deleted seq, found via audit_heads."""
    await append(engine, 2, chain="user:1")
    await append(engine, 5, chain="user:2")
    await tamper(engine, ("DELETE FROM audit_ledger WHERE chain = 'user:2' AND seq >= 4", {}))
    result = await boltz_audit("verify", "--database-url", db_url)
    assert_fails_at(result, "user:2", 4, "tail missing")


async def test_removed_tail_and_rewound_head_are_caught_by_the_checkpoint(
        engine: AsyncEngine, db_url: str, keys: tuple[Path, Path], tmp_path: Path) -> None:
    """Deleting a tail and rewinding its head row passes alone but fails against the signed checkpoint."""
    entries = await append(engine, 5)
    path = await checkpoint(db_url, keys, tmp_path / "cp.json")
    await tamper(engine,
                 ("DELETE FROM audit_ledger WHERE chain = 'global' AND seq >= 3", {}),
                 ("UPDATE audit_heads SET seq = 2, hash = :h WHERE chain = 'global'", {"h": entries[1].hash}))
    alone = await boltz_audit("verify", "--database-url", db_url)
    assert alone.exit_code == 0, alone.output
    result = await boltz_audit("verify", "--database-url", db_url, "--checkpoint", str(path),
                               "--public-key", str(keys[1]))
    assert_fails_at(result, "global", 3, "tail missing")


async def rewrite_chain(engine: AsyncEngine, original: list[AuditEntry], from_seq: int) -> None:
    """Replace entries from ``from_seq`` on with forged ones whose hashes are all recomputed."""
    forged: list[AuditEntry] = [e for e in original if e.seq < from_seq]
    for entry in original[from_seq - 1:]:
        edited = dataclasses.replace(entry, actor="forger", prev_hash=forged[-1].hash)
        forged.append(dataclasses.replace(edited, hash=edited.computed_hash()))
    statements: list[tuple[str, dict[str, object]]] = [
        ("UPDATE audit_ledger SET actor = :actor, prev_hash = :prev, hash = :hash "
         "WHERE chain = 'global' AND seq = :seq",
         {"actor": e.actor, "prev": e.prev_hash, "hash": e.hash, "seq": e.seq})
        for e in forged[from_seq - 1:]]
    statements.append(("UPDATE audit_heads SET hash = :h WHERE chain = 'global'", {"h": forged[-1].hash}))
    await tamper(engine, *statements)
    assert (await all_entries(engine))[-1].hash == forged[-1].hash


async def test_consistent_rewrite_is_caught_only_by_the_signed_checkpoint(
        engine: AsyncEngine, db_url: str, keys: tuple[Path, Path], tmp_path: Path) -> None:
    """A chain rewritten with recomputed hashes verifies alone but fails at the checkpoint's seq."""
    await append(engine, 4)
    path = await checkpoint(db_url, keys, tmp_path / "cp.json")
    await append(engine, 2)
    await rewrite_chain(engine, await all_entries(engine), from_seq=2)
    alone = await boltz_audit("verify", "--database-url", db_url)
    assert alone.exit_code == 0, alone.output
    result = await boltz_audit("verify", "--database-url", db_url, "--checkpoint", str(path),
                               "--public-key", str(keys[1]))
    assert_fails_at(result, "global", 4, "rewritten")


async def test_forged_checkpoint_fails(engine: AsyncEngine, db_url: str, keys: tuple[Path, Path],
                                       tmp_path: Path) -> None:
    """A checkpoint whose head was edited after signing fails with exit 1 naming the bad signature."""
    await append(engine, 3)
    path = await checkpoint(db_url, keys, tmp_path / "cp.json")
    document = json.loads(path.read_text())
    document["heads"][0]["seq"] = 2
    path.write_text(json.dumps(document))
    result = await boltz_audit("verify", "--database-url", db_url, "--checkpoint", str(path),
                               "--public-key", str(keys[1]))
    assert result.exit_code == 1, result.output
    assert "checkpoint signature is invalid" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--checkpoint", "{missing}"], "needs --public-key"),
     (["--checkpoint", "{missing}", "--public-key", "{missing}"], "file not found"),
     (["--checkpoint", "{garbage}", "--public-key", "{garbage}"], "not valid JSON"),
     (["--database-url", "mysql://u@h/db"], "unsupported database"),
     (["--database-url", "postgresql+asyncpg://postgres@127.0.0.1:1/none"], "is unreachable"),
     (["--database-url", "sqlite+aiosqlite:///{missing}"], "database file not found")],
    ids=["checkpoint-without-key", "missing-file", "malformed-checkpoint", "bad-url", "unreachable",
         "missing-sqlite-file"],
)
async def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    """Missing files, a malformed checkpoint, a bad URL or an unreachable database exit 2 with one line."""
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    filled = [a.format(missing=tmp_path / "nope", garbage=garbage) for a in args]
    if "--database-url" not in filled:
        filled += ["--database-url", f"sqlite+aiosqlite:///{tmp_path / 'nope.db'}"]
    result = await boltz_audit("verify", *filled)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
