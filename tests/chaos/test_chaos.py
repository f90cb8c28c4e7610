"""The chaos test, short: an API process and 3 workers on PostgreSQL, workers SIGKILLed while signals arrive.

bench/chaos.py does the work (its docstring lists what it checks against the paper brokers' own
books); this runs it small enough for CI and requires a clean verdict: no lost signal, no
duplicate broker order, nothing stuck, a verified ledger, and at least two workers killed.
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


@pytest.mark.postgres
def test_killing_workers_loses_nothing_and_duplicates_nothing() -> None:
    """600 signals over 60 accounts while a worker is killed every 3 s: every invariant holds."""
    root._postgres_or_skip()
    assert root._PG.admin_url is not None
    env = {**os.environ,
           "BOLTZ_BENCH_POSTGRES_URL": root._PG.admin_url.render_as_string(hide_password=False)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "chaos.py"), "--accounts", "60", "--signals", "600",
         "--workers", "3", "--rate", "20", "--kill-every", "3", "--lease-ttl", "4"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, result.stdout[-3000:] + result.stderr[-3000:]
    verdict = json.loads(lines[-1].removeprefix("RESULT "))
    assert verdict["problems"] == [], verdict
    assert verdict["acknowledged"] == 600
    assert verdict["kills"] >= 2
    assert verdict["statuses"].get("filled", 0) >= 480, verdict  # orders reached the brokers, not refused
    assert result.returncode == 0, result.stderr[-3000:]
