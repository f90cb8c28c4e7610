"""The Alpaca HTTP client: one keep-alive session per host, prebuilt headers and URLs, and the
``X-Ratelimit-*`` bookkeeping. Every request goes through ``transport.send`` (which decides whether
a failed request may have reached the broker); every non-2xx answer through ``errors.error_for``.
"""

from __future__ import annotations

import aiohttp
from yarl import URL

from boltztrader.brokers.alpaca.config import AlpacaConfig
from boltztrader.brokers.alpaca.errors import BROKER, error_for
from boltztrader.brokers.alpaca.wire import (
    JSON_TYPE,
    KEY_HEADER,
    LIMIT_HEADER,
    RATE_WINDOW_SECONDS,
    REMAINING_HEADER,
    RESET_HEADER,
    SECRET_HEADER,
    loads,
)
from boltztrader.brokers.base import RateBudget
from boltztrader.brokers.transport import Response, new_session, send
from boltztrader.errors import BrokerProtocolError


class RateTracker:
    """The last ``X-Ratelimit-*`` values one host reported (kept raw; parsed only when asked)."""

    __slots__ = ("limit", "name", "remaining", "reset")

    def __init__(self, name: str) -> None:
        self.name = name
        self.limit: str | None = None
        self.remaining: str | None = None
        self.reset: str | None = None

    def note(self, response: Response) -> None:
        headers = response.headers
        limit = headers.get(LIMIT_HEADER)
        if limit is not None:
            self.limit = limit
            self.remaining = headers.get(REMAINING_HEADER)
            self.reset = headers.get(RESET_HEADER)

    def budget(self) -> RateBudget | None:
        if self.limit is None:
            return None
        try:
            limit = int(self.limit)
            remaining = int(self.remaining) if self.remaining is not None else limit
        except ValueError:
            return None
        if limit <= 0:  # no limit in force
            return None
        return RateBudget(used=max(limit - remaining, 0), limit=limit, window_seconds=RATE_WINDOW_SECONDS,
                          name=self.name)


class Host:
    """One origin: its session (opened on first use, inside the running loop) and its rate budget."""

    __slots__ = ("_config", "_session", "origin", "rates")

    def __init__(self, origin: str, config: AlpacaConfig, rates: RateTracker) -> None:
        self.origin = origin
        self.rates = rates
        self._config = config
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or session.closed:
            pool = self._config.sessions
            session = self._session = (
                pool.session(self.origin, self._config.timeouts) if pool is not None
                else new_session(limit=self._config.connection_limit, timeouts=self._config.timeouts))
        return session

    async def close(self) -> None:
        owned = self._config.sessions is None  # a pooled session belongs to the pool
        if owned and self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


class AlpacaClient:
    """Trading and Market Data requests for one account (the two share a host on our paper broker)."""

    def __init__(self, config: AlpacaConfig) -> None:
        trading = config.trading_url
        data = config.resolved_data_url
        # The secret enters a header dict once, here; it is never logged or put in a message.
        self.read_headers = {KEY_HEADER: config.key_id, SECRET_HEADER: config.secret_key.reveal()}
        self.write_headers = {**self.read_headers, "Content-Type": JSON_TYPE}
        self.trading = Host(trading, config, RateTracker("requests"))
        self.data = self.trading if data == trading else Host(data, config, RateTracker("data_requests"))
        self.orders_url = URL(trading + "/v2/orders")
        self.by_client_id_url = URL(trading + "/v2/orders:by_client_order_id")
        self.orders_prefix = trading + "/v2/orders/"
        self.account_url = URL(trading + "/v2/account")
        self.positions_url = URL(trading + "/v2/positions")
        self.assets_prefix = trading + "/v2/assets/"
        self.stocks_prefix = data + "/v2/stocks/"

    async def call(self, host: Host, method: str, url: URL, *, changes_state: bool, body: bytes | None = None,
                   symbol_lookup: bool = False) -> object:
        """Send once; the decoded JSON (None for 204 or an empty body) or the classified error."""
        response = await send(host.session(), method, url, changes_state=changes_state,
                              headers=self.write_headers if body is not None else self.read_headers,
                              data=body, broker=BROKER)
        host.rates.note(response)
        status = response.status
        if 200 <= status < 300:
            if status == 204 or not response.body:
                return None
            try:
                return loads(response.body)
            except (ValueError, UnicodeDecodeError):
                raise BrokerProtocolError(f"{BROKER} {method} {url.path}: answer is not JSON") from None
        raise error_for(status, response.body, response.headers, changes_state=changes_state,
                        where=f"{method} {url.path}", symbol_lookup=symbol_lookup)

    def rate_budgets(self) -> list[RateBudget]:
        hosts = (self.trading,) if self.data is self.trading else (self.trading, self.data)
        return [budget for budget in (host.rates.budget() for host in hosts) if budget is not None]

    async def close(self) -> None:
        await self.trading.close()
        if self.data is not self.trading:
            await self.data.close()
