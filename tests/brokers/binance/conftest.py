"""Fixtures for the Binance adapter tests: a paper Binance on a real socket, accounts, adapters."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from boltztrader.brokers.binance import BinanceBroker, BinanceConfig
from boltztrader.brokers.transport import Timeouts
from boltztrader.domain.enums import Market, OrderType, Side, TimeInForce
from boltztrader.domain.reports import BrokerEvent, PlaceOrder
from boltztrader.paper.binance import SPEC
from boltztrader.paper.venue import VenueConfig
from tests.contract.harness_binance import config_for
from tests.paper.conftest import RunningPaper, paper_factory  # noqa: F401 - the fixture, re-exported

SYMBOL = "BTCUSDT"
QTY = Decimal("0.001")
_ids = itertools.count(1)


def cid(prefix: str = "t") -> str:
    """A fresh client order id, valid on spot and futures."""
    return f"{prefix}-{next(_ids)}-{datetime.now(UTC).strftime('%H%M%S%f')}"


def admin(paper: RunningPaper, method: str, path: str, **kwargs: Any) -> Any:
    response = requests.request(method, paper.url + path, timeout=10, **kwargs)
    assert response.status_code in (200, 201), response.text
    return response.json()


def spot_order(client_id: str, side: str = "buy", *, order_type: OrderType = OrderType.MARKET,
               quantity: Decimal | None = QTY, notional: Decimal | None = None,
               limit_price: Decimal | None = None, tif: TimeInForce = TimeInForce.GTC,
               symbol: str = SYMBOL, **extra: Any) -> PlaceOrder:
    return PlaceOrder(client_order_id=client_id, symbol=symbol, market=Market.CRYPTO, side=Side(side),
                      order_type=order_type, quantity=None if notional is not None else quantity,
                      notional=notional, limit_price=limit_price, time_in_force=tif, **extra)


def futures_order(client_id: str, side: str = "buy", *, order_type: OrderType = OrderType.MARKET,
                  quantity: Decimal = Decimal("0.01"), limit_price: Decimal | None = None,
                  **extra: Any) -> PlaceOrder:
    return PlaceOrder(client_order_id=client_id, symbol=SYMBOL, market=Market.CRYPTO_FUTURES,
                      side=Side(side), order_type=order_type, quantity=quantity, limit_price=limit_price,
                      time_in_force=TimeInForce.GTC, **extra)


@dataclass
class Paper:
    """A running paper Binance with one funded account, and the adapters built for it (closed after)."""

    paper: RunningPaper
    account: dict[str, Any]
    brokers: list[BinanceBroker] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.paper.url

    def config(self, *, key: str | None = None, secret: str | None = None, market: Market = Market.CRYPTO,
               timeouts: Timeouts | None = None, **extra: Any) -> BinanceConfig:
        return config_for(self.paper, key if key is not None else self.account["api_key"],
                          secret if secret is not None else self.account["api_secret"], market=market,
                          timeouts=timeouts, **extra)

    def broker(self, config: BinanceConfig | None = None, **kwargs: Any) -> BinanceBroker:
        broker = BinanceBroker(config or self.config(**kwargs))
        self.brokers.append(broker)
        return broker

    def new_account(self, cash: dict[str, str] | None = None) -> dict[str, Any]:
        return admin(self.paper, "POST", "/_paper/accounts", json={"cash": cash} if cash else {})

    def faults(self, plan: dict[str, Any]) -> None:
        admin(self.paper, "PUT", "/_paper/faults", json=plan)

    def price(self, symbol: str, price: Decimal, liquidity: Decimal | None = None) -> None:
        body: dict[str, Any] = {"prices": {symbol: str(price)}}
        if liquidity is not None:
            body["liquidity"] = {symbol: str(liquidity)}
        admin(self.paper, "POST", "/_paper/prices", json=body)

    def skew_server_clock(self, seconds: float) -> None:
        """Move the paper server's clock (what it checks timestamps against) by ``seconds``."""
        venue = self.paper.venue
        self.paper.call(lambda: setattr(venue, "clock",
                                        lambda: datetime.now(UTC) + timedelta(seconds=seconds)))

    def revoke(self) -> None:
        admin(self.paper, "POST", f"/_paper/accounts/{self.account['account_id']}/revoke")


@pytest.fixture
async def paper(paper_factory: Callable[..., RunningPaper]) -> AsyncIterator[Paper]:  # noqa: F811
    """A paper Binance (prices only move on demand; BTCUSDT at 60000) with a default-funded account."""
    running = paper_factory(SPEC, VenueConfig(tick_seconds=0))
    p = Paper(running, admin(running, "POST", "/_paper/accounts", json={}))
    yield p
    for broker in p.brokers:
        await broker.close()


async def next_event(events: AsyncIterator[BrokerEvent], want: Callable[[BrokerEvent], bool],
                     seconds: float = 10) -> BrokerEvent:
    """The next event from ``events`` that ``want`` accepts (fails the test after ``seconds``)."""
    async with asyncio.timeout(seconds):
        while True:
            event = await anext(events)
            if want(event):
                return event
