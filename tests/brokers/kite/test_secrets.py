"""No secret of a Kite account (api secret, access token) ever shows in an error, a log line or a repr."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from boltztrader.brokers.kite import KiteBroker, KiteConfig
from boltztrader.brokers.transport import Timeouts
from boltztrader.domain.enums import OrderType
from boltztrader.domain.secrets import Secret
from boltztrader.errors import TradingError
from tests.paper.conftest import RunningPaper, free_port

from .conftest import Account, admin, kite_config
from .test_broker import cid, order

SENTINEL = "SNTL" + uuid.uuid4().hex


def chain(error: BaseException) -> Iterator[BaseException]:
    """The error, its cause and context, and theirs (each once)."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def texts_of(error: BaseException) -> list[str]:
    out = []
    for item in chain(error):
        out += [str(item), repr(item), *(repr(arg) for arg in item.args)]
        out += [repr(value) for value in vars(item).values()] if hasattr(item, "__dict__") else []
    return out


class Leaks:
    """Collects every error text of the forced failures, to check them against the secrets."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.errors: list[str] = []

    async def expect(self, call: Callable[[], Awaitable[Any]]) -> None:
        try:
            await call()
        except TradingError as error:
            self.texts += texts_of(error)
            self.errors.append(type(error).__name__)
            return
        pytest.fail("the forced failure did not fail")


def faults(paper: RunningPaper, *rules: dict[str, object]) -> None:
    admin(paper, "PUT", "/_paper/faults", json={"rules": list(rules)})


async def test_no_secret_leaks_from_any_error_path(paper: RunningPaper, account: Account,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """Forcing every failure (bad key, rejects, 5xx, 429, timeout, refused, drop, stream) leaks no secret."""
    caplog.set_level(logging.DEBUG)
    secrets = [SENTINEL, account.token, account.api_secret]
    leaks = Leaks()
    bad = KiteBroker(kite_config(paper, account.api_key, "secret" + SENTINEL, "token" + SENTINEL))
    good = account.broker(Timeouts(connect=2, read=0.3))
    refused = KiteBroker(KiteConfig(api_key="k", api_secret=Secret(SENTINEL), access_token=Secret(SENTINEL),
                                    root_url=f"http://127.0.0.1:{free_port()}",
                                    ws_url=f"ws://127.0.0.1:{free_port()}", reconnect_initial=0.02))
    try:
        # bad key and token, on REST, the stream and the login
        await leaks.expect(bad.get_balance)
        await leaks.expect(lambda: bad.place_order(order(cid())))
        await leaks.expect(lambda: bad.events().__anext__())
        await leaks.expect(lambda: bad.generate_session("request" + SENTINEL))
        await leaks.expect(lambda: bad.generate_session(account.created["request_token"]))
        # definitive rejections and look-ups
        await leaks.expect(lambda: good.place_order(order(cid(), order_type=OrderType.LIMIT,
                                                          limit_price=Decimal("1000.01"))))
        await leaks.expect(lambda: good.get_order("INFY", broker_order_id="12345"))
        await leaks.expect(lambda: good.get_order("INFY", client_order_id=cid()))
        # 5xx, 429, a held answer, a dropped connection
        for action in ("error_before", "error_after", "rate_limit", "hold_after", "drop_after"):
            # reads get count 2: aiohttp resends an idempotent request once on a dropped keep-alive
            faults(paper, {"op": "place_order", "action": action, "count": 1, "status": 503, "hold_ms": 800},
                   {"op": "account", "action": action, "count": 2, "status": 503, "hold_ms": 800})
            await leaks.expect(lambda: good.place_order(order(cid())))
            await leaks.expect(good.get_balance)
        faults(paper)
        # nothing listening, for REST and for the stream (which retries until cancelled)
        await leaks.expect(lambda: refused.place_order(order(cid())))
        await leaks.expect(lambda: refused.get_quote("INFY"))
        stream = asyncio.ensure_future(refused.events().__anext__())
        await asyncio.sleep(0.3)
        stream.cancel()
        await asyncio.gather(stream, return_exceptions=True)
    finally:
        for adapter in (bad, good, refused):
            await adapter.close()
    assert {"BrokerAuthError", "KiteAuthExpired", "StreamAuthError", "InvalidOrder", "OrderNotFound",
            "OutcomeUnknown", "BrokerDown", "RateLimited", "ConnectionFailed"} <= set(leaks.errors)
    shown = [*leaks.texts, repr(bad), repr(good), repr(refused), repr(bad._config), str(good._config),
             repr(account.config())]
    logged = [(r.name, r.getMessage(), r.exc_text or "") for r in caplog.records
              if not r.name.startswith("boltztrader.paper")]
    for secret in secrets:
        assert not [text for text in shown if secret in text], "a secret shows in an error or a repr"
        assert not [line for line in logged if secret in " ".join(line)], "a secret shows in a log record"
