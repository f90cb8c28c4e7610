"""The broker factory: stored credentials in, the right adapter at the right host out.

Paper accounts trade at the paper brokers (their URLs come from settings); live accounts at the
brokers' real hosts, and only in live mode. This is the one place that names concrete adapters.
"""

from __future__ import annotations

from collections.abc import Mapping

from boltztrader.accounts.linking import AccountCredentials
from boltztrader.brokers.alpaca import AlpacaBroker, AlpacaConfig
from boltztrader.brokers.base import Broker
from boltztrader.brokers.binance import BinanceBroker, BinanceConfig
from boltztrader.brokers.kite import KiteBroker, KiteConfig
from boltztrader.brokers.transport import SessionPool
from boltztrader.domain.enums import AccountMode
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.secrets import Secret
from boltztrader.errors import ConfigError
from boltztrader.settings import RunMode, Settings

__all__ = ["BrokerFactory", "paper_urls"]


def paper_urls(settings: Settings) -> dict[BrokerName, str]:
    return {BrokerName.ZERODHA: settings.paper_kite_url.rstrip("/"),
            BrokerName.BINANCE: settings.paper_binance_url.rstrip("/"),
            BrokerName.ALPACA: settings.paper_alpaca_url.rstrip("/")}


class BrokerFactory:
    """Builds adapters that share one connection pool per broker host."""

    def __init__(self, settings: Settings, *, paper: Mapping[BrokerName, str] | None = None) -> None:
        self._settings = settings
        self._paper = dict(paper or paper_urls(settings))
        self._pools = {name: SessionPool() for name in BrokerName}

    def __call__(self, credentials: AccountCredentials) -> Broker:
        broker, mode = BrokerName(credentials.broker), AccountMode(credentials.mode)
        if mode is AccountMode.LIVE and self._settings.mode is not RunMode.LIVE:
            raise ConfigError(f"account {credentials.account_id} is live, but BOLTZ_MODE is paper")
        pool = self._pools[broker]
        url = self._paper[broker] if mode is AccountMode.PAPER else None
        ws = None if url is None else url.replace("http://", "ws://").replace("https://", "wss://")
        if broker is BrokerName.ZERODHA:
            if url is None:
                return KiteBroker(KiteConfig(api_key=credentials.api_key, api_secret=credentials.api_secret,
                                             access_token=credentials.access_token, sessions=pool))
            assert ws is not None
            return KiteBroker(KiteConfig(api_key=credentials.api_key, api_secret=credentials.api_secret,
                                         access_token=credentials.access_token, root_url=url, ws_url=ws,
                                         sessions=pool))
        if broker is BrokerName.BINANCE:
            key = Secret(credentials.api_key)
            if url is None:
                return BinanceBroker(BinanceConfig(api_key=key, api_secret=credentials.api_secret,
                                                   sessions=pool))
            assert ws is not None
            return BinanceBroker(BinanceConfig(api_key=key, api_secret=credentials.api_secret, base_url=url,
                                               futures_base_url=url, ws_api_url=ws + "/ws-api/v3",
                                               futures_ws_url=ws, sessions=pool))
        # Alpaca: a paper account goes to the configured paper URL (ours by default); live to Alpaca.
        return AlpacaBroker(AlpacaConfig(key_id=credentials.api_key, secret_key=credentials.api_secret,
                                         paper=mode is AccountMode.PAPER, base_url=url, sessions=pool))

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.close()
