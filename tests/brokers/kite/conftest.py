"""Fixtures for the Kite adapter tests: a paper Kite on a real socket, logged-in accounts, adapters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import requests

from boltztrader.brokers.kite import KiteBroker, KiteConfig
from boltztrader.brokers.kite.login import KiteSession
from boltztrader.brokers.transport import Timeouts
from boltztrader.domain.secrets import Secret
from boltztrader.paper.kite import SPEC
from boltztrader.paper.venue import VenueConfig
from tests.paper.conftest import RunningPaper, paper_factory

__all__ = ["paper_factory"]

NO_LIMITS = {"orders_per_second": 0, "orders_per_minute": 0, "orders_per_day": 0, "quotes_per_second": 0,
             "others_per_second": 0}


def admin(paper: RunningPaper, method: str, path: str, **kwargs: Any) -> Any:
    """Call the paper's ``/_paper/`` admin API; fail the test on an error."""
    response = requests.request(method, paper.url + path, timeout=10, **kwargs)
    assert response.status_code in (200, 201), response.text
    return response.json()


def set_clock(paper: RunningPaper, moment: datetime) -> None:
    venue = paper.venue
    paper.call(lambda: setattr(venue, "clock", lambda: moment))


def venue_now(paper: RunningPaper) -> datetime:
    venue = paper.venue
    now = paper.call(venue.now)
    assert isinstance(now, datetime)
    return now


def kite_config(paper: RunningPaper, api_key: str, api_secret: str, access_token: str | None,
                timeouts: Timeouts | None = None) -> KiteConfig:
    return KiteConfig(api_key=api_key, api_secret=Secret(api_secret),
                      access_token=None if access_token is None else Secret(access_token),
                      root_url=paper.url, ws_url=paper.url.replace("http://", "ws://"),
                      timeouts=timeouts or Timeouts(connect=3, read=10), reconnect_initial=0.05,
                      reconnect_max=0.5)


@dataclass
class Account:
    """A paper Kite account logged in through the adapter's own ``generate_session``."""

    paper: RunningPaper
    created: dict[str, Any]
    session: KiteSession

    @property
    def api_key(self) -> str:
        return str(self.created["api_key"])

    @property
    def api_secret(self) -> str:
        return str(self.created["api_secret"])

    @property
    def token(self) -> str:
        return self.session.access_token.reveal()

    def config(self, timeouts: Timeouts | None = None, token: str | None = None) -> KiteConfig:
        return kite_config(self.paper, self.api_key, self.api_secret, token or self.token, timeouts)

    def broker(self, timeouts: Timeouts | None = None) -> KiteBroker:
        return KiteBroker(self.config(timeouts))

    def raw(self, method: str, path: str, **kwargs: Any) -> Any:
        """A raw Kite call with this account's token (to check what reached the wire)."""
        headers = {"X-Kite-Version": "3", "Authorization": f"token {self.api_key}:{self.token}"}
        response = requests.request(method, self.paper.url + path, headers=headers, timeout=10, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def row(self, order_id: str) -> dict[str, Any]:
        rows = [row for row in self.raw("GET", "/orders") if row["order_id"] == order_id]
        assert len(rows) == 1
        return dict(rows[0])


async def open_account(paper: RunningPaper, cash: str | None = None) -> Account:
    created = admin(paper, "POST", "/_paper/accounts", json={} if cash is None else {"cash": cash})
    broker = KiteBroker(kite_config(paper, created["api_key"], created["api_secret"], None))
    try:
        session = await broker.generate_session(created["request_token"])
    finally:
        await broker.close()
    return Account(paper, created, session)


@pytest.fixture
def paper(paper_factory: Callable[..., RunningPaper]) -> RunningPaper:
    """A paper Kite, markets always open, rate limits off."""
    running = paper_factory(SPEC, VenueConfig(tick_seconds=0))
    admin(running, "PUT", "/_paper/limits", json=NO_LIMITS)
    return running


@pytest.fixture
async def account(paper: RunningPaper) -> Account:
    return await open_account(paper)


@pytest.fixture
async def broker(account: Account) -> AsyncIterator[KiteBroker]:
    adapter = account.broker()
    yield adapter
    await adapter.close()


async def eventually(check: Callable[[], Any], seconds: float = 5.0) -> Any:
    """Poll an async ``check`` until it returns something truthy."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while True:
        result = await check()
        if result or loop.time() > end:
            return result
        await asyncio.sleep(0.05)
