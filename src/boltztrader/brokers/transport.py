"""The shared HTTP transport of every adapter: one aiohttp session per broker host, and the one
place that decides whether a failed request may have reached the broker.

- The connection never opened (refused, DNS, connect timeout): ``ConnectionFailed``; nothing left
  this machine, so sending again is safe.
- The request was written and then the answer failed (read timeout, reset, server closed the
  connection): for a request that changes state, ``OutcomeUnknown``; for a read, ``BrokerDown``.

Error messages carry the method and path only: never the query string (signatures, tokens),
headers or bodies.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from boltztrader.errors import BrokerDown, ConnectionFailed, OutcomeUnknown


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 3.0  # seconds to open a connection
    read: float = 10.0  # seconds to wait for the answer once the request is written


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


def new_session(*, limit: int = 64, timeouts: Timeouts | None = None) -> aiohttp.ClientSession:
    """A keep-alive session for one broker host (``limit`` connections, 0: no limit); the caller closes it."""
    timeouts = timeouts or Timeouts()
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit, ttl_dns_cache=300,
                                     family=socket.AF_UNSPEC)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeouts.connect, sock_read=timeouts.read)
    return aiohttp.ClientSession(connector=connector, timeout=timeout, raise_for_status=False,
                                 auto_decompress=True)


async def send(session: aiohttp.ClientSession, method: str, url: str | URL, *, changes_state: bool,
               headers: Mapping[str, str] | None = None, data: bytes | str | None = None,
               broker: str) -> Response:
    """Send one request and read the whole answer, classifying transport failures (see module doc)."""
    target = URL(url) if isinstance(url, str) else url
    where = f"{broker} {method} {target.path}"
    try:
        async with session.request(method, target, headers=headers, data=data, allow_redirects=False) as resp:
            body = await resp.read()
            return Response(resp.status, resp.headers, body)
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
        raise ConnectionFailed(f"{where}: could not connect ({type(exc).__name__})") from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        reason = f"{where}: no complete answer ({type(exc).__name__})"
        if changes_state:
            raise OutcomeUnknown(reason + "; the broker may have acted") from None
        raise BrokerDown(reason) from None


class SessionPool:
    """Keep-alive sessions shared by every account that talks to one broker host.

    One session per account is fine for a handful of accounts; a fan-out to thousands of accounts
    wants one connection pool per host instead. The pool owns its sessions: adapters that borrow
    from it do not close them, ``close()`` here does.

    Streams (WebSockets) get sessions of their own (``stream_session``), with no connection limit:
    each holds its connection for as long as it lives, and a thousand of them in the requests'
    pool would leave no connection for an order.
    """

    def __init__(self, *, limit: int = 256) -> None:
        self._limit = limit
        self._sessions: dict[tuple[str, Timeouts], aiohttp.ClientSession] = {}
        self._streams: dict[tuple[str, Timeouts], aiohttp.ClientSession] = {}
        self._facts: dict[tuple[str, str], tuple[float, object]] = {}

    def remember(self, origin: str, name: str, value: object) -> None:
        """Note a fact about a host that every account talking to it shares (Binance's clock offset)."""
        self._facts[(origin, name)] = (time.monotonic(), value)

    def recall(self, origin: str, name: str, *, max_age: float) -> object | None:
        """A fact noted at most ``max_age`` seconds ago, else None."""
        found = self._facts.get((origin, name))
        if found is None or time.monotonic() - found[0] > max_age:
            return None
        return found[1]

    def session(self, origin: str, timeouts: Timeouts) -> aiohttp.ClientSession:
        key = (origin, timeouts)
        session = self._sessions.get(key)
        if session is None or session.closed:
            session = self._sessions[key] = new_session(limit=self._limit, timeouts=timeouts)
        return session

    def stream_session(self, origin: str, timeouts: Timeouts) -> aiohttp.ClientSession:
        """The session for the host's WebSockets: one connection each, never counted against requests."""
        key = (origin, timeouts)
        session = self._streams.get(key)
        if session is None or session.closed:
            session = self._streams[key] = new_session(limit=0, timeouts=timeouts)
        return session

    async def close(self) -> None:
        sessions = [*self._sessions.values(), *self._streams.values()]
        self._sessions, self._streams = {}, {}
        for session in sessions:
            await session.close()


def retry_after(headers: Mapping[str, str], default: Decimal | None = None) -> Decimal | None:
    """The Retry-After header in seconds, if it is a number."""
    raw = headers.get("Retry-After")
    if raw is None:
        return default
    try:
        value = Decimal(raw.strip())
    except ArithmeticError:
        return default
    return value if value.is_finite() and value >= 0 else default
