"""The secret never leaks: not in any exception (causes and contexts included), log record or repr,
whatever goes wrong."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from boltztrader.brokers.alpaca import AlpacaBroker, AlpacaConfig
from boltztrader.brokers.transport import Timeouts
from boltztrader.domain.enums import TimeInForce
from boltztrader.domain.reports import StreamGap
from boltztrader.domain.secrets import Secret
from tests.paper.conftest import free_port

from .conftest import SYMBOL, Paper, limit, market

SENTINEL = "SENTINEL-7f3a9c"
SECRET = f"{SENTINEL}-secret-{uuid.uuid4().hex}"


def cid() -> str:
    return "bz" + uuid.uuid4().hex[:30]


def texts_of(exc: BaseException) -> list[str]:
    """str, repr and args of an exception and of every exception in its cause/context chain."""
    found: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        found += [str(current), repr(current), *(repr(arg) for arg in current.args)]
        found += [repr(value) for value in vars(current).values()] if hasattr(current, "__dict__") else []
        todo += [current.__cause__, current.__context__]
    return found


async def failure(action: Callable[[], Awaitable[Any]]) -> BaseException:
    try:
        await action()
    except Exception as exc:
        return exc
    raise AssertionError("expected a failure")


def with_sentinel_secret(world: Paper) -> None:
    """Give the paper account a secret that holds the sentinel (the paper checks it on every call)."""
    account = world.paper.venue.accounts[world.account["account_id"]]
    world.paper.call(lambda: setattr(account, "api_secret", SECRET))


async def test_the_secret_appears_in_no_error_log_or_repr(alpaca_paper: Paper,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    """Every error path (auth, 4xx, 5xx, 429, timeouts, refused and dropped connections, stream failures)
    leaves no trace of the secret."""
    caplog.set_level(logging.DEBUG)
    with_sentinel_secret(alpaca_paper)
    good = alpaca_paper.broker(secret=SECRET)
    slow = alpaca_paper.broker(secret=SECRET, timeouts=Timeouts(connect=3, read=0.2))
    wrong = alpaca_paper.broker(secret=SECRET + "-wrong")
    refused = alpaca_paper.broker(secret=SECRET, base_url=f"http://127.0.0.1:{free_port()}")
    assert (await good.get_balance()).cash > 0  # the sentinel secret is the working one
    errors: list[BaseException] = []

    def fault(op: str, action: str, **extra: object) -> None:
        alpaca_paper.faults({"rules": [{"op": op, "action": action, "count": 1, **extra}]})

    errors.append(await failure(wrong.get_balance))
    errors.append(await failure(lambda: wrong.place_order(market(cid()))))
    errors.append(await failure(lambda: good.place_order(market(cid(), "100000"))))
    errors.append(await failure(lambda: good.place_order(limit(cid(), "100.123"))))
    gtc = TimeInForce.GTC
    errors.append(await failure(lambda: good.place_order(market(cid(), "0.5", time_in_force=gtc))))
    taken = cid()
    await good.place_order(market(taken))
    errors.append(await failure(lambda: good.place_order(market(taken))))
    errors.append(await failure(lambda: good.get_order(SYMBOL, client_order_id=cid())))
    errors.append(await failure(lambda: good.get_quote("ZZZZ")))
    errors.append(await failure(lambda: good.instrument_rules("ZZZZ")))
    fault("place_order", "error_before", status=503)
    errors.append(await failure(lambda: good.place_order(market(cid()))))
    fault("account", "error_before", status=500)
    errors.append(await failure(good.get_balance))
    fault("place_order", "rate_limit", retry_after_s=2)
    errors.append(await failure(lambda: good.place_order(market(cid()))))
    fault("place_order", "hold_after", hold_ms=600)
    errors.append(await failure(lambda: slow.place_order(market(cid()))))
    fault("account", "hold_after", hold_ms=600)
    errors.append(await failure(slow.get_balance))
    fault("place_order", "drop_after")
    errors.append(await failure(lambda: good.place_order(market(cid()))))
    errors.append(await failure(lambda: refused.place_order(market(cid()))))
    errors.append(await failure(refused.get_positions))

    async def first_event(broker: AlpacaBroker, seconds: float = 5) -> object:
        async with asyncio.timeout(seconds):
            async for event in broker.events():
                return event
        return None

    errors.append(await failure(lambda: first_event(wrong)))  # stream auth refused
    gaps = await stream_gap(alpaca_paper, good)
    unreachable = alpaca_paper.broker(secret=SECRET, stream_url=f"ws://127.0.0.1:{free_port()}/stream")
    errors.append(await failure(lambda: first_event(unreachable, 0.5)))  # retries until the timeout
    try:
        AlpacaConfig("PKPAPERKEY", Secret(SECRET), paper=False)
    except ValueError as exc:
        errors.append(exc)

    assert len(errors) == 20
    assert any(SENTINEL in text for text in texts_of(RuntimeError(SECRET)))  # the probe can see a leak
    for error in errors:
        for text in texts_of(error):
            assert SENTINEL not in text, f"{type(error).__name__} leaks the secret"
    assert all(SENTINEL not in gap.reason for gap in gaps)
    for record in caplog.records:
        rendered = [record.getMessage(), repr(record.args), record.exc_text or "",
                    str(record.exc_info or "")]
        assert not any(SENTINEL in text for text in rendered), f"a log record of {record.name} leaks it"
    for broker in (good, slow, wrong, refused, unreachable):
        assert SENTINEL not in repr(broker)
        assert SENTINEL not in str(broker)
        assert SENTINEL not in repr(broker.rate_budgets())
    assert SENTINEL not in repr(alpaca_paper.config(secret=SECRET))


async def stream_gap(world: Paper, broker: AlpacaBroker) -> list[StreamGap]:
    """Drop the stream once (server side) and return the gaps reported."""
    gaps: list[StreamGap] = []
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def run() -> None:
        async for event in broker.events():
            queue.put_nowait(event)

    task = asyncio.create_task(run())
    try:
        async with asyncio.timeout(10):
            while True:  # until the stream delivers, then drop it
                await broker.place_order(market(cid()))
                try:
                    await asyncio.wait_for(queue.get(), timeout=1)
                    break
                except TimeoutError:
                    continue
            world.faults({"stream": {"disconnect_every": 1}})
            await broker.place_order(market(cid()))
            while not gaps:
                event = await queue.get()
                if isinstance(event, StreamGap):
                    gaps.append(event)
        world.faults({})
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return gaps
