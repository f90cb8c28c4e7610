"""The contract-suite harness for the Binance spot adapter against the paper Binance."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boltztrader.brokers.base import Broker
from boltztrader.brokers.binance import BinanceBroker, BinanceConfig
from boltztrader.brokers.transport import Timeouts
from boltztrader.domain.enums import Market, TimeInForce
from boltztrader.domain.secrets import Secret
from boltztrader.paper.binance import SPEC
from boltztrader.paper.venue import VenueConfig

from ..paper.conftest import RunningPaper
from .harness import PaperFactory, Spot, admin

BTCUSDT = Spot(
    symbol="BTCUSDT",
    market=Market.CRYPTO,
    quantity=Decimal("0.001"),  # 60 USDT at the 60000 start price: above the 5 USDT NOTIONAL minimum
    tick=Decimal("0.01"),
    limit_tif=TimeInForce.GTC,
    market_tif=TimeInForce.GTC,
    extra={},
)


def config_for(paper: RunningPaper, api_key: str, api_secret: str, *, market: Market = Market.CRYPTO,
               timeouts: Timeouts | None = None, **extra: Any) -> BinanceConfig:
    """A BinanceConfig aimed at the paper broker (REST, WebSocket API and listenKey streams)."""
    ws = paper.url.replace("http://", "ws://")
    return BinanceConfig(
        api_key=Secret(api_key), api_secret=Secret(api_secret), market=market,
        base_url=paper.url, futures_base_url=paper.url, ws_api_url=ws + "/ws-api/v3", futures_ws_url=ws,
        timeouts=timeouts or Timeouts(connect=2.0, read=5.0), stream_backoff_initial=0.05,
        stream_backoff_max=0.5, **extra,
    )


class BinanceHarness:
    name = "binance"
    spot = BTCUSDT
    position_symbol = "BTCUSDT"  # spot holdings are reported as <asset><quote> positions
    paper: RunningPaper
    account: dict[str, Any]

    def start(self, paper_factory: PaperFactory, config: VenueConfig) -> None:
        self.paper = paper_factory(SPEC, config)
        self.account = admin(self.paper, "POST", "/_paper/accounts", json={})

    async def broker(self, *, timeouts: Timeouts | None = None, bad_secret: bool = False) -> Broker:
        secret = "0" * 48 if bad_secret else self.account["api_secret"]
        return BinanceBroker(config_for(self.paper, self.account["api_key"], secret, timeouts=timeouts))

    def poor_account_broker_kwargs(self) -> dict[str, Any]:
        poor = admin(self.paper, "POST", "/_paper/accounts", json={"cash": {"USDT": "1"}})
        return {"api_key": poor["api_key"], "api_secret": poor["api_secret"]}

    async def broker_for(self, **kwargs: Any) -> Broker:
        timeouts = kwargs.pop("timeouts", None)
        return BinanceBroker(config_for(self.paper, kwargs.pop("api_key"), kwargs.pop("api_secret"),
                                        timeouts=timeouts, **kwargs))

    def expire_credentials(self) -> None:
        """Binance keys do not expire: the user deletes the key (-2015 afterwards)."""
        admin(self.paper, "POST", f"/_paper/accounts/{self.account['account_id']}/revoke")

    def closed_market_config(self) -> VenueConfig | None:
        return None  # crypto never closes


HARNESS = BinanceHarness
