"""The frozen settings of one Binance adapter: one account, one market (spot or USD-M futures)."""

from __future__ import annotations

from dataclasses import dataclass, field

from boltztrader.brokers.transport import SessionPool, Timeouts
from boltztrader.domain.enums import Market
from boltztrader.domain.secrets import Secret
from boltztrader.errors import ConfigError

MARKETS = frozenset({Market.CRYPTO, Market.CRYPTO_FUTURES})
MAX_RECV_WINDOW = 60000


@dataclass(frozen=True, slots=True)
class BinanceConfig:
    """Credentials and endpoints. ``market`` is ``Market.CRYPTO`` (spot, ``/api/v3``) or
    ``Market.CRYPTO_FUTURES`` (USD-M, ``/fapi``).

    Signing: HMAC-SHA256 with ``api_secret``; when ``ed25519_private_key`` (PKCS#8 PEM text) is
    given, Ed25519 is used instead and ``api_secret`` may be empty. Secrets are ``Secret`` objects
    so that they never show in a repr, a log line or an exception.
    """

    api_key: Secret
    api_secret: Secret
    market: Market = Market.CRYPTO
    base_url: str = "https://api.binance.com"
    futures_base_url: str = "https://fapi.binance.com"
    ws_api_url: str = "wss://ws-api.binance.com:443/ws-api/v3"
    futures_ws_url: str = "wss://fstream.binance.com"  # listenKey streams: <this>/ws/<listenKey>
    recv_window: int = 5000
    timeouts: Timeouts = field(default_factory=Timeouts)
    ed25519_private_key: Secret | None = None
    quote_asset: str = "USDT"  # the cash currency of get_balance, and the quote of spot "positions"
    sync_time: bool = True  # fetch the server time before the first signed call
    stream_heartbeat: float = 30.0  # seconds between our WebSocket pings (detects a dead stream)
    stream_backoff_initial: float = 0.25  # seconds before the first reconnect attempt
    stream_backoff_max: float = 30.0
    stream_subscribe_timeout: float = 10.0
    listen_key_keepalive: float = 1800.0  # futures: PUT /fapi/v1/listenKey this often
    max_connections: int = 64
    sessions: SessionPool | None = None  # share one connection pool per host across accounts

    def __post_init__(self) -> None:
        for name in ("api_key", "api_secret"):
            value = getattr(self, name)
            if isinstance(value, str):  # accept plain text once, keep it wrapped from here on
                object.__setattr__(self, name, Secret(value))
            elif not isinstance(value, Secret):
                raise ConfigError(f"BinanceConfig.{name} must be a Secret")
        key = self.ed25519_private_key
        if isinstance(key, str):
            object.__setattr__(self, "ed25519_private_key", Secret(key))
        if not self.api_key:
            raise ConfigError("BinanceConfig.api_key is empty")
        if not self.api_secret and not self.ed25519_private_key:
            raise ConfigError("BinanceConfig needs api_secret (HMAC) or ed25519_private_key")
        if self.market not in MARKETS:
            raise ConfigError(f"BinanceConfig.market must be crypto or crypto_futures, not {self.market}")
        if not 0 < self.recv_window <= MAX_RECV_WINDOW:
            raise ConfigError(f"BinanceConfig.recv_window must be 1..{MAX_RECV_WINDOW} ms")
        for name in ("base_url", "futures_base_url", "ws_api_url", "futures_ws_url"):
            object.__setattr__(self, name, getattr(self, name).rstrip("/"))

    @property
    def futures(self) -> bool:
        return self.market is Market.CRYPTO_FUTURES

    @property
    def rest_url(self) -> str:
        """The REST root of this config's market."""
        return self.futures_base_url if self.futures else self.base_url
