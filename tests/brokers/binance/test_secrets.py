"""No secret ever leaks: not in exceptions (with their causes), log records, or reprs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from boltztrader.brokers.binance import BinanceBroker, BinanceConfig
from boltztrader.brokers.binance.signing import Ed25519Signer
from boltztrader.brokers.transport import Timeouts
from boltztrader.domain.enums import Market, OrderType
from boltztrader.domain.secrets import Secret
from boltztrader.errors import ConfigError
from tests.paper.conftest import free_port

from .conftest import SYMBOL, Paper, cid, futures_order, spot_order

SENTINEL = "Zx9SENTINELq7"


def chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything reachable through __cause__ and __context__."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        current = todo.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
    return seen


def texts_of(exc: BaseException) -> list[str]:
    out = []
    for e in chain(exc):
        out += [str(e), repr(e), repr(e.args), repr(getattr(e, "__dict__", {}))]
    return out


class Collector:
    def __init__(self) -> None:
        self.errors: list[BaseException] = []

    async def run(self, call: Callable[[], Awaitable[Any]]) -> None:
        """Run ``call`` expecting it to fail; keep the exception."""
        try:
            await call()
        except Exception as exc:
            self.errors.append(exc)
        else:
            pytest.fail("expected an error")

    async def stream(self, broker: BinanceBroker, seconds: float = 1.0) -> None:
        """Read events for a while (or until it fails), keeping any exception."""
        events = broker.events()
        try:
            async with asyncio.timeout(seconds):
                while True:
                    await anext(events)
        except TimeoutError:
            pass
        except Exception as exc:
            self.errors.append(exc)
        finally:
            await events.aclose()


def rule(op: str, action: str, **extra: object) -> dict[str, object]:
    return {"rules": [{"op": op, "action": action, "count": 1, **extra}]}


async def test_no_secret_in_errors_logs_or_reprs(paper: Paper, caplog: pytest.LogCaptureFixture) -> None:
    """Every error path (bad key, rejects, 5xx, 429, 418, timeouts, drops, refused ports, streams)
    leaves no secret, key or sentinel in exceptions, their chains, log records or reprs."""
    caplog.set_level(logging.DEBUG)
    poor = paper.new_account({"USDT": "1"})
    secrets = [SENTINEL, paper.account["api_key"], paper.account["api_secret"], poor["api_key"],
               poor["api_secret"]]
    got = Collector()

    # bad key and secret carrying the sentinel (-2015), spot and futures, REST and streams
    for market in (Market.CRYPTO, Market.CRYPTO_FUTURES):
        stranger = paper.broker(key=SENTINEL + "key", secret=SENTINEL + "secret", market=market)
        await got.run(stranger.get_balance)
        await got.run(lambda b=stranger, m=market: b.place_order(  # type: ignore[misc]
            futures_order(cid()) if m is Market.CRYPTO_FUTURES else spot_order(cid())))
        await got.stream(stranger)
    # the right key with a wrong secret carrying the sentinel (-1022), REST and the WebSocket API
    wrong = paper.broker(secret=SENTINEL + "0" * 30)
    await got.run(lambda: wrong.get_order(SYMBOL, client_order_id="x"))
    await got.stream(wrong)

    good = paper.broker()
    fast = paper.broker(timeouts=Timeouts(connect=1, read=0.3))
    # definitive rejections
    await got.run(lambda: good.place_order(spot_order(cid(), quantity=Decimal("0.000015"))))
    dup = spot_order(cid(), order_type=OrderType.LIMIT, limit_price=Decimal("50000"))
    await good.place_order(dup)
    await got.run(lambda: good.place_order(dup))
    await got.run(lambda: paper.broker(key=poor["api_key"], secret=poor["api_secret"]).place_order(
        spot_order(cid())))
    await got.run(lambda: good.get_order(SYMBOL, client_order_id="missing"))
    # faults: 5xx after and before acting, 429, timeout, dropped connection, 418 ban
    for plan, call in [
        (rule("place_order", "error_after", status=500), lambda: good.place_order(spot_order(cid()))),
        (rule("get_order", "error_before", status=503), lambda: good.get_order(SYMBOL, client_order_id="x")),
        (rule("place_order", "rate_limit", retry_after_s=1), lambda: good.place_order(spot_order(cid()))),
        (rule("place_order", "hold_after", hold_ms=1000), lambda: fast.place_order(spot_order(cid()))),
        (rule("place_order", "drop_after"), lambda: good.place_order(spot_order(cid()))),
        (rule("place_order", "ban", retry_after_s=1), lambda: good.place_order(spot_order(cid()))),
    ]:
        paper.faults(plan)
        await got.run(call)
    await got.run(good.get_balance)  # refused locally during the ban
    paper.faults({})
    # connection refused, REST and stream (which retries, logging each failure)
    closed = f"http://127.0.0.1:{free_port()}"
    nowhere = paper.broker(replace(paper.config(key=SENTINEL, secret=SENTINEL), base_url=closed,
                                   ws_api_url=closed.replace("http", "ws") + "/ws-api/v3"))
    await got.run(lambda: nowhere.place_order(spot_order(cid())))
    await got.stream(nowhere, seconds=0.5)
    # a stream the server keeps dropping
    dropping = paper.broker()
    paper.faults({"stream": {"disconnect_every": 1}})
    reader = asyncio.create_task(got.stream(dropping, seconds=1.5))
    await asyncio.sleep(0.3)
    with contextlib.suppress(Exception):
        await dropping.place_order(spot_order(cid()))
    await reader
    paper.faults({})
    # a malformed Ed25519 key
    with pytest.raises(ConfigError) as bad_pem:
        Ed25519Signer(Secret(f"-----BEGIN PRIVATE KEY-----\n{SENTINEL}\n-----END PRIVATE KEY-----\n"))
    got.errors.append(bad_pem.value)

    kinds = {type(e).__name__ for e in got.errors}
    assert kinds >= {"BrokerAuthError", "InvalidOrder", "DuplicateOrder", "InsufficientFunds",
                     "OrderNotFound", "OutcomeUnknown", "BrokerDown", "RateLimited", "ConnectionFailed",
                     "ConfigError"}, kinds
    assert any("disconnected" in r.getMessage() for r in caplog.records)  # the stream paths were logged
    texts = [t for exc in got.errors for t in texts_of(exc)]
    records = list(caplog.records)
    texts += [r.getMessage() for r in records] + [repr(r.args) for r in records]
    texts += [r.exc_text or "" for r in records]
    config = BinanceConfig(api_key=Secret(SENTINEL), api_secret=Secret(SENTINEL),
                           ed25519_private_key=None, market=Market.CRYPTO_FUTURES)
    texts += [repr(config), str(config), repr(good), repr(good._client), repr(good._client.signer),
              repr(paper.config())]
    for secret in secrets:
        leaks = [t for t in texts if secret in t]
        assert leaks == [], f"a secret leaked: {leaks[:3]}"
    for marker in ("signature=", "timestamp=", "X-MBX-APIKEY"):
        assert not [t for t in texts if marker in t], marker
