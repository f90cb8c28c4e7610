"""The HTTP side of one Kite account: precomputed URLs and headers, one keep-alive session, the
envelope read, errors classified by ``errors.py``, and our own count of order placements.

Kite sends no rate-limit headers, so the order budget (10 placements a second) is counted here from
the placements this client sends (each counts at Kite, even one refused by its mini-RMS).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

import aiohttp
from yarl import URL

from boltztrader.brokers.base import RateBudget
from boltztrader.brokers.kite import errors, wire
from boltztrader.brokers.kite.config import KiteConfig
from boltztrader.brokers.transport import new_session, retry_after, send
from boltztrader.domain.secrets import Secret
from boltztrader.errors import BrokerAuthError, TradingError

log = logging.getLogger(__name__)

ORDER_LIMIT = 10  # placements per second and account (Kite, and SEBI's retail-algo threshold)
ORDER_WINDOW = 1.0


class KiteClient:
    """REST calls of one Kite account; ``auth_expired`` turns True on a 403 TokenException."""

    def __init__(self, config: KiteConfig) -> None:
        self._config = config
        self._session: aiohttp.ClientSession | None = None
        root = config.root_url
        self.root = root
        self.place_urls = {False: URL(root + wire.ORDERS + "/" + wire.VARIETY_REGULAR),
                           True: URL(root + wire.ORDERS + "/" + wire.VARIETY_AMO)}
        self.orders_url = URL(root + wire.ORDERS)
        self.margins_url = URL(root + wire.MARGINS)
        self.positions_url = URL(root + wire.POSITIONS)
        self.instruments_url = URL(root + wire.INSTRUMENTS)
        self.quote_url = URL(root + wire.QUOTE)
        self.session_token_url = URL(root + wire.SESSION_TOKEN)
        self._headers: dict[str, str] = {}
        self._form_headers: dict[str, str] = {}
        self.auth_expired = True
        self._placements: deque[float] = deque(maxlen=4 * ORDER_LIMIT)
        self._throttled_until = 0.0
        self._placed_any = False
        if config.access_token is not None:
            self.set_access_token(config.access_token)

    def __repr__(self) -> str:
        return f"KiteClient(root={self.root!r})"

    def set_access_token(self, token: Secret) -> None:
        """Use a new day's access token (after a login); clears ``auth_expired``."""
        self._headers = wire.auth_headers(self._config.api_key, token.reveal())
        self._form_headers = {**self._headers, "Content-Type": wire.FORM}
        self.auth_expired = False

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            pool = self._config.sessions
            self._session = (pool.session(self.root, self._config.timeouts) if pool is not None else
                             new_session(limit=self._config.connection_limit, timeouts=self._config.timeouts))
        return self._session

    async def stream_session(self) -> aiohttp.ClientSession:
        """The session the order stream connects with: the pool's stream session when pooled, so a
        WebSocket never holds one of the connections orders are sent on."""
        pool = self._config.sessions
        if pool is not None:
            return pool.stream_session(self.root, self._config.timeouts)
        return await self.session()

    async def close(self) -> None:
        owned = self._config.sessions is None  # a pooled session belongs to the pool
        if owned and self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _check_login(self) -> None:
        if self.auth_expired:
            raise BrokerAuthError("zerodha: no valid access token; the user must log in to Kite again")

    def _fail(self, error: TradingError) -> TradingError:
        if isinstance(error, errors.KiteAuthExpired):
            self.auth_expired = True
        return error

    # -- calls ---------------------------------------------------------------------------------------
    async def place(self, amo: bool, body: str) -> str:
        """``POST /orders/{variety}`` once; the new order_id. Never retried."""
        self._check_login()
        session = self._session or await self.session()
        url = self.place_urls[amo]
        self._placements.append(time.monotonic())
        self._placed_any = True
        response = await send(session, "POST", url, changes_state=True, headers=self._form_headers,
                              data=body, broker=errors.BROKER)
        if response.status == 200:
            order_id = wire.placed_order_id(response.body)
            if order_id is not None:
                return order_id
        raise self._error(response.status, response.body, response.headers, "POST", url, True)

    async def call(self, method: str, url: URL, *, changes_state: bool, data: str | None = None) -> Any:
        """One authenticated call; the envelope's ``data``."""
        self._check_login()
        session = self._session or await self.session()
        headers = self._form_headers if data is not None else self._headers
        response = await send(session, method, url, changes_state=changes_state, headers=headers, data=data,
                              broker=errors.BROKER)
        if response.status == 200:
            ok, payload = wire.success_data(response.body)
            if ok:
                return payload
        raise self._error(response.status, response.body, response.headers, method, url, changes_state)

    async def raw(self, url: URL) -> bytes:
        """A non-JSON read (the instrument dump CSV)."""
        self._check_login()
        session = await self.session()
        response = await send(session, "GET", url, changes_state=False, headers=self._headers,
                              broker=errors.BROKER)
        if response.status == 200 and "json" not in response.headers.get("Content-Type", ""):
            return response.body
        raise self._error(response.status, response.body, response.headers, "GET", url, False)

    async def public_post(self, url: URL, body: str) -> Any:
        """An unauthenticated form POST (the token exchange); the envelope's ``data``."""
        session = await self.session()
        headers = {**wire.base_headers(), "Content-Type": wire.FORM}
        response = await send(session, "POST", url, changes_state=False, headers=headers, data=body,
                              broker=errors.BROKER)
        if response.status == 200:
            ok, payload = wire.success_data(response.body)
            if ok:
                return payload
        raise self._error(response.status, response.body, response.headers, "POST", url, False)

    def _error(self, status: int, body: bytes, headers: Any, method: str, url: URL,
               changes_state: bool) -> TradingError:
        where = f"{method} {url.path}"
        if 200 <= status < 300:
            # Kite's own client treats a 200 carrying an error envelope as that error.
            data = errors.decode(body)
            if not (isinstance(data, dict) and (data.get("status") == "error" or data.get("error_type"))):
                return errors.unreadable(where, changes_state=changes_state)
        error = errors.classify(status, body, retry_after(headers), where=where, changes_state=changes_state)
        if status == 429 and method == "POST" and url in self.place_urls.values():
            self._throttled_until = time.monotonic() + ORDER_WINDOW
        if log.isEnabledFor(logging.DEBUG):
            log.debug("kite call failed: %s -> %s", where, type(error).__name__)
        return self._fail(error)

    # -- budgets -------------------------------------------------------------------------------------
    def rate_budgets(self) -> list[RateBudget]:
        """Placements in the last second (our own count; Kite sends no budget headers)."""
        if not self._placed_any:
            return []
        now = time.monotonic()
        horizon = now - ORDER_WINDOW
        placements = self._placements
        while placements and placements[0] <= horizon:
            placements.popleft()
        used = len(placements)
        if now < self._throttled_until:
            used = max(used, ORDER_LIMIT)
        return [RateBudget(used=used, limit=ORDER_LIMIT, window_seconds=int(ORDER_WINDOW), name="orders")]
