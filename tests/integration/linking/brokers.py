"""Our adapters, built in the tests (the accounts package may not name them) against a paper broker."""

from __future__ import annotations

from boltztrader.brokers.alpaca import AlpacaBroker, AlpacaConfig
from boltztrader.brokers.base import Broker as BrokerAdapter
from boltztrader.brokers.binance import BinanceBroker, BinanceConfig
from boltztrader.brokers.kite import KiteBroker, KiteConfig
from boltztrader.brokers.transport import Timeouts
from boltztrader.domain.enums import Broker
from boltztrader.domain.secrets import Secret
from boltztrader.paper.alpaca import SPEC as ALPACA
from boltztrader.paper.binance import SPEC as BINANCE
from boltztrader.paper.kite import SPEC as KITE
from boltztrader.paper.server import BrokerSpec

SPECS: dict[Broker, BrokerSpec] = {Broker.ZERODHA: KITE, Broker.BINANCE: BINANCE, Broker.ALPACA: ALPACA}
CURRENCY = {Broker.ZERODHA: "INR", Broker.BINANCE: "USDT", Broker.ALPACA: "USD"}
TIMEOUTS = Timeouts(connect=3, read=10)


def adapter(broker: Broker, url: str, api_key: str, api_secret: Secret,
            access_token: Secret | None) -> BrokerAdapter:
    """Our adapter for one account at the paper broker serving ``url``."""
    ws = url.replace("http://", "ws://")
    if broker is Broker.ZERODHA:
        return KiteBroker(KiteConfig(api_key=api_key, api_secret=api_secret, access_token=access_token,
                                     root_url=url, ws_url=ws, timeouts=TIMEOUTS))
    if broker is Broker.ALPACA:
        return AlpacaBroker(AlpacaConfig(key_id=api_key, secret_key=api_secret, paper=True, base_url=url,
                                         timeouts=TIMEOUTS))
    return BinanceBroker(BinanceConfig(api_key=Secret(api_key), api_secret=api_secret, base_url=url,
                                       futures_base_url=url, ws_api_url=ws + "/ws-api/v3", futures_ws_url=ws,
                                       timeouts=TIMEOUTS))
