"""The signed HTTP client: one keep-alive session, server-time offset, rate-limit headers.

Parameter placement (consistent, and what the signature covers byte for byte): GET requests carry
everything in the query string; POST / PUT / DELETE carry everything in a form-urlencoded body
with an unchanging URL (so no URL is parsed per order). ``recvWindow`` and ``timestamp`` come
last, then ``signature``.

Clock: the offset to Binance's server time is fetched before the first signed call (and on
``sync_time()``), and re-fetched after every -1021; the -1021 itself is raised as
``TimestampRejected`` (retryable: nothing was done). This client never resends anything itself.

IP ban: after an HTTP 418 every call fails fast with ``RateLimited`` until ``banned_until``,
without touching the network (requests during a ban lengthen it).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from boltztrader.brokers.base import RateBudget
from boltztrader.brokers.binance import errors
from boltztrader.brokers.binance.config import BinanceConfig
from boltztrader.brokers.binance.signing import Signer, make_signer
from boltztrader.brokers.binance.wire import loads
from boltztrader.brokers.transport import Response, new_session, send
from boltztrader.errors import BrokerProtocolError, OutcomeUnknown, RateLimited, TradingError

log = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"
DEFAULT_BAN_SECONDS = 120
OFFSET_SHARE_SECONDS = 300  # a clock offset measured by one account serves the others on its host this long
# (weight per minute, orders per 10 s, orders per long window, long window seconds, its header suffix)
SPOT_LIMITS = (6000, 100, 200000, 86400, "1D")
FUTURES_LIMITS = (2400, 300, 1200, 60, "1M")


class BinanceClient:
    """REST calls for one account and one market (spot ``/api`` or USD-M ``/fapi``)."""

    __slots__ = (
        "_ban_until",
        "_futures",
        "_headers",
        "_long_header",
        "_long_seconds",
        "_max_connections",
        "_offset_ms",
        "_orders_10s",
        "_orders_long",
        "_pool",
        "_root",
        "_session",
        "_signer",
        "_synced",
        "_tail",
        "_time_path",
        "_timeouts",
        "_urls",
        "_weight",
        "limits",
    )

    def __init__(self, config: BinanceConfig) -> None:
        self._futures = config.futures
        self._root = config.rest_url
        self._timeouts = config.timeouts
        self._max_connections = config.max_connections
        self._session: aiohttp.ClientSession | None = None
        self._pool = config.sessions
        self._signer: Signer = make_signer(config.api_secret, config.ed25519_private_key)
        self._headers = {"X-MBX-APIKEY": config.api_key.reveal(), "Content-Type": FORM}
        self._tail = f"&recvWindow={config.recv_window}&timestamp="
        self._offset_ms = 0
        self._synced = not config.sync_time
        self._time_path = "/fapi/v1/time" if self._futures else "/api/v3/time"
        self._urls: dict[str, URL] = {}
        self._ban_until = 0.0
        table = FUTURES_LIMITS if self._futures else SPOT_LIMITS
        weight, orders_10s, orders_long, long_seconds, suffix = table
        self.limits = [weight, orders_10s, orders_long]
        self._long_seconds = long_seconds
        self._long_header = "X-MBX-ORDER-COUNT-" + suffix
        self._weight: int | None = None
        self._orders_10s: int | None = None
        self._orders_long: int | None = None

    def __repr__(self) -> str:
        return f"BinanceClient(root={self._root!r}, futures={self._futures})"

    # -- plumbing ----------------------------------------------------------------------------------
    def url(self, path: str) -> URL:
        found = self._urls.get(path)
        if found is None:
            found = self._urls[path] = URL(self._root + path)
        return found

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            pool = self._pool
            self._session = (pool.session(self._root, self._timeouts) if pool is not None
                             else new_session(limit=self._max_connections, timeouts=self._timeouts))
        return self._session

    def stream_session(self) -> aiohttp.ClientSession:
        """The session streams connect with: the pool's stream session when pooled, so a WebSocket
        never holds one of the connections orders are sent on."""
        if self._pool is not None:
            return self._pool.stream_session(self._root, self._timeouts)
        return self.session()

    @property
    def signer(self) -> Signer:
        return self._signer

    @property
    def api_key_header(self) -> dict[str, str]:
        return self._headers

    def timestamp(self) -> int:
        return int(time.time() * 1000) + self._offset_ms

    @property
    def offset_ms(self) -> int:
        """Server time minus our clock, in ms, as last measured."""
        return self._offset_ms

    @property
    def banned_until(self) -> datetime | None:
        """When the IP ban announced by the last HTTP 418 ends (None: not banned). Every account
        behind this IP is banned too: the caller should pause them all."""
        if self._ban_until > time.time():
            return datetime.fromtimestamp(self._ban_until, tz=UTC)
        return None

    def _check_ban(self, op: str) -> None:
        left = self._ban_until - time.time()
        if left > 0:
            raise RateLimited(f"binance {op}: IP banned, not sent", retry_after=Decimal(round(left, 3)))

    # -- calls ---------------------------------------------------------------------------------------
    async def signed(self, method: str, path: str, params: str, *, changes_state: bool, op: str) -> Any:
        """A TRADE / USER_DATA call; ``params`` is the encoded ``k=v&...`` without the signed tail."""
        if self._ban_until:
            self._check_ban(op)
        if not self._synced:
            shared = self._pool.recall(self._root, "clock_offset_ms", max_age=OFFSET_SHARE_SECONDS) \
                if self._pool is not None else None
            if isinstance(shared, int):  # another account on this host measured it a moment ago
                self._offset_ms, self._synced = shared, True
            else:
                await self.sync_time()
        stamp = int(time.time() * 1000) + self._offset_ms
        payload = f"{params}{self._tail}{stamp}" if params else f"{self._tail[1:]}{stamp}"
        payload += "&signature=" + self._signer.sign(payload)
        # Everything in the query string, for every method (Binance accepts it): no request body
        # means aiohttp builds no payload object, which is most of our cost over a bare request.
        url = URL(f"{self._root}{path}?{payload}", encoded=True)
        resp = await send(self.session(), method, url, changes_state=changes_state, headers=self._headers,
                          broker="binance")
        return await self._answer(resp, changes_state, op)

    async def public(self, path: str, query: str = "", *, op: str) -> Any:
        if self._ban_until:
            self._check_ban(op)
        url = URL(f"{self._root}{path}?{query}", encoded=True) if query else self.url(path)
        resp = await send(self.session(), "GET", url, changes_state=False, broker="binance")
        return await self._answer(resp, False, op)

    async def keyed(self, method: str, path: str, params: str = "", *, op: str) -> Any:
        """A USER_STREAM call (listenKey): API-key header only, no signature."""
        if self._ban_until:
            self._check_ban(op)
        url = URL(f"{self._root}{path}?{params}", encoded=True) if params else self.url(path)
        resp = await send(self.session(), method, url, changes_state=False, headers=self._headers,
                          broker="binance")
        return await self._answer(resp, False, op)

    async def sync_time(self) -> int:
        """Measure the server-time offset (midpoint of the round trip); return it in ms."""
        before = time.time() * 1000
        body = await self.public(self._time_path, op="time")
        after = time.time() * 1000
        try:
            server = int(body["serverTime"])
        except (KeyError, TypeError, ValueError):
            raise BrokerProtocolError("binance time: unexpected answer") from None
        self._offset_ms = round(server - (before + after) / 2)
        self._synced = True
        if self._pool is not None:
            self._pool.remember(self._root, "clock_offset_ms", self._offset_ms)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("binance clock offset %d ms", self._offset_ms)
        return self._offset_ms

    async def _answer(self, resp: Response, changes_state: bool, op: str) -> Any:
        self._track(resp.headers)
        if 200 <= resp.status < 300:
            try:
                return loads(resp.body, op)
            except BrokerProtocolError:
                if changes_state:  # it answered 2xx: it acted, but we cannot read what it did
                    raise OutcomeUnknown(f"binance {op}: the answer is not JSON; the broker acted") from None
                raise
        error = errors.classify(resp.status, resp.body, resp.headers, changes_state=changes_state, op=op)
        await self._after_error(resp, error)
        raise error

    async def _after_error(self, resp: Response, error: TradingError) -> None:
        if resp.status == 418:
            seconds = float(error.retry_after) if isinstance(error, RateLimited) and error.retry_after else \
                DEFAULT_BAN_SECONDS
            self._ban_until = time.time() + seconds
            log.warning("binance: IP banned for %.0f s (HTTP 418)", seconds)
        elif isinstance(error, errors.TimestampRejected):
            log.warning("binance: -1021 timestamp rejected; re-syncing the clock")
            try:
                await self.sync_time()
            except TradingError:
                self._synced = False  # try again before the next signed call

    # -- rate budgets --------------------------------------------------------------------------------
    def _track(self, headers: CIMultiDictProxy[str]) -> None:
        weight = headers.get("X-MBX-USED-WEIGHT-1M")
        if weight is not None and weight.isdigit():
            self._weight = int(weight)
        count = headers.get("X-MBX-ORDER-COUNT-10S")
        if count is not None and count.isdigit():
            self._orders_10s = int(count)
            count = headers.get(self._long_header)
            if count is not None and count.isdigit():
                self._orders_long = int(count)

    def set_limits(self, rate_limits: list[dict[str, Any]]) -> None:
        """Take the real limits from exchangeInfo's ``rateLimits``."""
        for row in rate_limits:
            kind, interval, num, limit = (row.get("rateLimitType"), row.get("interval"),
                                          row.get("intervalNum"), row.get("limit"))
            if not isinstance(limit, int):
                continue
            if kind == "REQUEST_WEIGHT" and interval == "MINUTE" and num == 1:
                self.limits[0] = limit
            elif kind == "ORDERS" and interval == "SECOND" and num == 10:
                self.limits[1] = limit
            elif kind == "ORDERS" and ((interval == "DAY" and num == 1 and not self._futures)
                                       or (interval == "MINUTE" and num == 1 and self._futures)):
                self.limits[2] = limit

    def rate_budgets(self) -> list[RateBudget]:
        out = []
        if self._weight is not None:
            out.append(RateBudget(self._weight, self.limits[0], 60, "request_weight"))
        if self._orders_10s is not None:
            out.append(RateBudget(self._orders_10s, self.limits[1], 10, "orders_10s"))
        if self._orders_long is not None:
            name = "orders_1m" if self._futures else "orders_1d"
            out.append(RateBudget(self._orders_long, self.limits[2], self._long_seconds, name))
        return out

    async def close(self) -> None:
        if self._session is not None:
            if self._pool is None:  # a pooled session belongs to the pool
                await self._session.close()
            self._session = None
