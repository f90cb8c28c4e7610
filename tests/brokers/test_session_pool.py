"""A session pool lets many accounts share one connection pool per broker host."""

from __future__ import annotations

from collections.abc import Callable

from boltztrader.brokers.binance import BinanceBroker
from boltztrader.brokers.transport import SessionPool
from boltztrader.paper.binance import SPEC
from boltztrader.paper.venue import VenueConfig

from ..contract.harness import admin
from ..contract.harness_binance import config_for
from ..paper import conftest as paper_conftest
from ..paper.conftest import RunningPaper

paper_factory = paper_conftest.paper_factory


async def test_accounts_share_the_pools_session_and_leave_it_open(
        paper_factory: Callable[..., RunningPaper]) -> None:
    """Two accounts on one pool use one session; closing the adapters leaves it to the pool to close."""
    paper = paper_factory(SPEC, VenueConfig(tick_seconds=0))
    pool = SessionPool()
    brokers = []
    for _ in range(2):
        creds = admin(paper, "POST", "/_paper/accounts", json={})
        brokers.append(BinanceBroker(config_for(paper, creds["api_key"], creds["api_secret"], sessions=pool)))
    balances = [await b.get_balance() for b in brokers]
    assert all(b.cash > 0 for b in balances)
    sessions = list(pool._sessions.values())
    assert len(sessions) == 1
    for broker in brokers:
        await broker.close()
    assert not sessions[0].closed
    await pool.close()
    assert sessions[0].closed
