"""`boltz serve --demo` (what `make run` starts): paper brokers inside, a demo user, signals as orders."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.paper.conftest import free_port


def test_the_demo_turns_model_signals_into_paper_orders(tmp_path: Path) -> None:
    """A fresh directory: migrate, start the demo; a token is printed and signals reach the pipeline."""
    ports = [free_port() for _ in range(4)]
    env = {**os.environ, "BOLTZ_PAPER_KITE_URL": f"http://127.0.0.1:{ports[0]}",
           "BOLTZ_PAPER_BINANCE_URL": f"http://127.0.0.1:{ports[1]}",
           "BOLTZ_PAPER_ALPACA_URL": f"http://127.0.0.1:{ports[2]}", "COLUMNS": "300"}
    for name in ("BOLTZ_DATABASE_URL", "BOLTZ_MASTER_KEY", "BOLTZ_MASTER_KEY_FILE", "BOLTZ_DEMO"):
        env.pop(name, None)
    boltz = [sys.executable, "-m", "boltztrader.cli.main"]
    subprocess.run([*boltz, "db", "upgrade"], cwd=tmp_path, env=env, check=True, capture_output=True,
                   timeout=60)
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen([*boltz, "serve", "--demo", "--port", str(ports[3])], cwd=tmp_path, env=env,
                                stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "trading:" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        text = log.read_text()
        assert "trading: 3 linked accounts" in text, text
        assert re.search(r"API token \(shown once\): btz_\S+", text)
        assert httpx.get(f"http://127.0.0.1:{ports[3]}/healthz", timeout=5).json()["status"] == "ok"
        signals = 0
        deadline = time.monotonic() + 150
        while signals == 0 and time.monotonic() < deadline:
            time.sleep(2)
            with sqlite3.connect(tmp_path / "boltz.db") as db:
                query = "SELECT count(*) FROM signals WHERE model_id = 'demo-crossover'"
                signals = db.execute(query).fetchone()[0]
        assert signals > 0, log.read_text()
        with sqlite3.connect(tmp_path / "boltz.db") as db:
            orders = db.execute("SELECT count(*) FROM broker_orders").fetchone()[0]
        assert orders >= signals  # every signal reached its account: an order, or a denial with reasons
        assert (tmp_path / "var" / "master.key").stat().st_mode & 0o077 == 0
    finally:
        proc.terminate()
        proc.wait(30)
    assert "Traceback" not in log.read_text()
