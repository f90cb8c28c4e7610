"""The demo: paper brokers inside the service, a demo user with one paper account per broker,
subscribed to the built-in crossover model, whose signals go through the real pipeline.

The embedded paper brokers keep their books in memory, so each start opens fresh paper accounts:
the previous run's demo accounts are unlinked (their orders and audit trail stay) and new ones are
linked under a label naming the start time. A new API token for the demo user is printed each start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.accounts import users as users_service
from boltztrader.accounts.linking import link_account, unlink_account
from boltztrader.accounts.paper import open_paper_account
from boltztrader.db.tables import broker_accounts, model_subscriptions, users
from boltztrader.demo.runner import DemoInstrument, DemoModel
from boltztrader.domain.clock import Clock, SystemClock
from boltztrader.domain.enums import AccountMode, Market
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.ids import new_id
from boltztrader.domain.secrets import Secret
from boltztrader.paper.registry import specs
from boltztrader.paper.server import serve as serve_paper
from boltztrader.paper.venue import VenueConfig
from boltztrader.settings import Settings
from boltztrader.wiring.brokers import paper_urls
from boltztrader.wiring.runtime import Runtime

__all__ = ["DEMO_EMAIL", "DEMO_MODEL", "Demo", "start_demo"]

log = logging.getLogger(__name__)

DEMO_EMAIL = "demo@boltztrader.example"
DEMO_MODEL = "demo-crossover"
# What the demo model watches, and where: one symbol per broker (Kite quotes and Alpaca's request
# budget allow one symbol per account at a one-second poll).
WATCH = (
    (BrokerName.ZERODHA, "INFY", Market.NSE, Decimal(1)),
    (BrokerName.BINANCE, "BTCUSDT", Market.CRYPTO, Decimal("0.001")),
    (BrokerName.ALPACA, "AAPL", Market.US, Decimal(1)),
)
_PAPER_NAMES = {BrokerName.ZERODHA: "kite", BrokerName.BINANCE: "binance", BrokerName.ALPACA: "alpaca"}


@dataclass
class Demo:
    """What the demo started: its user, accounts and token, and the tasks to stop."""

    user_id: str
    token: Secret
    account_ids: dict[BrokerName, str]
    model: DemoModel
    _stop: asyncio.Event
    _tasks: list[asyncio.Task[None]]

    async def aclose(self) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def start_paper_brokers(settings: Settings, announce: Callable[[str], None]) -> asyncio.Task[None]:
    """Serve the three paper brokers inside this process, at the ports of the paper URLs."""
    urls = paper_urls(settings)
    ports: dict[str, int] = {}
    chosen = []
    for broker, url in urls.items():
        name = _PAPER_NAMES[broker]
        parts = urlsplit(url)
        if parts.hostname not in ("127.0.0.1", "localhost") or parts.port is None:
            raise ValueError(f"the demo serves its paper brokers on loopback; {name} is at {url}")
        ports[name] = parts.port
        chosen.append(specs()[name])
    task = asyncio.ensure_future(serve_paper(chosen, "127.0.0.1", ports, VenueConfig(), announce=announce))
    for _ in range(100):  # until they listen (or the task failed: a port in use)
        if task.done():
            task.result()
        if await _all_listening(list(ports.values())):
            return task
        await asyncio.sleep(0.05)
    task.cancel()
    raise RuntimeError("the embedded paper brokers did not start")


async def start_demo(settings: Settings, engine: AsyncEngine, runtime: Runtime, *,
                     clock: Clock | None = None, interval: float = 2.0) -> Demo:
    """Ensure the demo user and fresh paper accounts, then run the demo model into the pipeline."""
    clock = clock or SystemClock()
    now = clock.now()
    user_id, token = await _demo_user(engine)
    await _retire_old_accounts(engine, runtime, user_id, now)
    urls = paper_urls(settings)
    account_ids: dict[BrokerName, str] = {}
    label = "paper demo " + now.strftime("%Y-%m-%d %H:%M:%S")
    async with aiohttp.ClientSession() as http:
        for broker, _symbol, _market, _qty in WATCH:
            opened = await open_paper_account(http, urls[broker], broker)
            account_ids[broker] = await link_account(
                engine, runtime.vault, user_id=user_id, broker=broker, mode=AccountMode.PAPER,
                api_key=opened.api_key, api_secret=opened.api_secret, label=label,
                access_token=opened.access_token, access_token_expires_at=opened.access_token_expires_at,
                now=now, actor="demo")
    await _subscribe(engine, user_id, now)
    await runtime.directory.load(list(account_ids.values()))  # execution.start() then reconciles them
    instruments = [DemoInstrument(symbol=symbol, market=market, quantity=qty,
                                  source=runtime.directory[account_ids[broker]])
                   for broker, symbol, market, qty in WATCH]

    async def sink(signal: object) -> object:
        return await runtime.execution.handle_signal(signal, source="demo")  # type: ignore[arg-type]

    # Crosses are caught right after they happen, when the averages are still close: a higher
    # sensitivity than the model's default lets about half of them reach the guard's 0.7.
    model = DemoModel(instruments, sink, clock=clock, model_id=DEMO_MODEL, interval=interval,
                      slow=8, sensitivity=Decimal(800))
    stop = asyncio.Event()
    task = asyncio.ensure_future(model.run(stop))
    return Demo(user_id, token, account_ids, model, stop, [task])


async def _demo_user(engine: AsyncEngine) -> tuple[str, Secret]:
    async with engine.connect() as conn:
        user_id = (await conn.execute(select(users.c.id).where(users.c.email == DEMO_EMAIL))).scalar()
    if user_id is None:
        user, token = await users_service.create_user(engine, DEMO_EMAIL, "user", "Demo trader")
        return user.id, token
    _, token = await users_service.issue_token(engine, user_id=str(user_id), name="demo")
    return str(user_id), token


async def _retire_old_accounts(engine: AsyncEngine, runtime: Runtime, user_id: str, now: datetime) -> None:
    async with engine.connect() as conn:
        old = (await conn.execute(select(broker_accounts.c.id).where(
            broker_accounts.c.user_id == user_id, broker_accounts.c.unlinked_at.is_(None),
            broker_accounts.c.mode == "paper"))).scalars().all()
    for account_id in old:
        await runtime.execution.account_removed(account_id)
        await runtime.directory.remove(account_id)
        await unlink_account(engine, account_id, actor="demo", now=now)


async def _subscribe(engine: AsyncEngine, user_id: str, now: datetime) -> None:
    subs = model_subscriptions.c
    async with engine.begin() as conn:
        found = (await conn.execute(select(subs.id).where(subs.user_id == user_id,
                                                          subs.model_id == DEMO_MODEL))).first()
        if found is None:
            await conn.execute(insert(model_subscriptions).values(
                id=new_id(), user_id=user_id, model_id=DEMO_MODEL, sizing="signal", active=True,
                created_at=now))
        else:
            await conn.execute(update(model_subscriptions).where(subs.id == found.id).values(active=True))


async def _all_listening(ports: list[int]) -> bool:
    for port in ports:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return True
