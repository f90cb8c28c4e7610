"""Without PostgreSQL the suite still passes on SQLite and says so; CI can require PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.paper.conftest import free_port  # nothing listens there: an unreachable server

ROOT = Path(__file__).resolve().parents[2]
ONE_TEST = "tests/integration/db/test_migrations.py::test_upgrade_to_head_then_downgrade_to_base"



def _pytest_without_postgres(require: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["BOLTZ_TEST_POSTGRES_URL"] = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/test"
    env["BOLTZ_TEST_REQUIRE_POSTGRES"] = "1" if require else "0"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", ONE_TEST],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_unreachable_postgres_skips_with_a_notice() -> None:
    """With PostgreSQL unreachable the SQLite half passes and the run ends saying PostgreSQL was skipped."""
    result = _pytest_without_postgres(require=False)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 skipped" in result.stdout
    assert "PostgreSQL tests SKIPPED" in result.stdout


def test_required_postgres_that_is_unreachable_fails_the_run() -> None:
    """With BOLTZ_TEST_REQUIRE_POSTGRES=1 an unreachable PostgreSQL fails the run instead of skipping."""
    result = _pytest_without_postgres(require=True)
    assert result.returncode != 0
    assert "1 passed, 1 error" in result.stdout
    assert "PostgreSQL tests FAILED (required)" in result.stdout
