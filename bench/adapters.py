"""Client CPU per order placement: our broker adapters against raw aiohttp and the brokers' SDKs.

One paper broker process per broker (``boltz paper serve --broker X --tick-seconds 0
--no-rate-limits``); each client gets its own funded account there and sends market buys, each
with a fresh client order id. Per client and mode: this process's CPU (``time.process_time()``,
all threads) around the placement loop per order, and wall orders/s. Modes: ``seq`` (one at a
time) and ``32`` in flight (32 asyncio workers under ``asyncio.gather``; for the synchronous SDKs
32 threads of one ``ThreadPoolExecutor``, their requests sessions given 32 pooled connections).
Each measurement follows ``--warmup`` orders in the same mode; ``--rounds`` interleaved rounds,
the best of each counts. The floor is a hand-built aiohttp request with the fields our adapter
sends; ccxt runs with ``enableRateLimit=False`` (the paper broker's limits are off too).

Exits non-zero if any order failed. Prints PASS/FAIL per adapter for "CPU at most 1.3x the floor"
and "cheaper than every SDK" (both modes); a FAIL is a measurement and keeps exit status 0.

    .venv/bin/python bench/adapters.py --seq-orders 2000 --inflight-orders 4000 --warmup 200 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import hmac
import importlib
import inspect
import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from boltztrader.domain.enums import Market, OrderType, Product, Side
from boltztrader.domain.reports import PlaceOrder
from boltztrader.domain.secrets import Secret

BOLTZ = [sys.executable, "-m", "boltztrader.cli.main"]
IN_FLIGHT = 32
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Client order ids shaped like ours (bz + 30 hex digits, domain.ids), unique in their first 20
# characters (Kite's tag).
ORDER_NUMBERS = itertools.count()
ONE, MINUS_ONE, BTC_QTY = Decimal(1), Decimal(-1), Decimal("0.001")
CPU_LIMIT = 1.3  # our adapter's CPU per order may be at most this multiple of the floor's

Place = Callable[[str], Any]  # one order with this client order id; raises on failure
Made = tuple[Place, Callable[[], Any]]  # the place function and what closes the client
Factory = Callable[[str, dict[str, Any]], Awaitable[Made]]


class Skip(Exception):
    """The client cannot run yet (our adapter does not import); the bench says so and goes on."""


@dataclass
class Client:
    name: str
    kind: str  # "raw" (the floor), "ours" or "sdk"
    factory: Factory


def _http(limit: int = IN_FLIGHT) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit))


def _check(status: int, body: bytes) -> Any:
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {body[:200]!r}")
    return json.loads(body)


def _pooled(session: Any) -> None:
    """Give a requests session one connection per thread in flight (urllib3's default keeps 10)."""
    import requests.adapters

    session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=IN_FLIGHT))


def _ours(module: str) -> Any:
    """Our adapter package, or Skip while it is missing or does not import yet."""
    try:
        return importlib.import_module(f"boltztrader.brokers.{module}")
    except ImportError as exc:
        raise Skip(f"boltztrader.brokers.{module} does not import ({exc})") from None


# Binance: the floor, ours, python-binance (AsyncClient), ccxt (async_support)
async def binance_raw(base: str, account: dict[str, Any]) -> Made:
    http = _http()
    secret = account["api_secret"].encode()
    headers = {"X-MBX-APIKEY": account["api_key"]}
    url = base + "/api/v3/order?"

    async def place(coid: str) -> None:
        query = urlencode({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001",
                           "newClientOrderId": coid, "newOrderRespType": "RESULT", "recvWindow": "5000",
                           "timestamp": int(time.time() * 1000)})
        signature = hmac.new(secret, query.encode(), hashlib.sha256).hexdigest()
        async with http.post(f"{url}{query}&signature={signature}", headers=headers) as response:
            _check(response.status, await response.read())
    return place, http.close


async def binance_python_binance(base: str, account: dict[str, Any]) -> Made:
    from binance import AsyncClient

    client = AsyncClient(account["api_key"], account["api_secret"])
    client.API_URL = base + "/api"

    async def place(coid: str) -> None:
        await client.create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001",
                                  newClientOrderId=coid, newOrderRespType="RESULT")
    return place, client.close_connection


