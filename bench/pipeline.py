"""The execution pipeline end to end: signals in, orders acknowledged and persisted, paper brokers out.

Two measurements per database (SQLite and PostgreSQL), with the three paper brokers each in its
own process (rate limits off, prices still):

- one account: signals sent one after another to one Binance account; signals/s and latency
  percentiles from the signal's arrival to the broker request being sent, and to the broker's
  acknowledgement being persisted;
- fan-out: one model's signal per market (INFY on NSE, AAPL on US, BTCUSDT on crypto) to N
  subscribed accounts spread evenly over Kite, Alpaca and Binance, the three signals at once, each
  signal's orders sent as soon as its intents are written (as the service does); the time until
  the last intent is written, and until every order is acknowledged and persisted, with the peak
  memory of this process and of each paper broker.
  The accounts' balances are warm (fetched by an account sync before the signal, timed apart), as
  in the running service; ``--cold`` leaves them cold, so the intake asks every broker first.

    .venv/bin/python bench/pipeline.py [--signals 200] [--accounts 1000,10000] [--engines sqlite,postgresql]
                                       [--cold]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import resource
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from _common import database, peak_rss_mib, start_paper
from boltztrader.brokers.alpaca import AlpacaBroker, AlpacaConfig
from boltztrader.brokers.base import Broker
from boltztrader.brokers.binance import BinanceBroker, BinanceConfig
from boltztrader.brokers.kite import KiteBroker, KiteConfig
from boltztrader.brokers.transport import SessionPool
from boltztrader.db.tables import broker_accounts, broker_orders, model_subscriptions, users
from boltztrader.domain.clock import SystemClock
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.reports import OrderAck, PlaceOrder
from boltztrader.domain.secrets import Secret
from boltztrader.domain.targets import AccountRef
from boltztrader.orders.balances import Balances
from boltztrader.orders.intake import Intake
from boltztrader.orders.manager import OrderManager
from boltztrader.router import Router

BROKERS = ("kite", "alpaca", "binance")
SIGNALS = {
    "kite": ("INFY", "nse", "1"),
    "alpaca": ("AAPL", "us", "1"),
    "binance": ("BTCUSDT", "crypto", "0.001"),
}
SETTLED = ("open", "partially_filled", "filled", "rejected", "denied", "cancelled", "expired")


class Timed:
    """A Broker that notes when each placement request leaves (everything else passes through)."""

    def __init__(self, inner: Broker, sent: dict[str, float]) -> None:
        self._inner = inner
        self._sent = sent

    async def place_order(self, order: PlaceOrder) -> OrderAck:
        self._sent[order.client_order_id] = time.perf_counter()
        return await self._inner.place_order(order)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def _open_accounts(
    http: aiohttp.ClientSession, urls: dict[str, str], count: int
) -> list[dict[str, Any]]:
    """``count`` paper accounts spread over the brokers (Kite ones logged in), with ample cash."""
    semaphore = asyncio.Semaphore(32)
    cash = {"kite": {"INR": "100000000"}, "alpaca": {"USD": "100000000"}, "binance": {"USDT": "100000000"}}

    async def one(i: int) -> dict[str, Any]:
        broker = BROKERS[i % 3]
        async with semaphore:
            async with http.post(urls[broker] + "/_paper/accounts", json={"cash": cash[broker]}) as resp:
                account = dict(await resp.json())
            if broker == "kite":
                checksum = hashlib.sha256(
                    (account["api_key"] + account["request_token"] + account["api_secret"]).encode()
                ).hexdigest()
                form = {
                    "api_key": account["api_key"],
                    "request_token": account["request_token"],
                    "checksum": checksum,
                }
                async with http.post(
                    urls["kite"] + "/session/token", data=form, headers={"X-Kite-Version": "3"}
                ) as resp:
                    account["access_token"] = (await resp.json())["data"]["access_token"]
        account["broker"] = broker
        account["our_id"] = f"acct-{i:06d}"
        account["user_id"] = f"user-{i:06d}"
        return account

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def _adapter(account: dict[str, Any], urls: dict[str, str], pools: dict[str, SessionPool]) -> Broker:
    broker, url = account["broker"], urls[account["broker"]]
    if broker == "kite":
        return KiteBroker(
            KiteConfig(
                api_key=account["api_key"],
                api_secret=Secret(account["api_secret"]),
                access_token=Secret(account["access_token"]),
                root_url=url,
                ws_url=url.replace("http", "ws"),
                sessions=pools[broker],
            )
        )
    if broker == "alpaca":
        return AlpacaBroker(
            AlpacaConfig(
                key_id=account["key_id"],
                secret_key=Secret(account["secret_key"]),
                paper=True,
                base_url=url,
                sessions=pools[broker],
            )
        )
    return BinanceBroker(
        BinanceConfig(
            api_key=Secret(account["api_key"]),
            api_secret=Secret(account["api_secret"]),
            base_url=url,
            sessions=pools[broker],
        )
    )


async def _link(engine: AsyncEngine, accounts: list[dict[str, Any]], model_id: str) -> None:
    now = datetime.now(UTC)
    region = {"kite": "india", "alpaca": "us", "binance": "crypto"}
    broker_name = {"kite": "zerodha", "alpaca": "alpaca", "binance": "binance"}
    async with engine.begin() as conn:
        for start in range(0, len(accounts), 1000):
            chunk = accounts[start : start + 1000]
            await conn.execute(
                insert(users),
                [
                    {
                        "id": a["user_id"],
                        "email": f"{a['user_id']}@bench",
                        "display_name": "",
                        "role": "user",
                        "created_at": now,
                    }
                    for a in chunk
                ],
            )
            await conn.execute(
                insert(broker_accounts),
                [
                    {
                        "id": a["our_id"],
                        "user_id": a["user_id"],
                        "broker": broker_name[a["broker"]],
                        "label": "main",
                        "mode": "paper",
                        "region": region[a["broker"]],
                        "api_key": a.get("api_key") or a["key_id"],
                        "execution_mode": "automated",
                        "trading_state": "active",
                        "settings": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for a in chunk
                ],
            )
            await conn.execute(
                insert(model_subscriptions),
                [
                    {
                        "id": f"sub-{a['our_id']}",
                        "user_id": a["user_id"],
                        "model_id": model_id,
                        "sizing": "signal",
                        "active": True,
                        "created_at": now,
                    }
                    for a in chunk
                ],
            )


def _signal(broker: str, signal_id: str, **extra: str) -> dict[str, Any]:
    symbol, market, quantity = SIGNALS[broker]
    return {
        "id": signal_id,
        "model_id": "bench",
        "symbol": symbol,
        "market": market,
        "side": "buy",
        "quantity": quantity,
        "confidence": "0.9",
        "created_at": datetime.now(UTC).isoformat(),
        **extra,
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else float("nan")


async def run(
    kind: str, urls: dict[str, str], signals: int, fanouts: list[int], report: Callable[[str], None], *,
    cold: bool = False,
) -> None:
    async with aiohttp.ClientSession() as http:
        for count in [1, *fanouts]:
            accounts = await _open_accounts(http, urls, 3 if count == 1 else count)
            async with database(kind, pool_size=20) as engine:
                await _link(engine, accounts, "bench")
                pools = {b: SessionPool() for b in BROKERS}
                sent: dict[str, float] = {}
                adapters = {a["our_id"]: Timed(_adapter(a, urls, pools), sent) for a in accounts}

                def broker_for(account: AccountRef, adapters: dict[str, Timed] = adapters) -> Broker:
                    return adapters[account.account_id]  # type: ignore[return-value]

                balances = Balances(SystemClock(), max_age=timedelta(minutes=5))
                intake = Intake(engine, Router(BrokerName.BINANCE), broker_for, SystemClock(),
                                balances=balances)
                manager = OrderManager(engine, adapters, SystemClock())  # type: ignore[arg-type]
                try:
                    if count == 1:
                        await _single(kind, intake, manager, accounts, sent, signals, report)
                    else:
                        if not cold:
                            started = time.perf_counter()
                            synced = await balances.refresh(
                                (a["our_id"], adapters[a["our_id"]]) for a in accounts)
                            report(f"{kind:10} account sync {count:>6} accounts  {synced} balances in "
                                   f"{time.perf_counter() - started:6.1f} s (before the signal, not counted)")
                        await _fanout(kind, engine, intake, manager, count, report, cold=cold)
                finally:
                    for adapter in adapters.values():
                        await adapter.close()
                    for pool in pools.values():
                        await pool.close()


async def _single(
    kind: str,
    intake: Intake,
    manager: OrderManager,
    accounts: list[dict[str, Any]],
    sent: dict[str, float],
    signals: int,
    report: Callable[[str], None],
) -> None:
    target = next(a for a in accounts if a["broker"] == "binance")["our_id"]
    to_send, to_ack = [], []
    started = time.perf_counter()
    for i in range(signals):
        received = time.perf_counter()
        result = await intake.process_signal(_signal("binance", f"one-{i}", account_id=target))
        for order_id in result.to_submit:
            await manager.submit(order_id)
        acked = time.perf_counter()
        cid = next(iter(sent)) if len(sent) == 1 else list(sent)[-1]
        to_send.append(sent[cid] - received)
        to_ack.append(acked - received)
    elapsed = time.perf_counter() - started
    report(
        f"{kind:10} one account   {signals:>6} signals  {signals / elapsed:>8.0f} signals/s  "
        f"to send p50 {_pct(to_send, 0.5):6.1f} ms p99 {_pct(to_send, 0.99):6.1f} ms  "
        f"to ack p50 {_pct(to_ack, 0.5):6.1f} ms p99 {_pct(to_ack, 0.99):6.1f} ms"
    )


async def _fanout(
    kind: str,
    engine: AsyncEngine,
    intake: Intake,
    manager: OrderManager,
    count: int,
    report: Callable[[str], None],
    *,
    cold: bool,
) -> None:
    started = time.perf_counter()
    written: list[float] = []

    async def one(broker: str) -> None:
        # As the service does: each signal's orders go out as soon as its intents are written.
        result = await intake.process_signal(_signal(broker, f"fan-{count}-{broker}"))
        written.append(time.perf_counter())
        await manager.submit_many(result.to_submit)

    await asyncio.gather(*(one(b) for b in BROKERS))
    persisted = max(written)
    done = time.perf_counter()
    async with engine.connect() as conn:
        settled = (
            await conn.execute(
                select(func.count()).select_from(broker_orders).where(broker_orders.c.status.in_(SETTLED))
            )
        ).scalar_one()
        total = (await conn.execute(select(func.count()).select_from(broker_orders))).scalar_one()
    report(
        f"{kind:10} fan-out {count:>6} accounts{' (cold)' if cold else ''}  "
        f"intents written {persisted - started:6.1f} s  "
        f"all acknowledged {done - started:6.1f} s  ({settled}/{total} orders settled)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=200)
    parser.add_argument("--accounts", default="1000,10000")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--cold", action="store_true", help="no account sync before the fan-out")
    args = parser.parse_args()
    papers = {b: start_paper(b) for b in BROKERS}
    urls = {b: url for b, (_, url) in papers.items()}
    lines: list[str] = []

    def report(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    try:
        for kind in args.engines.split(","):
            asyncio.run(
                run(kind, urls, args.signals, [int(n) for n in args.accounts.split(",") if n], report,
                    cold=args.cold)
            )
        me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        paper_mem = ", ".join(f"{b} {peak_rss_mib(p.pid):.0f} MiB" for b, (p, _) in papers.items())
        report(f"peak memory: this process {me:.0f} MiB; paper brokers {paper_mem}")
    finally:
        for proc, _ in papers.values():
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
