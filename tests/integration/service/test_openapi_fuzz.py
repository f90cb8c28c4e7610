"""Schemathesis over the service's own OpenAPI document: whatever it sends, the service never answers 5xx.

The service runs as `make run` starts it (`boltz serve --demo`: paper brokers inside, a demo user
with three paper accounts, the demo model trading), in its own process, on a fresh SQLite
database; every operation of the document is called with generated valid and invalid inputs,
with the demo user's token.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.paper.conftest import free_port

_token: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    """The OpenAPI document of a running demo service (its token is kept for the calls)."""
    home = tmp_path_factory.mktemp("fuzz")
    ports = [free_port() for _ in range(4)]
    env = {**os.environ, "BOLTZ_PAPER_KITE_URL": f"http://127.0.0.1:{ports[0]}",
           "BOLTZ_PAPER_BINANCE_URL": f"http://127.0.0.1:{ports[1]}",
           "BOLTZ_PAPER_ALPACA_URL": f"http://127.0.0.1:{ports[2]}", "BOLTZ_RATE_LIMIT": "0",
           "COLUMNS": "300"}
    for name in ("BOLTZ_DATABASE_URL", "BOLTZ_MASTER_KEY", "BOLTZ_MASTER_KEY_FILE", "BOLTZ_DEMO"):
        env.pop(name, None)
    boltz = [sys.executable, "-m", "boltztrader.cli.main"]
    subprocess.run([*boltz, "db", "upgrade"], cwd=home, env=env, check=True, capture_output=True, timeout=60)
    log = home / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen([*boltz, "serve", "--demo", "--port", str(ports[3])], cwd=home, env=env,
                                stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "trading:" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        found = re.search(r"API token \(shown once\): (btz_\S+)", log.read_text())
        assert found, log.read_text()
        _token["value"] = found.group(1)
        url = f"http://127.0.0.1:{ports[3]}"
        assert httpx.get(url + "/healthz", timeout=5).status_code == 200
        yield schemathesis.openapi.from_url(url + "/openapi.json")
    finally:
        proc.terminate()
        proc.wait(30)
        _assert_no_crash(log)


def _assert_no_crash(log: Path) -> None:
    text = log.read_text()
    assert "Traceback" not in text, text[-4000:]


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error(case: schemathesis.Case) -> None:
    """Generated requests to every operation get an answer below 500."""
    case.call_and_validate(headers={"Authorization": f"Bearer {_token['value']}"}, timeout=30,
                           checks=[not_a_server_error])
