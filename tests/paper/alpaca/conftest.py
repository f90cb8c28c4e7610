"""Fixtures for the paper Alpaca tests: a running server, a funded account and an authenticated session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from boltztrader.paper.alpaca import SPEC
from boltztrader.paper.venue import VenueConfig


@dataclass
class Alpaca:
    """A running paper Alpaca with one account and a requests session carrying its keys."""

    paper: Any  # tests/paper/conftest.py RunningPaper
    key: str
    secret: str
    http: requests.Session

    @property
    def url(self) -> str:
        return self.paper.url

    @property
    def ws_url(self) -> str:
        return self.paper.url.replace("http://", "ws://") + "/stream"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.url + path, timeout=10, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.http.post(self.url + path, json=body, timeout=10, **kwargs)

    def patch(self, path: str, body: Any = None) -> requests.Response:
        return self.http.patch(self.url + path, json=body, timeout=10)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.delete(self.url + path, timeout=10, **kwargs)

    def order(self, **fields: Any) -> requests.Response:
        body = {"symbol": "AAPL", "qty": "1", "side": "buy", "type": "market", "time_in_force": "day"}
        body.update(fields)
        return self.post("/v2/orders", body)

    def set_price(self, symbol: str, price: str) -> None:
        response = requests.post(self.url + "/_paper/prices", json={"prices": {symbol: price}}, timeout=10)
        assert response.status_code == 200, response.text

    def new_account(self, cash: str | None = None) -> tuple[str, str]:
        body = {} if cash is None else {"cash": cash}
        created = requests.post(self.url + "/_paper/accounts", json=body, timeout=10).json()
        return created["key_id"], created["secret_key"]


def connect(paper: Any, cash: str | None = None) -> Alpaca:
    body = {} if cash is None else {"cash": cash}
    created = requests.post(paper.url + "/_paper/accounts", json=body, timeout=10)
    assert created.status_code == 201, created.text
    key, secret = created.json()["key_id"], created.json()["secret_key"]
    session = requests.Session()
    session.headers.update({"APCA-API-KEY-ID": key, "APCA-API-SECRET-KEY": secret})
    return Alpaca(paper=paper, key=key, secret=secret, http=session)


@pytest.fixture
def alpaca_factory(paper_factory: Callable[..., Any]) -> Callable[..., Alpaca]:
    """Start a paper Alpaca (``config`` optional) with one funded account."""

    def factory(config: VenueConfig | None = None, cash: str | None = None) -> Alpaca:
        return connect(paper_factory(SPEC, config), cash)

    return factory


@pytest.fixture
def alpaca(alpaca_factory: Callable[..., Alpaca]) -> Alpaca:
    """A paper Alpaca with prices that only move by hand, and a $100,000 account."""
    return alpaca_factory()
