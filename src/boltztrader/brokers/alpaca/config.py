"""The Alpaca adapter's configuration: keys, paper or live, hosts, timeouts, stream pacing.

Paper and live use different hosts and different keys. A paper key (Alpaca starts them with
``PK``) must never reach the live host, and a config that says ``paper=True`` must never point at
the live host: both are refused here, at construction, before anything is sent. Overrides exist
for our own paper broker; with a ``base_url`` override the market data and the stream default to
that same origin (the paper broker serves all three).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from boltztrader.brokers.alpaca.errors import AlpacaConfigError
from boltztrader.brokers.transport import SessionPool, Timeouts
from boltztrader.domain.secrets import Secret

PAPER_TRADING_URL = "https://paper-api.alpaca.markets"
LIVE_TRADING_URL = "https://api.alpaca.markets"
DATA_URL = "https://data.alpaca.markets"
PAPER_STREAM_URL = "wss://paper-api.alpaca.markets/stream"
LIVE_STREAM_URL = "wss://api.alpaca.markets/stream"
LIVE_HOST = "api.alpaca.markets"
PAPER_HOST = "paper-api.alpaca.markets"
PAPER_KEY_PREFIX = "PK"  # Alpaca's paper key ids start with PK (live ones with AK)


@dataclass(frozen=True, slots=True, repr=False)
class AlpacaConfig:
    """One Alpaca account's connection settings. ``secret_key`` is a ``Secret`` and stays one."""

    key_id: str
    secret_key: Secret
    paper: bool = True
    base_url: str | None = None  # bare origin, no /v2 (e.g. http://127.0.0.1:7103)
    data_url: str | None = None  # market data origin; default data.alpaca.markets (or base_url)
    stream_url: str | None = None  # full WebSocket URL, /stream included
    timeouts: Timeouts = field(default_factory=Timeouts)
    data_feed: str | None = None  # "iex" or "sip" for the latest quote/trade; None: the plan's default
    stream_heartbeat: float = 20.0  # seconds between WebSocket pings; a missing pong drops the stream
    reconnect_min: float = 0.5  # first reconnect delay (seconds), doubled up to reconnect_max
    reconnect_max: float = 30.0
    handshake_timeout: float = 10.0  # seconds to wait for the stream's authorization and listening acks
    instrument_ttl: float = 3600.0  # seconds an asset's rules stay cached
    connection_limit: int = 64
    sessions: SessionPool | None = None  # share one connection pool per host across accounts

    def __post_init__(self) -> None:
        if not isinstance(self.secret_key, Secret):
            raise AlpacaConfigError("secret_key must be a Secret")
        if not self.key_id or not self.key_id.isprintable() or self.key_id.strip() != self.key_id \
                or " " in self.key_id:
            raise AlpacaConfigError("key_id must be a non-empty printable string without spaces")
        if not self.secret_key or not self.secret_key.reveal().isprintable():
            raise AlpacaConfigError("secret_key must be a non-empty printable string")
        for name in ("base_url", "data_url"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _origin(value, name, ("http", "https")))
        if self.stream_url is not None:
            object.__setattr__(self, "stream_url", _origin(self.stream_url, "stream_url", ("ws", "wss"),
                                                          path_allowed=True))
        if self.data_feed is not None and self.data_feed not in ("iex", "sip", "delayed_sip", "otc", "boats"):
            raise AlpacaConfigError("data_feed must be iex, sip, delayed_sip, otc or boats")
        if not 0 < self.reconnect_min <= self.reconnect_max:
            raise AlpacaConfigError("reconnect delays must satisfy 0 < reconnect_min <= reconnect_max")
        if self.paper:
            for url in (self.trading_url, self.resolved_stream_url, self.resolved_data_url):
                if _host(url) == LIVE_HOST:
                    raise AlpacaConfigError("a paper config must not point at the live host")
        else:
            if self.key_id.startswith(PAPER_KEY_PREFIX):
                raise AlpacaConfigError("this is a paper key (it starts with PK): refusing to send it to the "
                                        "live host; set paper=True")
            for url in (self.trading_url, self.resolved_stream_url):
                if _host(url) == PAPER_HOST:
                    raise AlpacaConfigError("a live config must not point at the paper host")

    @property
    def trading_url(self) -> str:
        """The Trading API origin (no /v2, no trailing slash)."""
        if self.base_url is not None:
            return self.base_url
        return PAPER_TRADING_URL if self.paper else LIVE_TRADING_URL

    @property
    def resolved_data_url(self) -> str:
        """The Market Data API origin."""
        if self.data_url is not None:
            return self.data_url
        return self.base_url if self.base_url is not None else DATA_URL

    @property
    def resolved_stream_url(self) -> str:
        """The trade_updates WebSocket URL."""
        if self.stream_url is not None:
            return self.stream_url
        if self.base_url is not None:
            return "ws" + self.base_url[len("http"):] + "/stream"
        return PAPER_STREAM_URL if self.paper else LIVE_STREAM_URL

    def __repr__(self) -> str:
        shown = self.key_id[:2] + "***"
        return (f"AlpacaConfig(key_id={shown!r}, secret_key={self.secret_key!r}, paper={self.paper}, "
                f"trading_url={self.trading_url!r})")

    __str__ = __repr__


def _origin(url: str, name: str, schemes: tuple[str, ...], *, path_allowed: bool = False) -> str:
    """Check an override URL's scheme and host; strip the trailing slash (alpaca-py's ``//v2`` trap)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in schemes or not parts.hostname:
        raise AlpacaConfigError(f"{name} must be a {' or '.join(schemes)} URL with a host")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise AlpacaConfigError(f"{name} must carry no query, fragment or credentials")
    if parts.path.rstrip("/") and not path_allowed:
        raise AlpacaConfigError(f"{name} must be a bare origin (no path such as /v2)")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
