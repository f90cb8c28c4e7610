"""The contract harness for the Alpaca adapter against the paper Alpaca server.

Closed market: Alpaca does not refuse a market DAY order sent while the market is shut; it queues
it (status ``accepted``) for the next session, and the paper server does the same (a weekend
clock with real hours gives ``accepted``, see tests/brokers/alpaca). So ``closed_market_config``
returns None: ``MarketClosed`` is not what Alpaca answers to the contract's closed-market order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boltztrader.brokers.alpaca import AlpacaBroker, AlpacaConfig
from boltztrader.brokers.base import Broker
from boltztrader.brokers.transport import Timeouts
from boltztrader.domain.enums import Market, TimeInForce
from boltztrader.domain.secrets import Secret
from boltztrader.paper.alpaca import SPEC
from boltztrader.paper.venue import VenueConfig

from ..paper.conftest import RunningPaper
from .harness import PaperFactory, Spot, admin

SYMBOL = "AAPL"


class AlpacaHarness:
    """Runs the paper Alpaca and builds ``AlpacaBroker`` for its accounts."""

    name = "alpaca"
    spot = Spot(symbol=SYMBOL, market=Market.US, quantity=Decimal(1), tick=Decimal("0.01"),
                limit_tif=TimeInForce.DAY, market_tif=TimeInForce.DAY, extra={})
    position_symbol = SYMBOL
    paper: RunningPaper
    account: dict[str, Any]

    def start(self, paper_factory: PaperFactory, config: VenueConfig) -> None:
        self.paper = paper_factory(SPEC, config)
        self.account = admin(self.paper, "POST", "/_paper/accounts")

    def config(self, key_id: str, secret_key: str, timeouts: Timeouts | None = None) -> AlpacaConfig:
        return AlpacaConfig(key_id=key_id, secret_key=Secret(secret_key), paper=True, base_url=self.paper.url,
                            timeouts=timeouts or Timeouts(connect=3, read=10), reconnect_min=0.05,
                            reconnect_max=0.5, stream_heartbeat=5)

    async def broker(self, *, timeouts: Timeouts | None = None, bad_secret: bool = False) -> Broker:
        secret = "0" * 48 if bad_secret else self.account["secret_key"]
        return AlpacaBroker(self.config(self.account["key_id"], secret, timeouts))

    def poor_account_broker_kwargs(self) -> dict[str, Any]:
        poor = admin(self.paper, "POST", "/_paper/accounts", json={"cash": "10"})
        return {"key_id": poor["key_id"], "secret_key": poor["secret_key"]}

    async def broker_for(self, **kwargs: Any) -> Broker:
        return AlpacaBroker(self.config(kwargs["key_id"], kwargs["secret_key"], kwargs.get("timeouts")))

    def expire_credentials(self) -> None:
        """Alpaca keys do not expire; they are revoked (deleted or regenerated in the dashboard)."""
        admin(self.paper, "POST", f"/_paper/accounts/{self.account['account_id']}/revoke")

    def closed_market_config(self) -> VenueConfig | None:
        return None  # see the module doc: a closed market queues the order (accepted), it does not refuse it


HARNESS = AlpacaHarness
