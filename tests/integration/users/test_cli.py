"""`boltz users`: a token is printed once when made, works, and shows up nowhere after.

The first test runs the real `boltz` process; the others call the same Typer app in-process (in a
thread, since each command runs its own event loop), which is much faster than a process each.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from boltztrader.accounts import users
from boltztrader.cli import main

from .helpers import dump

TOKEN = re.compile(r"btz_[A-Za-z0-9_-]{43}")
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def boltz(tmp_path: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real `boltz users ...` in a clean environment (no .env file, no inherited BOLTZ_*)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOLTZ_", "Z_", "BINANCE_", "ALPACA_"))}
    command = [sys.executable, "-m", "boltztrader.cli.main", "users", *args, "--database-url", db_url]
    return await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=120,
                                   check=False, cwd=tmp_path, env=clean)


async def invoke(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `boltz users ...` through the Typer app in this process; the same answer as `boltz`."""
    def call() -> subprocess.CompletedProcess[str]:
        result = CliRunner().invoke(main.app, ["users", *args, "--database-url", db_url])
        return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)
    return await asyncio.to_thread(call)


def one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [f"error: {expected}"]
    assert "Traceback" not in result.stderr


def token_free(output: str, *tokens: str) -> bool:
    return not any(t in output or t.removeprefix("btz_") in output for t in tokens)


async def test_create_prints_the_token_once_and_it_is_stored_nowhere(
        engine: AsyncEngine, db_url: str, tmp_path: Path) -> None:
    """`users create` prints the id and a working token once; the database and `users list` never hold it."""
    created = await boltz(tmp_path, db_url, "create", "--email", "Ops@Example.com", "--role", "admin",
                          "--name", "Ops")
    assert created.returncode == 0, created.stderr
    [token] = TOKEN.findall(created.stdout)
    [user_id] = ID.findall(created.stdout)
    assert f"token: {token}" in created.stdout.splitlines()
    assert "will not be shown again" in created.stdout
    assert created.stdout.count(token) == 1

    principal = await users.authenticate(engine, token)
    assert principal is not None
    assert (principal.user_id, principal.email, principal.is_admin) == (user_id, "ops@example.com", True)

    listed = await boltz(tmp_path, db_url, "list")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if user_id in line)
    assert row.split()[1:3] == ["ops@example.com", "admin"]
    assert row.split()[-2:] == ["1", "active"]
    assert "btz_" not in listed.stdout
    assert token_free(listed.stdout, token)

    text = await dump(engine)
    assert user_id in text
    assert token not in text
    assert token.removeprefix("btz_") not in text


async def test_a_second_token_can_be_issued_and_one_revoked(engine: AsyncEngine, db_url: str) -> None:
    """`users token` issues another working token; `users revoke --token-prefix` ends just that one."""
    created = await invoke(db_url, "create", "--email", "pat@example.com")
    [first] = TOKEN.findall(created.stdout)
    issued = await invoke(db_url, "token", "--email", "pat@example.com", "--label", "ci")
    assert issued.returncode == 0, issued.stderr
    [second] = TOKEN.findall(issued.stdout)
    assert "will not be shown again" in issued.stdout

    prefix = users.display_prefix(second)
    revoked = await invoke(db_url, "revoke", "--token-prefix", prefix)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked token" in revoked.stdout
    assert f"(prefix {prefix})" in revoked.stdout
    assert await users.authenticate(engine, second) is None
    assert await users.authenticate(engine, first) is not None

    listed = await invoke(db_url, "list")
    row = next(line for line in listed.stdout.splitlines() if "pat@example.com" in line)
    assert row.split()[-2:] == ["1", "active"]
    assert token_free(listed.stdout, first, second)


async def test_bad_input_is_one_line_and_exit_code_2(db_url: str) -> None:
    """A taken email, a malformed email or role, an unknown user or token: one line on stderr, exit 2."""
    assert (await invoke(db_url, "create", "--email", "quinn@example.com")).returncode == 0

    again = await invoke(db_url, "create", "--email", "QUINN@example.com")
    one_line_error(again, "a user with email quinn@example.com already exists")
    assert "btz_" not in again.stdout
    one_line_error(await invoke(db_url, "create", "--email", "quinn"), "not an email address: 'quinn'")
    one_line_error(await invoke(db_url, "create", "--email", "r@example.com", "--role", "root"),
                   "unknown role 'root': use one of user, admin")
    one_line_error(await invoke(db_url, "token", "--email", "nobody@example.com"),
                   "no user with email nobody@example.com")
    one_line_error(await invoke(db_url, "revoke", "--token-prefix", "zzzzzzzz"),
                   "no API token with prefix zzzzzzzz")
    one_line_error(await invoke(db_url, "revoke"),
                   "name the token with exactly one of --token-prefix or --token-id")
