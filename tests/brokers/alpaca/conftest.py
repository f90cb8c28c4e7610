"""Fixtures for the Alpaca adapter tests: a paper Alpaca on a real socket, an account, adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import requests

from boltztrader.brokers.alpaca import AlpacaBroker, AlpacaConfig
from boltztrader.brokers.transport import Timeouts
from boltztrader.domain.enums import Market, OrderType, Side, TimeInForce
from boltztrader.domain.reports import PlaceOrder
from boltztrader.domain.secrets import Secret
from boltztrader.paper.alpaca import SPEC
from boltztrader.paper.venue import VenueConfig
from tests.paper.conftest import RunningPaper, paper_factory  # noqa: F401 - the fixture, re-exported

SYMBOL = "AAPL"


def admin(paper: RunningPaper, method: str, path: str, **kwargs: Any) -> Any:
    response = requests.request(method, paper.url + path, timeout=10, **kwargs)
    assert response.status_code in (200, 201), response.text
    return response.json()


@dataclass
class Paper:
    """A running paper Alpaca with one funded account, and the adapters built for it."""

    paper: RunningPaper
    account: dict[str, Any]
    brokers: list[AlpacaBroker] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.paper.url

    def config(self, *, key_id: str | None = None, secret: str | None = None,
               timeouts: Timeouts | None = None, **extra: Any) -> AlpacaConfig:
        settings: dict[str, Any] = {"base_url": self.url, "reconnect_min": 0.05, "reconnect_max": 0.5,
                                    "stream_heartbeat": 5, **extra}
        return AlpacaConfig(key_id=key_id or self.account["key_id"],
                            secret_key=Secret(secret if secret is not None else self.account["secret_key"]),
                            paper=True, timeouts=timeouts or Timeouts(connect=3, read=10), **settings)

    def broker(self, config: AlpacaConfig | None = None, **kwargs: Any) -> AlpacaBroker:
        broker = AlpacaBroker(config or self.config(**kwargs))
        self.brokers.append(broker)
        return broker

    def new_account(self, cash: str | None = None) -> dict[str, Any]:
        created: dict[str, Any] = admin(self.paper, "POST", "/_paper/accounts",
                                        json={} if cash is None else {"cash": cash})
        return created

    def set_price(self, symbol: str, price: str, liquidity: str | None = None) -> None:
        body: dict[str, Any] = {"prices": {symbol: price}}
        if liquidity is not None:
            body["liquidity"] = {symbol: liquidity}
        admin(self.paper, "POST", "/_paper/prices", json=body)

    def faults(self, plan: dict[str, Any]) -> None:
        admin(self.paper, "PUT", "/_paper/faults", json=plan)

    def price(self, symbol: str = SYMBOL) -> Decimal:
        return Decimal(admin(self.paper, "GET", "/_paper/prices")["prices"][symbol])


def market(cid: str, qty: str = "1", side: str = "buy", **kwargs: Any) -> PlaceOrder:
    return PlaceOrder(client_order_id=cid, symbol=kwargs.pop("symbol", SYMBOL), market=Market.US,
                      side=Side(side), order_type=OrderType.MARKET, quantity=Decimal(qty), **kwargs)


def limit(cid: str, price: str | Decimal, qty: str = "1", side: str = "buy", **kwargs: Any) -> PlaceOrder:
    return PlaceOrder(client_order_id=cid, symbol=kwargs.pop("symbol", SYMBOL), market=Market.US,
                      side=Side(side), order_type=OrderType.LIMIT, quantity=Decimal(qty),
                      limit_price=Decimal(price), time_in_force=kwargs.pop("time_in_force", TimeInForce.DAY),
                      **kwargs)


@pytest.fixture
async def alpaca_paper(paper_factory: Callable[..., RunningPaper]) -> AsyncIterator[Paper]:  # noqa: F811
    """A paper Alpaca (prices move only by hand) with a $100,000 account; adapters closed afterwards."""
    running = paper_factory(SPEC, VenueConfig(tick_seconds=0))
    world = Paper(running, admin(running, "POST", "/_paper/accounts"))
    yield world
    for broker in world.brokers:
        await broker.close()


@pytest.fixture
def start_paper(paper_factory: Callable[..., RunningPaper]) -> Callable[[VenueConfig], Paper]:  # noqa: F811
    """Start a paper Alpaca with a given venue config (adapters must be closed by the test)."""

    def start(config: VenueConfig) -> Paper:
        running = paper_factory(SPEC, config)
        return Paper(running, admin(running, "POST", "/_paper/accounts"))

    return start
