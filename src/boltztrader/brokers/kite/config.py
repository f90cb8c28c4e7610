"""How to reach one Kite Connect account: the app's key and secret, the day's access token, the hosts."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from boltztrader.brokers.transport import SessionPool, Timeouts
from boltztrader.domain.secrets import Secret

ROOT_URL = "https://api.kite.trade"
LOGIN_URL = "https://kite.zerodha.com/connect/login"
WS_URL = "wss://ws.kite.trade"


@dataclass(frozen=True, slots=True)
class KiteConfig:
    """One Kite Connect app and user session.

    ``access_token`` is None until the user has logged in (``login.generate_session``); every call
    that needs it then fails with ``BrokerAuthError``. The REST API lives at the root of
    ``root_url`` (Kite has no version in the path), the order-update WebSocket at ``ws_url``.
    """

    api_key: str
    api_secret: Secret
    access_token: Secret | None = None
    root_url: str = ROOT_URL
    login_url: str = LOGIN_URL
    ws_url: str = WS_URL
    timeouts: Timeouts = field(default_factory=Timeouts)
    connection_limit: int = 64
    sessions: SessionPool | None = None  # share one connection pool per host across accounts
    # Reconnect backoff of the order-update stream: first wait, doubling up to the cap.
    reconnect_initial: float = 0.2
    reconnect_max: float = 10.0
    # Heartbeat ping of the stream: a silent dead connection is noticed within about this long.
    heartbeat: float = 15.0

    def __post_init__(self) -> None:
        if not self.api_key or not isinstance(self.api_key, str):
            raise ValueError("api_key is required")
        if not isinstance(self.api_secret, Secret):
            raise TypeError("api_secret must be a Secret")
        if self.access_token is not None and not isinstance(self.access_token, Secret):
            raise TypeError("access_token must be a Secret or None")
        object.__setattr__(self, "root_url", self.root_url.rstrip("/"))
        object.__setattr__(self, "ws_url", self.ws_url.rstrip("/"))

    def with_access_token(self, token: Secret) -> KiteConfig:
        """The same config with a new day's access token."""
        return replace(self, access_token=token)
