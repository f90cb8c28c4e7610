"""The load test: ``bench/load.py`` at twice the target rate (2 x 15 signals/s) for 60 s, on PostgreSQL.

The script does the work (its docstring says what it measures and when it fails): three paper
brokers in their own processes, ``boltz serve --api-only`` and two ``boltz worker`` processes, ten
users with 60 paper accounts linked through the API, signals sent open-loop, ``/metrics`` scraped
every 5 s. This runs it as CI does and requires a clean verdict, every signal acknowledged and
settled, and the leak gauges served.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import conftest as root

ROOT = Path(__file__).resolve().parents[2]
TERMINAL = {"filled", "rejected", "denied", "cancelled", "expired", "declined"}


@pytest.mark.postgres
def test_thirty_signals_a_second_for_a_minute_are_all_acknowledged_and_settled(tmp_path: Path) -> None:
    """1,800 signals at 30/s: no request fails, every order settles, the service keeps up with them."""
    root._postgres_or_skip()
    assert root._PG.admin_url is not None
    env = {**os.environ,
           "BOLTZ_BENCH_POSTGRES_URL": root._PG.admin_url.render_as_string(hide_password=False)}
    out = tmp_path / "load.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), "--rate", "30", "--duration", "60",
         "--workers", "2", "--users", "10",
         "--json", str(out), "--keep-log", str(tmp_path / "serve.log")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    summary = {k: v for k, v in result.items() if k != "samples"}
    assert result["scheduled"] == 1800
    assert result["acknowledged"] == 1800, summary
    assert result["errors"] == {}, summary
    assert result["unsettled"] == 0, summary
    assert result["settled"] == 1800, summary
    assert set(result["statuses"]) <= TERMINAL, summary
    assert result["samples"], summary
    gauges = {"rss_mib", "open_fds", "asyncio_tasks", "pool_checked_out", "outbox_depth"}
    assert gauges <= set(result["samples"][-1]), result["samples"][-1]
    assert result["ok"], summary
    assert done.returncode == 0, done.stdout[-3000:]
