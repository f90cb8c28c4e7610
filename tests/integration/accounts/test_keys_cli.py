"""`boltz keys rotate` re-wraps every stored credential under the new key, once, without leaking any."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.accounts.keyring import Keyring, generate_master_key, parse_master_key
from boltztrader.accounts.vault import Vault
from boltztrader.db import credentials
from boltztrader.domain.secrets import Secret

from .seed import SENTINEL, add_account, dump, now, seed, stored


async def boltz(tmp_path: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the real `boltz` command in a clean environment (no .env file, no inherited BOLTZ_*)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOLTZ_", "Z_", "BINANCE_", "ALPACA_"))}
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "boltztrader.cli.main", *args], capture_output=True,
        text=True, timeout=120, check=False, cwd=tmp_path, env={**clean, **env})


def sqlite_file_bytes(directory: Path) -> bytes:
    """The raw bytes of the SQLite database and its write-ahead log."""
    return b"".join(p.read_bytes() for p in sorted(directory.glob("boltz.db*")))


def vault_of(primary: str, *previous: str) -> Vault:
    return Vault(Keyring(parse_master_key(primary, source="test"),
                         tuple(parse_master_key(p, source="test") for p in previous)))


def status_rows(output: str) -> dict[str, list[str]]:
    """The rows of the status table: key id -> [credentials, role]."""
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in output.splitlines() if "│" in line]
    return {row[0]: row[1:] for row in cells}


def key_id(text: str) -> str:
    return parse_master_key(text, source="test").key_id


async def test_rotate_rewraps_every_blob_once_and_never_leaks_a_secret(
        engine: AsyncEngine, db_url: str, db_kind: str, tmp_path: Path) -> None:
    """Rotation puts every blob under the new key (opening without the old); a re-run changes nothing."""
    old, new = generate_master_key(), generate_master_key()
    values = await seed(engine, vault_of(old))
    rotating = {"BOLTZ_MASTER_KEY": new, "BOLTZ_PREVIOUS_MASTER_KEYS": old}

    first = await boltz(tmp_path, "keys", "rotate", "--database-url", db_url, "--batch-size", "2",
                        env=rotating)
    assert first.returncode == 0, first.stderr
    assert f"re-wrapped {len(values)} credential(s) under master key {key_id(new)}; 0 already current" \
        in first.stdout
    assert "previous keys may now be removed" in first.stdout

    after = await stored(engine)
    assert set(after) == set(values)
    new_only = vault_of(new)
    for (account_id, field), blob in after.items():
        assert new_only.key_id_of(blob.blob) == key_id(new)
        opened = new_only.decrypt(blob.blob, owner=blob.owner, account_id=account_id, field=field)
        assert opened == Secret(values[(account_id, field)])

    again = await boltz(tmp_path, "keys", "rotate", "--database-url", db_url, env=rotating)
    assert again.returncode == 0, again.stderr
    assert f"re-wrapped 0 credential(s) under master key {key_id(new)}; {len(values)} already current" \
        in again.stdout
    assert {k: v.blob for k, v in (await stored(engine)).items()} == {k: v.blob for k, v in after.items()}

    text, binaries = await dump(engine)
    assert "acct-alice-kite" in text  # the dump really holds the accounts
    assert SENTINEL not in text
    assert not [b for b in binaries if SENTINEL.encode() in b]
    for run in (first, again):
        assert SENTINEL not in run.stdout + run.stderr
        assert old not in run.stdout + run.stderr
        assert new not in run.stdout + run.stderr
    if db_kind == "sqlite":
        assert SENTINEL.encode() not in sqlite_file_bytes(tmp_path)


async def test_status_counts_blobs_per_key_before_and_after_rotation(
        engine: AsyncEngine, db_url: str, tmp_path: Path) -> None:
    """`boltz keys status` shows how many credentials each key wraps and which key is the primary."""
    old, new = generate_master_key(), generate_master_key()
    values = await seed(engine, vault_of(old))
    rotating = {"BOLTZ_MASTER_KEY": new, "BOLTZ_PREVIOUS_MASTER_KEYS": old}

    before = await boltz(tmp_path, "keys", "status", "--database-url", db_url, env=rotating)
    assert before.returncode == 0, before.stderr
    rows = status_rows(before.stdout)
    assert rows[key_id(new)] == ["0", "primary"]
    assert rows[key_id(old)] == [str(len(values)), "previous"]

    rotated = await boltz(tmp_path, "keys", "rotate", "--database-url", db_url, env=rotating)
    assert rotated.returncode == 0, rotated.stderr
    after = await boltz(tmp_path, "keys", "status", "--database-url", db_url, env={"BOLTZ_MASTER_KEY": new})
    rows = status_rows(after.stdout)
    assert rows == {key_id(new): [str(len(values)), "primary"]}


async def test_an_interrupted_rotation_finishes_on_the_next_run(
        engine: AsyncEngine, db_url: str, tmp_path: Path) -> None:
    """Blobs already re-wrapped by an earlier, interrupted run count as current; the rest are re-wrapped."""
    old, new = generate_master_key(), generate_master_key()
    values = await seed(engine, vault_of(old))
    rotating_vault = vault_of(new, old)
    async with engine.begin() as conn:  # what a run interrupted after its first batch leaves behind
        for blob in (await credentials.read_page(conn, limit=1)):
            rewrapped = rotating_vault.rewrap(blob.blob, owner=blob.owner, account_id=blob.account_id,
                                              field=blob.field)
            assert await credentials.replace_if_unchanged(conn, blob.account_id, blob.field,
                                                          expected=blob.blob, new=rewrapped)
    done_before = sum(1 for b in (await stored(engine)).values() if rotating_vault.is_current(b.blob))
    assert 0 < done_before < len(values)

    result = await boltz(tmp_path, "keys", "rotate", "--database-url", db_url,
                   env={"BOLTZ_MASTER_KEY": new, "BOLTZ_PREVIOUS_MASTER_KEYS": old})
    assert result.returncode == 0, result.stderr
    assert (f"re-wrapped {len(values) - done_before} credential(s) under master key {key_id(new)}; "
            f"{done_before} already current") in result.stdout
    assert all(vault_of(new).is_current(b.blob) for b in (await stored(engine)).values())


async def test_a_blob_under_a_missing_key_is_named_and_the_rest_still_rotate(
        engine: AsyncEngine, db_url: str, tmp_path: Path) -> None:
    """Without the old key configured a blob cannot be re-wrapped: exit 1 names it, the others are done."""
    lost, old, new = generate_master_key(), generate_master_key(), generate_master_key()
    values = await seed(engine, vault_of(old))
    async with engine.begin() as conn:
        await add_account(conn, "acct-dave-lost", "dave")
        blob = vault_of(lost).encrypt(Secret(SENTINEL), owner="dave", account_id="acct-dave-lost",
                                      field="api_secret")
        await credentials.store_secret(conn, "acct-dave-lost", "api_secret", blob, now=now())

    result = await boltz(tmp_path, "keys", "rotate", "--database-url", db_url,
                   env={"BOLTZ_MASTER_KEY": new, "BOLTZ_PREVIOUS_MASTER_KEYS": old})
    assert result.returncode == 1
    assert "acct-dave-lost" in result.stderr
    assert key_id(lost) in result.stderr
    assert f"re-wrapped {len(values)} credential(s)" in result.stdout
    assert "may now be removed" not in result.stdout
    assert SENTINEL not in result.stdout + result.stderr
    assert (await stored(engine))[("acct-dave-lost", "api_secret")].blob == blob


@pytest.mark.parametrize(("env", "fragment"), [
    ({}, "no master key"),
    ({"BOLTZ_MASTER_KEY": "short"}, "BOLTZ_MASTER_KEY is not a master key"),
    ({"BOLTZ_MASTER_KEY": generate_master_key(), "BOLTZ_PREVIOUS_MASTER_KEYS": "nope"},
     "invalid setting BOLTZ_PREVIOUS_MASTER_KEYS"),
])
async def test_rotate_without_a_usable_key_is_one_line_and_exit_2(
        engine: AsyncEngine, db_url: str, tmp_path: Path, env: dict[str, str], fragment: str) -> None:
    """A missing or malformed key stops rotation before it touches the database, in one line."""
    result = await boltz(tmp_path, "keys", "rotate", "--database-url", db_url, env=env)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


async def test_generate_prints_a_fresh_usable_key(tmp_path: Path) -> None:
    """`boltz keys generate` prints one new key per call, in the form BOLTZ_MASTER_KEY accepts."""
    first = await boltz(tmp_path, "keys", "generate", env={})
    second = await boltz(tmp_path, "keys", "generate", env={})
    assert first.returncode == second.returncode == 0
    assert first.stdout != second.stdout
    assert parse_master_key(first.stdout, source="output").key_id
