"""`boltz serve` runs the real service; /healthz reports whether the database answers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from boltztrader.api.app import create_app
from boltztrader.settings import load_settings
from boltztrader.wiring import build_container
from tests.paper.conftest import free_port


def _boltz(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "boltztrader.cli.main", *args], capture_output=True,
                          text=True, timeout=60, env=env, check=False)


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A `boltz serve` process on a free port over a migrated database; yields its base URL."""
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "boltztrader.cli.main", "serve", "--port", str(port),
             "--database-url", db_url],
            stdout=sink, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail("boltz serve exited early: " + log.read_text())
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_healthz_answers_ok_from_a_running_service(served: str) -> None:
    """A service started with `boltz serve` answers /healthz with 200 and database ok."""
    response = httpx.get(served + "/healthz", timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"


async def test_healthz_is_503_when_the_database_is_unreachable() -> None:
    """With the database gone, /healthz answers 503 and says the database is unreachable."""
    settings = load_settings({"BOLTZ_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x"})
    container = build_container(settings)
    app = create_app(container)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            response = await client.get("/healthz")
    finally:
        await container.aclose()
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_serve_refuses_an_unmigrated_database_with_one_line(tmp_path: Path) -> None:
    """Serving a database that was never migrated exits 2 and tells the user to run `boltz db upgrade`."""
    result = _boltz("serve", "--port", str(free_port()), "--database-url",
                    f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    assert result.returncode == 2
    assert "boltz db upgrade" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("args", "extra_env", "fragment"),
    [
        (("db", "upgrade", "--database-url", "postgresql://postgres@127.0.0.1:1/x"), {}, "unreachable"),
        (("db", "upgrade", "--database-url", "mysql://root@localhost/x"), {}, "unsupported database"),
        (("db", "current",), {"BOLTZ_NOT_A_SETTING": "1"}, "unknown setting BOLTZ_NOT_A_SETTING"),
        (("serve",), {"BOLTZ_MODE": "live"}, "live mode needs a master key"),
    ],
)
def test_bad_input_ends_in_one_line_and_exit_2(args: tuple[str, ...], extra_env: dict[str, str],
                                               fragment: str, tmp_path: Path) -> None:
    """Bad settings or an unreachable database end with one stderr line, exit code 2, no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOLTZ_")} | extra_env
    env["BOLTZ_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    result = _boltz(*args, env=env)
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_db_upgrade_then_current_reports_up_to_date(empty_db_url: str) -> None:
    """`boltz db upgrade` migrates an empty database and `boltz db current` then says it is up to date."""
    upgraded = _boltz("db", "upgrade", "--database-url", empty_db_url)
    assert upgraded.returncode == 0, upgraded.stderr
    current = _boltz("db", "current", "--database-url", empty_db_url)
    assert current.returncode == 0
    assert "up to date" in current.stdout
