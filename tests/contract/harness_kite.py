"""The contract harness for ``KiteBroker`` against the paper Kite.

``start`` opens a funded account and logs in through the adapter's own ``generate_session`` (the
request-token checksum exchange), and switches the paper's rate limits off (the contract's 429
comes from the fault plan). Kite's access token dies at the next 06:00 IST: ``expire_credentials``
moves the paper venue's clock a day on. A closed market is real NSE hours on a Saturday: the venue
clock is pinned to one by ``start`` whenever the config asks for real hours (the venue is created
inside the paper server, so the clock can only be set once it runs).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from boltztrader.brokers.kite import KiteBroker, KiteConfig
from boltztrader.brokers.kite.login import KiteSession
from boltztrader.brokers.transport import Timeouts
from boltztrader.domain.enums import Market, Product, TimeInForce
from boltztrader.domain.secrets import Secret
from boltztrader.paper.kite import SPEC
from boltztrader.paper.venue import VenueConfig

from ..paper.conftest import RunningPaper
from .harness import PaperFactory, Spot, admin

T = TypeVar("T")

NO_LIMITS = {"orders_per_second": 0, "orders_per_minute": 0, "orders_per_day": 0, "quotes_per_second": 0,
             "others_per_second": 0}
# A Saturday, mid-morning IST (04:30 UTC = 10:00 IST): NSE is closed all day.
SATURDAY = datetime(2026, 5, 9, 4, 30, tzinfo=UTC)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from sync code, even when called inside a running event loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=30)


def set_clock(paper: RunningPaper, moment: datetime) -> None:
    """Pin the paper venue's clock (what its sessions, hours and timestamps read)."""
    venue = paper.venue
    paper.call(lambda: setattr(venue, "clock", lambda: moment))


class KiteHarness:
    name = "kite"
    spot = Spot(symbol="INFY", market=Market.NSE, quantity=Decimal(1), tick=Decimal("0.05"),
                limit_tif=TimeInForce.DAY, market_tif=TimeInForce.DAY, extra={"product": Product.CNC})
    position_symbol = "INFY"

    def __init__(self) -> None:
        self.paper: RunningPaper
        self.account: dict[str, Any] = {}
        self.session: KiteSession

    def start(self, paper_factory: PaperFactory, config: VenueConfig) -> None:
        self.paper = paper_factory(SPEC, config)
        if config.real_hours:
            set_clock(self.paper, SATURDAY)
        admin(self.paper, "PUT", "/_paper/limits", json=NO_LIMITS)
        self.account = admin(self.paper, "POST", "/_paper/accounts", json={})
        self.session = self.login(self.account)

    def config(self, api_key: str, api_secret: str, access_token: str | None,
               timeouts: Timeouts | None = None) -> KiteConfig:
        return KiteConfig(api_key=api_key, api_secret=Secret(api_secret),
                          access_token=None if access_token is None else Secret(access_token),
                          root_url=self.paper.url, ws_url=self.paper.url.replace("http://", "ws://"),
                          timeouts=timeouts or Timeouts(connect=3, read=10), reconnect_initial=0.05,
                          reconnect_max=0.5)

    def login(self, account: dict[str, Any]) -> KiteSession:
        """Exchange the account's request token through the adapter's own login."""
        async def exchange() -> KiteSession:
            broker = KiteBroker(self.config(account["api_key"], account["api_secret"], None))
            try:
                return await broker.generate_session(account["request_token"])
            finally:
                await broker.close()

        return run_sync(exchange())

    async def broker(self, *, timeouts: Timeouts | None = None, bad_secret: bool = False) -> KiteBroker:
        token = "not-the-access-token" if bad_secret else self.session.access_token.reveal()
        return KiteBroker(self.config(self.account["api_key"], self.account["api_secret"], token, timeouts))

    def poor_account_broker_kwargs(self) -> dict[str, Any]:
        poor = admin(self.paper, "POST", "/_paper/accounts", json={"cash": "1000"})
        session = self.login(poor)
        return {"api_key": poor["api_key"], "api_secret": poor["api_secret"],
                "access_token": session.access_token.reveal()}

    async def broker_for(self, **kwargs: Any) -> KiteBroker:
        return KiteBroker(self.config(kwargs["api_key"], kwargs["api_secret"], kwargs["access_token"],
                                      kwargs.get("timeouts")))

    def expire_credentials(self) -> None:
        """A day later is past the next 06:00 IST, whenever the login happened."""
        venue = self.paper.venue
        now = self.paper.call(venue.now)
        assert isinstance(now, datetime)
        set_clock(self.paper, now + timedelta(days=1, hours=1))

    def closed_market_config(self) -> VenueConfig | None:
        return VenueConfig(real_hours=True, tick_seconds=0)


HARNESS = KiteHarness