async def binance_ccxt(base: str, account: dict[str, Any]) -> Made:
    import ccxt.async_support as ccxt

    exchange = ccxt.binance({"apiKey": account["api_key"], "secret": account["api_secret"],
                             "enableRateLimit": False,
                             "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                                         "fetchMargins": False}})
    for name, url in exchange.urls["api"].items():
        if isinstance(url, str):
            exchange.urls["api"][name] = base + url.split(".com", 1)[1]
    await exchange.load_markets()

    async def place(coid: str) -> None:
        await exchange.create_order("BTC/USDT", "market", "buy", 0.001,
                                    params={"clientOrderId": coid, "newOrderRespType": "RESULT"})
    return place, exchange.close


async def binance_ours(base: str, account: dict[str, Any]) -> Made:
    binance = _ours("binance")
    config = binance.BinanceConfig(api_key=Secret(account["api_key"]),
                                   api_secret=Secret(account["api_secret"]), base_url=base)
    broker = binance.BinanceBroker(config)

    async def place(coid: str) -> None:
        await broker.place_order(PlaceOrder(client_order_id=coid, symbol="BTCUSDT", market=Market.CRYPTO,
                                            side=Side.BUY, order_type=OrderType.MARKET, quantity=BTC_QTY))
    return place, broker.close


# Alpaca: the floor, ours, alpaca-py (sync TradingClient)
async def alpaca_raw(base: str, account: dict[str, Any]) -> Made:
    http = _http()
    headers = {"APCA-API-KEY-ID": account["key_id"], "APCA-API-SECRET-KEY": account["secret_key"],
               "Content-Type": "application/json"}
    url = base + "/v2/orders"

    async def place(coid: str) -> None:
        body = json.dumps({"symbol": "AAPL", "side": "buy", "type": "market", "time_in_force": "day",
                           "client_order_id": coid, "qty": "1"}, separators=(",", ":"))
        async with http.post(url, data=body.encode(), headers=headers) as response:
            _check(response.status, await response.read())
    return place, http.close


async def alpaca_alpaca_py(base: str, account: dict[str, Any]) -> Made:
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, TimeInForce
    from alpaca.trading.requests import MarketOrderRequest

    client = TradingClient(account["key_id"], account["secret_key"], paper=True, url_override=base)
    _pooled(client._session)

    def place(coid: str) -> None:
        client.submit_order(MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY,
                                               time_in_force=TimeInForce.DAY, client_order_id=coid))
    return place, client._session.close


async def alpaca_ours(base: str, account: dict[str, Any]) -> Made:
    alpaca = _ours("alpaca")
    broker = alpaca.AlpacaBroker(alpaca.AlpacaConfig(key_id=account["key_id"],
                                                     secret_key=Secret(account["secret_key"]), base_url=base))

    async def place(coid: str) -> None:
        await broker.place_order(PlaceOrder(client_order_id=coid, symbol="AAPL", market=Market.US,
                                            side=Side.BUY, order_type=OrderType.MARKET, quantity=ONE))
    return place, broker.close


# Kite: the floor, ours, kiteconnect (sync KiteConnect); each logs in with its own request token
async def _kite_access_token(base: str, account: dict[str, Any]) -> str:
    checksum = hashlib.sha256(
        (account["api_key"] + account["request_token"] + account["api_secret"]).encode()
    ).hexdigest()
    form = {"api_key": account["api_key"], "request_token": account["request_token"], "checksum": checksum}
    async with _http() as http, http.post(base + "/session/token", data=form,
                                          headers={"X-Kite-Version": "3"}) as response:
        token: str = (await response.json())["data"]["access_token"]
        return token


async def kite_raw(base: str, account: dict[str, Any]) -> Made:
    token = await _kite_access_token(base, account)
    http = _http()
    headers = {"X-Kite-Version": "3", "Authorization": f"token {account['api_key']}:{token}",
               "Content-Type": "application/x-www-form-urlencoded"}
    url = base + "/orders/regular"

    async def place(coid: str) -> None:
        body = urlencode({"exchange": "NSE", "tradingsymbol": "INFY", "transaction_type": "BUY",
                          "order_type": "MARKET", "quantity": "1", "product": "MIS", "validity": "DAY",
                          "tag": coid[:20], "market_protection": "-1"})
        async with http.post(url, data=body.encode(), headers=headers) as response:
            _check(response.status, await response.read())
    return place, http.close


async def kite_kiteconnect(base: str, account: dict[str, Any]) -> Made:
    from kiteconnect import KiteConnect

    kite = KiteConnect(api_key=account["api_key"], root=base)
    _pooled(kite.reqsession)
    session = kite.generate_session(account["request_token"], api_secret=account["api_secret"])
    kite.set_access_token(session["access_token"])

    def place(coid: str) -> None:
        kite.place_order(variety=kite.VARIETY_REGULAR, exchange="NSE", tradingsymbol="INFY",
                         transaction_type="BUY", quantity=1, product="MIS", order_type="MARKET",
                         validity="DAY", market_protection=-1, tag=coid[:20])
    return place, kite.reqsession.close


async def kite_ours(base: str, account: dict[str, Any]) -> Made:
    kite = _ours("kite")
    config = kite.KiteConfig(api_key=account["api_key"], api_secret=Secret(account["api_secret"]),
                             root_url=base)
    broker = kite.KiteBroker(config)
    await broker.generate_session(account["request_token"])

    async def place(coid: str) -> None:
        await broker.place_order(PlaceOrder(
            client_order_id=coid, symbol="INFY", market=Market.NSE, side=Side.BUY,
            order_type=OrderType.MARKET, quantity=ONE, product=Product.MIS, market_protection=MINUS_ONE))
    return place, broker.close


BROKERS: dict[str, tuple[dict[str, str], list[Client]]] = {  # cash of each account, clients
    "binance": ({"USDT": "100000000000", "BTC": "1000000"}, [
        Client("raw aiohttp", "raw", binance_raw), Client("boltztrader", "ours", binance_ours),
        Client("python-binance", "sdk", binance_python_binance), Client("ccxt", "sdk", binance_ccxt)]),
    "alpaca": ({"USD": "100000000000"}, [
        Client("raw aiohttp", "raw", alpaca_raw), Client("boltztrader", "ours", alpaca_ours),
        Client("alpaca-py (sync)", "sdk", alpaca_alpaca_py)]),
    "kite": ({"INR": "100000000000"}, [
        Client("raw aiohttp", "raw", kite_raw), Client("boltztrader", "ours", kite_ours),
        Client("kiteconnect (sync)", "sdk", kite_kiteconnect)]),
}


class Runner:
    """One client's placements, one at a time or IN_FLIGHT at once; failed orders are kept."""

    def __init__(self, place: Place) -> None:
        self.place = place
        self.failures: list[str] = []  # list.append is atomic under the GIL: safe from the threads
        self.is_async = inspect.iscoroutinefunction(place)
        self.pool = None if self.is_async else ThreadPoolExecutor(IN_FLIGHT)

    async def run(self, orders: int, in_flight: int) -> tuple[float, float]:
        """Place ``orders``; return (wall seconds, CPU seconds of this process, all threads)."""
        todo = iter([f"bz{next(ORDER_NUMBERS):018x}{'0' * 12}" for _ in range(orders)])
        cpu, wall = time.process_time(), time.perf_counter()
        if self.is_async:
            async def worker() -> None:
                for coid in todo:
                    try:
                        await self.place(coid)
                    except Exception as exc:
                        self.failures.append(repr(exc)[:300])
            await asyncio.gather(*(worker() for _ in range(in_flight)))
        else:
            def thread_worker() -> None:
                for coid in todo:
                    try:
                        self.place(coid)
                    except Exception as exc:
                        self.failures.append(repr(exc)[:300])
            if self.pool is None or in_flight == 1:
                thread_worker()
            else:
                for future in [self.pool.submit(thread_worker) for _ in range(in_flight)]:
                    future.result()
        return time.perf_counter() - wall, time.process_time() - cpu


async def _open_account(base: str, cash: dict[str, str]) -> dict[str, Any]:
    async with _http() as http:
        for _ in range(200):  # the server is still starting
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(base + "/_paper/prices") as response:
                    if response.status == 200:
                        break
            await asyncio.sleep(0.05)
        async with http.post(base + "/_paper/accounts", json={"cash": cash}) as response:
            account: dict[str, Any] = await response.json()
            return account


async def bench_broker(name: str, base: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every client of one broker in ``--rounds`` interleaved rounds; each keeps its best round."""
    cash, clients = BROKERS[name]
    runners: list[tuple[Client, Runner, Callable[[], Any]]] = []
    best: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        for client in clients:
            if args.clients and client.kind not in args.clients.split(","):
                continue
            try:
                place, close = await client.factory(base, await _open_account(base, cash))
            except Skip as why:
                print(f"  SKIPPED {name} {client.name}: {why}", flush=True)
                continue
            runners.append((client, Runner(place), close))
        for _ in range(args.rounds):
            for client, runner, _close in runners:
                for mode, orders, in_flight in (("seq", args.seq_orders, 1),
                                                (str(IN_FLIGHT), args.inflight_orders, IN_FLIGHT)):
                    await runner.run(args.warmup, in_flight)
                    gc.collect()
                    wall, cpu = await runner.run(orders, in_flight)
                    row = best.setdefault((client.name, mode), {
                        "broker": name, "client": client.name, "kind": client.kind, "mode": mode,
                        "per_second": 0.0, "cpu_us": float("inf")})
                    row["per_second"] = max(row["per_second"], orders / wall)
                    row["cpu_us"] = min(row["cpu_us"], cpu / orders * 1e6)
                    print(f"  {name:8} {client.name:20} {mode:>4} {orders / wall:>9,.0f} orders/s "
                          f"{cpu / orders * 1e6:>7,.0f} µs CPU/order", flush=True)
    finally:
        for _client, runner, close in runners:
            if inspect.isawaitable(result := close()):
                await result
            if runner.pool is not None:
                runner.pool.shutdown()
    return list(best.values()) + [{"broker": name, "client": client.name, "failures": runner.failures}
                                  for client, runner, _close in runners if runner.failures]


def _busy_seconds(stat: str = "/proc/stat") -> float:
    """CPU seconds used so far by the whole machine, or by one process (its ``/proc/<pid>/stat``)."""
    text = Path(stat).read_text()
    fields = text.split()[1:4] if stat == "/proc/stat" else text.rsplit(")", 1)[1].split()[11:13]
    return sum(int(x) for x in fields) / CLK_TCK


def run_broker(name: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One paper broker process for all of this broker's clients; says how busy the rest of the
    machine was meanwhile (other processes on the 2 cores disturb wall rates and batching)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([*BOLTZ, "paper", "serve", "--broker", name, "--port", str(port),
                               "--tick-seconds", "0", "--no-rate-limits"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server_stat = f"/proc/{server.pid}/stat"
    before = _busy_seconds() - time.process_time() - _busy_seconds(server_stat)
    wall = time.perf_counter()
    try:
        return asyncio.run(bench_broker(name, f"http://127.0.0.1:{port}", args))
    finally:
        others = _busy_seconds() - time.process_time() - _busy_seconds(server_stat) - before
        print(f"  other processes used {max(others, 0):.1f} CPU s of the machine's "
              f"{(os.cpu_count() or 1) * (time.perf_counter() - wall):.1f}", flush=True)
        server.terminate()
        server.wait(10)


def report(rows: list[dict[str, Any]], brokers: list[str]) -> bool:
    """Print the table and the verdicts; False if any order failed."""
    done = [row for row in rows if "failures" not in row]
    floor = {(r["broker"], r["mode"]): r["cpu_us"] for r in done if r["kind"] == "raw"}
    print(f"\n{'broker':8} {'client':20} {'mode':>4} {'orders/s':>9} {'CPU µs/order':>13} {'x raw':>6}")
    for r in done:
        r["ratio"] = r["cpu_us"] / floor[key] if (key := (r["broker"], r["mode"])) in floor else None
        shown = f"{r['ratio']:>6.2f}" if r["ratio"] is not None else f"{'-':>6}"
        print(f"{r['broker']:8} {r['client']:20} {r['mode']:>4} {r['per_second']:>9,.0f} "
              f"{r['cpu_us']:>13,.0f} {shown}")
    print()
    for broker in brokers:
        mine = [r for r in done if r["broker"] == broker and r["kind"] == "ours"]
        sdks = [r for r in done if r["broker"] == broker and r["kind"] == "sdk"]
        ratios = [r["ratio"] for r in mine if r["ratio"] is not None]
        if not mine or not ratios or not sdks:
            print(f"SKIP {broker} adapter: not measured against both the floor and the SDKs")
            continue
        detail = ", ".join(f"{r['mode']} {r['ratio']:.2f}x" for r in mine)
        verdict = "PASS" if max(ratios) <= CPU_LIMIT else "FAIL"
        print(f"{verdict} {broker} adapter CPU <= {CPU_LIMIT}x raw floor ({detail})")
        cheaper = all(m["cpu_us"] < s["cpu_us"] for m in mine for s in sdks if s["mode"] == m["mode"])
        print(f"{'PASS' if cheaper else 'FAIL'} {broker} adapter cheaper than every SDK "
              f"({', '.join(sorted({s['client'] for s in sdks}))})")
    failed = [row for row in rows if "failures" in row]
    for row in failed:
        print(f"FAILED ORDERS {row['broker']} {row['client']}: {len(row['failures'])}; "
              f"first: {row['failures'][0]}")
    return not failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq-orders", type=int, default=2000, help="orders per sequential measurement")
    parser.add_argument("--inflight-orders", type=int, default=4000,
                        help=f"orders per measurement with {IN_FLIGHT} in flight")
    parser.add_argument("--warmup", type=int, default=200, help="orders before each measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best one counts")
    parser.add_argument("--brokers", default="binance,alpaca,kite")
    parser.add_argument("--clients", default="", help="only these kinds: raw,ours,sdk (default: all)")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    brokers = args.brokers.split(",")
    for name in brokers:
        print(f"== {name}", flush=True)
        rows += run_broker(name, args)
    return 0 if report(rows, brokers) else 1


if __name__ == "__main__":
    sys.exit(main())
