"""What the shared broker contract suite needs from each adapter: one Harness per broker.

A harness starts the broker's paper server (a real socket, its own thread), funds an account
through ``/_paper/``, and builds our adapter for it. Each ``harness_<broker>.py`` implements this
protocol; ``test_contract.py`` runs every scenario against every harness.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import requests

from boltztrader.brokers.base import Broker
from boltztrader.brokers.transport import Timeouts
from boltztrader.domain.enums import Market, OrderType, Side, TimeInForce
from boltztrader.domain.reports import PlaceOrder
from boltztrader.paper.venue import VenueConfig

from ..paper.conftest import RunningPaper

PaperFactory = Callable[..., RunningPaper]


@dataclass(frozen=True)
class Spot:
    """A liquid instrument and sizes that fit its rules at the paper broker's start price."""

    symbol: str
    market: Market
    quantity: Decimal  # a small valid quantity
    tick: Decimal
    limit_tif: TimeInForce  # what a resting limit order uses at this broker
    market_tif: TimeInForce  # what a market order uses (Binance GTC, Alpaca and Kite DAY)
    extra: dict[str, Any]  # fields PlaceOrder needs at this broker (product, market_protection ...)


class Harness(Protocol):
    name: str  # kite, binance, alpaca
    spot: Spot
    position_symbol: str  # the symbol get_positions reports a buy of spot.symbol under (Binance spot: BTC)
    paper: RunningPaper
    account: dict[str, Any]  # what POST /_paper/accounts returned

    def start(self, paper_factory: PaperFactory, config: VenueConfig) -> None:
        """Start the paper broker with ``config`` and open a funded account (logged in, for Kite)."""

    async def broker(self, *, timeouts: Timeouts | None = None, bad_secret: bool = False) -> Broker:
        """Our adapter for the account (``bad_secret``: with a wrong secret or token)."""

    def poor_account_broker_kwargs(self) -> dict[str, Any]:
        """Open a second account with almost no cash; return what ``broker_for`` needs to use it."""

    async def broker_for(self, **kwargs: Any) -> Broker:
        """Our adapter for another account opened by this harness."""

    def expire_credentials(self) -> None:
        """Make the account's credentials stop working the way they expire at this broker
        (Kite: the clock passes 06:00 IST; Binance and Alpaca: the key is revoked)."""

    def closed_market_config(self) -> VenueConfig | None:
        """A venue config whose market is closed now (real hours, a weekend clock); None for
        markets that never close (crypto)."""


def admin(paper: RunningPaper, method: str, path: str, **kwargs: Any) -> Any:
    """Call the paper broker's ``/_paper/`` admin API; fail the test on an error."""
    response = requests.request(method, paper.url + path, timeout=10, **kwargs)
    assert response.status_code in (200, 201), response.text
    return response.json()


def set_price(paper: RunningPaper, symbol: str, price: Decimal, liquidity: Decimal | None = None) -> None:
    body: dict[str, Any] = {"prices": {symbol: str(price)}}
    if liquidity is not None:
        body["liquidity"] = {symbol: str(liquidity)}
    admin(paper, "POST", "/_paper/prices", json=body)


def price_of(paper: RunningPaper, symbol: str) -> Decimal:
    return Decimal(admin(paper, "GET", "/_paper/prices")["prices"][symbol])


def set_faults(paper: RunningPaper, plan: dict[str, Any]) -> None:
    admin(paper, "PUT", "/_paper/faults", json=plan)


def order(spot: Spot, client_order_id: str, side: str = "buy", *, order_type: OrderType = OrderType.MARKET,
          quantity: Decimal | None = None, limit_price: Decimal | None = None,
          notional: Decimal | None = None) -> PlaceOrder:
    """A PlaceOrder for the harness's instrument with its broker-specific extras."""
    return PlaceOrder(
        client_order_id=client_order_id, symbol=spot.symbol, market=spot.market, side=Side(side),
        order_type=order_type, quantity=None if notional is not None else (quantity or spot.quantity),
        notional=notional, limit_price=limit_price,
        time_in_force=spot.limit_tif if order_type is OrderType.LIMIT else spot.market_tif,
        **spot.extra,
    )
