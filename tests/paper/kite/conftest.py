"""Fixtures for the paper Kite tests: a running server, an account and a logged-in session."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import requests

from boltztrader.paper.kite import SPEC
from boltztrader.paper.venue import VenueConfig
from tests.paper.conftest import RunningPaper

NO_LIMITS = {"orders_per_second": 0, "orders_per_minute": 0, "orders_per_day": 0, "quotes_per_second": 0,
             "others_per_second": 0}


def sha256(*parts: str) -> str:
    return hashlib.sha256("".join(parts).encode()).hexdigest()


@dataclass
class KiteUser:
    """A paper Kite account with a live access token, and raw HTTP helpers that send Kite's headers."""

    paper: RunningPaper
    account_id: str
    user_id: str
    api_key: str
    api_secret: str
    access_token: str

    @property
    def url(self) -> str:
        return self.paper.url

    def headers(self) -> dict[str, str]:
        return {"X-Kite-Version": "3", "Authorization": f"token {self.api_key}:{self.access_token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, self.url + path, headers=self.headers(), timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def data(self, method: str, path: str, **kwargs: Any) -> Any:
        """The ``data`` of a success envelope (fails the test on anything else)."""
        response = self.request(method, path, **kwargs)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]

    def place(self, **fields: Any) -> str:
        form = {"exchange": "NSE", "tradingsymbol": "INFY", "transaction_type": "BUY", "quantity": 1,
                "product": "CNC", "order_type": "LIMIT", "price": "1500", "validity": "DAY", **fields}
        variety = form.pop("variety", "regular")
        order_id: str = self.data("POST", f"/orders/{variety}", data=form)["order_id"]
        return order_id

    def order(self, order_id: str) -> dict[str, Any]:
        """The order's current row in the order book."""
        rows = [row for row in self.data("GET", "/orders") if row["order_id"] == order_id]
        assert len(rows) == 1
        return rows[0]

    def set_price(self, symbol: str, price: str) -> None:
        admin(self.paper, "POST", "/_paper/prices", json={"prices": {symbol: price}})

    def set_clock(self, moment: datetime) -> None:
        venue = self.paper.venue
        self.paper.call(lambda: setattr(venue, "clock", lambda: moment))


def admin(paper: RunningPaper, method: str, path: str, **kwargs: Any) -> Any:
    response = requests.request(method, paper.url + path, timeout=10, **kwargs)
    assert response.status_code in (200, 201), response.text
    return response.json()


def login(paper: RunningPaper, cash: str | None = None) -> KiteUser:
    """Create an account and exchange its request token for an access token over raw HTTP."""
    created = admin(paper, "POST", "/_paper/accounts", json={} if cash is None else {"cash": cash})
    api_key, secret, request_token = created["api_key"], created["api_secret"], created["request_token"]
    response = requests.post(paper.url + "/session/token", headers={"X-Kite-Version": "3"}, timeout=10,
                             data={"api_key": api_key, "request_token": request_token,
                                   "checksum": sha256(api_key, request_token, secret)})
    assert response.status_code == 200, response.text
    token = response.json()["data"]["access_token"]
    return KiteUser(paper, created["account_id"], created["user_id"], api_key, secret, token)


@pytest.fixture
def paper(paper_factory: Callable[..., RunningPaper]) -> RunningPaper:
    """A paper Kite server with the rate limits switched off (the limit tests switch them on)."""
    running = paper_factory(SPEC, VenueConfig(tick_seconds=0))
    admin(running, "PUT", "/_paper/limits", json=NO_LIMITS)
    return running


@pytest.fixture
def user(paper: RunningPaper) -> KiteUser:
    """A logged-in account with the default cash (1,000,000 INR)."""
    return login(paper)
