"""`boltz signal send` records a signal through the intake and sends its order once; `show` reads it back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from boltztrader.accounts import users as users_service
from boltztrader.accounts.keyring import generate_master_key
from boltztrader.accounts.linking import link_account
from boltztrader.accounts.paper import open_paper_account
from boltztrader.audit import verify_ledger
from boltztrader.db.engine import create_engine
from boltztrader.db.tables import broker_orders
from boltztrader.domain.enums import AccountMode
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.paper.binance import SPEC as BINANCE
from boltztrader.paper.venue import VenueConfig
from boltztrader.settings import load_settings
from boltztrader.wiring.runtime import vault_for

from ...paper import conftest as paper_conftest
from ...paper.conftest import RunningPaper

paper_factory = paper_conftest.paper_factory


def _boltz(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "boltztrader.cli.main", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


async def test_send_records_sends_once_and_replays(db_url: str, tmp_path: Path,
                                                   paper_factory: Callable[..., RunningPaper]) -> None:
    """A signal sent twice from the CLI fills one order; a malformed one exits 2 with one line."""
    paper = paper_factory(BINANCE, VenueConfig(tick_seconds=0))
    env = {**os.environ, "BOLTZ_DATABASE_URL": db_url, "BOLTZ_MASTER_KEY": generate_master_key(),
           "BOLTZ_PAPER_BINANCE_URL": paper.url, "COLUMNS": "200"}
    env.pop("BOLTZ_DEMO", None)
    settings = load_settings({k: v for k, v in env.items() if k.startswith("BOLTZ_")})
    engine = create_engine(db_url)
    try:
        user, _token = await users_service.create_user(engine, "cli@example.com")
        async with aiohttp.ClientSession() as http:
            opened = await open_paper_account(http, paper.url, BrokerName.BINANCE)
        account_id = await link_account(engine, vault_for(settings), user_id=user.id,
                                        broker=BrokerName.BINANCE, mode=AccountMode.PAPER,
                                        api_key=opened.api_key, api_secret=opened.api_secret,
                                        now=datetime.now(UTC))
        signal = {"id": "cli-sig-1", "model_id": "cli", "account_id": account_id, "symbol": "BTCUSDT",
                  "market": "crypto", "side": "buy", "quantity": "0.001", "confidence": "0.9",
                  "created_at": datetime.now(UTC).isoformat()}
        (tmp_path / "signal.json").write_text(json.dumps(signal))
        first = _boltz(env, tmp_path, "signal", "send", "--file", "signal.json")
        assert first.returncode == 0, first.stderr
        assert "filled" in first.stdout
        again = _boltz(env, tmp_path, "signal", "send", "--file", "signal.json")
        assert again.returncode == 0, again.stderr
        assert "received before" in again.stderr
        shown = _boltz(env, tmp_path, "signal", "show", "cli-sig-1")
        assert shown.returncode == 0
        assert "filled" in shown.stdout
        bad = _boltz(env, tmp_path, "signal", "send", "--account", account_id, "--symbol", "BTCUSDT",
                     "--market", "crypto", "--side", "buy", "--quantity", "-1")
        assert bad.returncode == 2
        assert "invalid signal" in bad.stderr
        assert "quantity" in bad.stderr
        assert "Traceback" not in bad.stderr
        async with engine.connect() as conn:
            rows = (await conn.execute(select(broker_orders.c.signal_id, broker_orders.c.status))).all()
        assert rows == [("cli-sig-1", "filled")]
        assert (await verify_ledger(engine)).ok
    finally:
        await engine.dispose()


@pytest.mark.parametrize("flags", [["--symbol", "BTCUSDT"], ["--file", "missing.json"]])
def test_incomplete_input_is_refused_before_any_database_work(tmp_path: Path, flags: list[str]) -> None:
    """Missing fields or an unreadable file end in one line and exit 2."""
    env = {**os.environ, "BOLTZ_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'none.db'}"}
    result = _boltz(env, tmp_path, "signal", "send", *flags)
    assert result.returncode == 2
    assert result.stderr.startswith("error:")
    assert not (tmp_path / "none.db").exists()
