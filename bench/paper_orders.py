"""Order placements per second that one paper broker process sustains.

Starts ``boltz paper serve --broker X --tick-seconds 0 --no-rate-limits`` as its own process,
opens an account through ``/_paper/`` with ample cash, then sends market buy orders from this
process with aiohttp: ``--concurrency`` requests in flight over keep-alive connections. Each
order is a full, authenticated request in the broker's own wire format (Binance signed with
HMAC-SHA256). The brokers' rate limits are off: one real account may send only a few orders a
second. Reports orders/s, latency percentiles and the server's CPU seconds per order (read from
/proc). The machine has 2 cores: client and server share them.

    .venv/bin/python bench/paper_orders.py --orders 20000 --brokers kite,binance,alpaca
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from _common import free_port

BOLTZ = [sys.executable, "-m", "boltztrader.cli.main"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Broker:
    name: str
    cash: dict[str, str]
    make_request: Callable[[dict[str, Any], int], tuple[str, str, dict[str, str], bytes]]
    login: Callable[[aiohttp.ClientSession, str, dict[str, Any]], Any] | None = None


def _kite_request(account: dict[str, Any], i: int) -> tuple[str, str, dict[str, str], bytes]:
    body = urlencode(
        {
            "tradingsymbol": "INFY",
            "exchange": "NSE",
            "transaction_type": "BUY",
            "order_type": "MARKET",
            "quantity": "1",
            "product": "MIS",
            "validity": "DAY",
            "market_protection": "-1",
        }
    )
    headers = {
        "X-Kite-Version": "3",
        "Authorization": f"token {account['api_key']}:{account['access_token']}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return "POST", "/orders/regular", headers, body.encode()


async def _kite_login(http: aiohttp.ClientSession, base: str, account: dict[str, Any]) -> None:
    checksum = hashlib.sha256(
        (account["api_key"] + account["request_token"] + account["api_secret"]).encode()
    ).hexdigest()
    form = {"api_key": account["api_key"], "request_token": account["request_token"], "checksum": checksum}
    async with http.post(base + "/session/token", data=form, headers={"X-Kite-Version": "3"}) as response:
        account["access_token"] = (await response.json())["data"]["access_token"]


def _binance_request(account: dict[str, Any], i: int) -> tuple[str, str, dict[str, str], bytes]:
    query = urlencode(
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "MARKET",
            "quantity": "0.001",
            "newOrderRespType": "RESULT",
            "timestamp": int(time.time() * 1000),
        }
    )
    signature = hmac.new(account["api_secret"].encode(), query.encode(), hashlib.sha256).hexdigest()
    return "POST", f"/api/v3/order?{query}&signature={signature}", {"X-MBX-APIKEY": account["api_key"]}, b""


def _alpaca_request(account: dict[str, Any], i: int) -> tuple[str, str, dict[str, str], bytes]:
    body = json.dumps(
        {
            "symbol": "AAPL",
            "qty": "1",
            "side": "buy",
            "type": "market",
            "time_in_force": "day",
        }
    ).encode()
    headers = {
        "APCA-API-KEY-ID": account["key_id"],
        "APCA-API-SECRET-KEY": account["secret_key"],
        "Content-Type": "application/json",
    }
    return "POST", "/v2/orders", headers, body


BROKERS = {
    "kite": Broker("kite", {"INR": "100000000000"}, _kite_request, _kite_login),
    "binance": Broker("binance", {"USDT": "100000000000", "BTC": "1000000"}, _binance_request),
    "alpaca": Broker("alpaca", {"USD": "100000000000"}, _alpaca_request),
}



def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def _wait_up(http: aiohttp.ClientSession, base: str) -> None:
    for _ in range(200):
        try:
            async with http.get(base + "/_paper/prices") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError("paper broker did not start")


def run_one(broker: Broker, orders: int, concurrency: int) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen(
        [
            *BOLTZ,
            "paper",
            "serve",
            "--broker",
            broker.name,
            "--port",
            str(port),
            "--tick-seconds",
            "0",
            "--no-rate-limits",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        return asyncio.run(_drive(broker, f"http://127.0.0.1:{port}", server.pid, orders, concurrency))
    finally:
        server.terminate()
        server.wait(10)


async def _drive(broker: Broker, base: str, pid: int, orders: int, concurrency: int) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        await _wait_up(http, base)
        async with http.post(base + "/_paper/accounts", json={"cash": broker.cash}) as response:
            account = await response.json()
        if broker.login is not None:
            await broker.login(http, base, account)
        counter = iter(range(orders))
        latencies: list[float] = []
        failures: dict[int, int] = {}

        async def worker() -> None:
            for i in counter:
                method, path, headers, body = broker.make_request(account, i)
                started = time.perf_counter()
                async with http.request(method, base + path, headers=headers, data=body) as response:
                    await response.read()
                    if response.status != 200:
                        failures[response.status] = failures.get(response.status, 0) + 1
                latencies.append(time.perf_counter() - started)

        cpu_before = _cpu_seconds(pid)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds(pid) - cpu_before
        async with http.get(f"{base}/_paper/accounts/{account['account_id']}") as response:
            state = await response.json()
    latencies.sort()
    return {
        "broker": broker.name,
        "orders": orders,
        "seconds": elapsed,
        "per_second": orders / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "server_cpu_us": cpu / orders * 1e6,
        "failures": failures,
        "engine_orders": state.get("orders"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--brokers", default="kite,binance,alpaca")
    args = parser.parse_args()
    print(
        f"{'broker':8} {'orders':>7} {'orders/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'server CPU µs/order':>20}"
    )
    ok = True
    for name in args.brokers.split(","):
        result = run_one(BROKERS[name], args.orders, args.concurrency)
        print(
            f"{result['broker']:8} {result['orders']:>7} {result['per_second']:>9.0f} "
            f"{result['p50_ms']:>7.2f} {result['p99_ms']:>7.2f} {result['server_cpu_us']:>20.0f}",
            flush=True,
        )
        if result["failures"] or result["engine_orders"] != args.orders:
            print(
                f"  failures by status: {result['failures']}; orders the engine holds: "
                f"{result['engine_orders']}",
                flush=True,
            )
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
