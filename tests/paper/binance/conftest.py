"""Fixtures for the paper Binance tests: a running server, a funded account, and a raw signed client."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from boltztrader.paper.binance import SPEC
from tests.paper.conftest import RunningPaper


@dataclass
class Raw:
    """A hand-made Binance client: puts parameters exactly where a test says and signs the wire bytes."""

    url: str
    key: str
    secret: str

    def sign(self, payload: str) -> str:
        return hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()

    def send(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        body: str = "",
        sign: bool = True,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send ``query`` and ``body`` as given; when signing, append the signature to the body if
        there is one, else to the query."""
        if sign:
            signature = self.sign(query + body)
            if body:
                body += f"&signature={signature}"
            else:
                query += ("&" if query else "") + f"signature={signature}"
        hdrs = {"X-MBX-APIKEY": self.key, "Content-Type": "application/x-www-form-urlencoded"}
        hdrs.update(headers or {})
        url = self.url + path + (f"?{query}" if query else "")
        return requests.request(method, url, data=body.encode() if body else None, headers=hdrs, timeout=10)

    def call(self, method: str, path: str, **params: Any) -> requests.Response:
        """Signed call with the parameters (and a fresh timestamp) in the query string."""
        params.setdefault("timestamp", now_ms())
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return self.send(method, path, query=query)


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def paper(paper_factory: Callable[..., RunningPaper]) -> RunningPaper:
    """A paper Binance on a real socket, with prices at their catalogue start (BTCUSDT 60000)."""
    return paper_factory(SPEC)


def new_account(paper: RunningPaper, cash: dict[str, str] | None = None) -> dict[str, Any]:
    body = {"cash": cash} if cash is not None else {}
    response = requests.post(paper.url + "/_paper/accounts", json=body, timeout=10)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


@pytest.fixture
def raw(paper: RunningPaper) -> Raw:
    """A raw signed client for a freshly funded account."""
    account = new_account(paper)
    return Raw(paper.url, account["api_key"], account["api_secret"])


def set_price(paper: RunningPaper, symbol: str, price: str) -> None:
    response = requests.post(paper.url + "/_paper/prices", json={"prices": {symbol: price}}, timeout=10)
    assert response.status_code == 200, response.text
