"""`boltz paper serve` starts real paper brokers that answer in their own protocols."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.paper.conftest import free_port


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail("boltz paper serve exited: " + log.read_text())
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("boltz paper serve did not answer in 30 s: " + log.read_text())


@pytest.fixture
def binance(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A `boltz paper serve --broker binance` process on a free port; yields its URL and its log."""
    port = free_port()
    log = tmp_path / "paper.log"
    with log.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "boltztrader.cli.main", "paper", "serve", "--broker",
                                 "binance", "--port", str(port), "--tick-seconds", "0.05", "--seed", "5"],
                                stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url + "/api/v3/ping", proc, log)
        yield url, log
    finally:
        proc.terminate()
        proc.wait(15)


def test_serve_prints_its_url_and_speaks_binance(binance: tuple[str, Path]) -> None:
    """The server prints where it listens and answers Binance's own public endpoints."""
    url, log = binance
    assert f"paper binance on {url}" in log.read_text()
    assert httpx.get(url + "/api/v3/ping").json() == {}
    symbols = {s["symbol"] for s in httpx.get(url + "/api/v3/exchangeInfo").json()["symbols"]}
    assert {"BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT"} <= symbols


def test_prices_walk_on_their_own_while_serving(binance: tuple[str, Path]) -> None:
    """With a tick interval set, the price moves without anyone touching it."""
    url, _ = binance
    seen = set()
    for _ in range(20):
        seen.add(httpx.get(url + "/api/v3/ticker/price", params={"symbol": "BTCUSDT"}).json()["price"])
        time.sleep(0.05)
    assert len(seen) > 1


def test_port_with_all_brokers_is_refused() -> None:
    """A single --port cannot serve three brokers: one clear line and exit code 2."""
    command = [sys.executable, "-m", "boltztrader.cli.main", "paper", "serve", "--port", "7000"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "--port needs a single --broker" in result.stderr


def test_a_taken_port_is_one_line_not_a_traceback() -> None:
    """If the port is taken the command says so in one line and exits 2."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "boltztrader.cli.main", "paper", "serve", "--broker",
                                 "kite", "--port", str(port)], capture_output=True, text=True, timeout=60,
                                check=False)
    assert result.returncode == 2
    assert "cannot listen" in result.stderr
    assert "Traceback" not in result.stderr
