"""Same seed, same scripted orders: every paper broker produces identical fills and balances.

Each script runs on two fresh servers started with the same seed. Prices move only through
``/_paper/tick`` (the background ticker is off), so everything the broker reports as a fill or a
balance must come out the same; ids and wall-clock times are left out of the comparison.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import requests

from boltztrader.paper.alpaca import SPEC as ALPACA
from boltztrader.paper.binance import SPEC as BINANCE
from boltztrader.paper.engine import EngineConfig
from boltztrader.paper.kite import SPEC as KITE
from boltztrader.paper.venue import VenueConfig

from .alpaca.conftest import connect
from .binance.conftest import Raw, new_account
from .conftest import RunningPaper
from .kite.conftest import NO_LIMITS, admin, login

CONFIG = VenueConfig(seed=2024, tick_seconds=0, engine=EngineConfig(fill_parts=3))


def _tick(paper: RunningPaper, steps: int) -> str:
    body = requests.post(paper.url + "/_paper/tick", json={"steps": steps}, timeout=10).json()
    return str(body["prices"])


def _balances(paper: RunningPaper, account_id: str) -> dict[str, Any]:
    state = requests.get(f"{paper.url}/_paper/accounts/{account_id}", timeout=10).json()
    return {"balances": state["balances"], "positions": state["positions"], "fills": state["fills"]}


def _kite(paper: RunningPaper) -> dict[str, Any]:
    admin(paper, "PUT", "/_paper/limits", json=NO_LIMITS)
    user = login(paper)
    prices = [_tick(paper, 7)]
    user.place(order_type="MARKET", quantity=10, market_protection="-1", product="MIS")
    ltp = user.data("GET", "/quote/ltp", params={"i": "NSE:INFY"})["NSE:INFY"]["last_price"]
    limit = (Decimal(str(ltp)) + 2).quantize(Decimal("0.05"))
    user.place(transaction_type="SELL", order_type="LIMIT", quantity=4, product="MIS", price=str(limit))
    prices.append(_tick(paper, 60))
    trades = user.data("GET", "/trades")
    return {"prices": prices,
            "trades": [(t["transaction_type"], t["quantity"], t["average_price"]) for t in trades],
            **_balances(paper, user.account_id)}


def _binance(paper: RunningPaper) -> dict[str, Any]:
    account = new_account(paper)
    raw = Raw(paper.url, account["api_key"], account["api_secret"])
    prices = [_tick(paper, 5)]
    assert raw.call("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET",
                    quantity="0.05").status_code == 200
    book = raw.call("GET", "/api/v3/ticker/price", symbol="BTCUSDT").json()
    limit = str((Decimal(book["price"]) * Decimal("1.002")).quantize(Decimal("0.01")))
    assert raw.call("POST", "/api/v3/order", symbol="BTCUSDT", side="SELL", type="LIMIT", timeInForce="GTC",
                    quantity="0.02", price=limit).status_code == 200
    prices.append(_tick(paper, 80))
    assert raw.call("POST", "/api/v3/order", symbol="ETHUSDT", side="BUY", type="MARKET",
                    quoteOrderQty="250").status_code == 200
    trades = raw.call("GET", "/api/v3/myTrades", symbol="BTCUSDT").json()
    return {"prices": prices,
            "trades": [(t["isBuyer"], t["qty"], t["price"], t["commission"]) for t in trades],
            **_balances(paper, account["account_id"])}


def _alpaca(paper: RunningPaper) -> dict[str, Any]:
    alpaca = connect(paper)
    prices = [_tick(paper, 9)]
    assert alpaca.order(symbol="NVDA", qty="3").status_code == 200
    assert alpaca.order(symbol="AAPL", qty=None, notional="1000").status_code == 200
    quote = Decimal(requests.get(paper.url + "/_paper/prices", timeout=10).json()["prices"]["NVDA"])
    limit = (quote * Decimal("1.003")).quantize(Decimal("0.01"))
    sell = alpaca.order(symbol="NVDA", qty="2", side="sell", type="limit", limit_price=str(limit))
    assert sell.status_code == 200
    prices.append(_tick(paper, 70))
    orders = alpaca.http.get(paper.url + "/v2/orders", params={"status": "all", "direction": "asc"},
                             timeout=10).json()
    account = alpaca.http.get(paper.url + "/v2/account", timeout=10).json()
    return {"prices": prices,
            "orders": [(o["symbol"], o["side"], o["status"], o["filled_qty"], o["filled_avg_price"])
                       for o in orders],
            "cash": account["cash"], "equity": account["equity"]}


def _twice(paper_factory: Callable[..., RunningPaper], spec: Any,
           script: Callable[[RunningPaper], dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    return script(paper_factory(spec, CONFIG)), script(paper_factory(spec, CONFIG))


def test_kite_is_deterministic(paper_factory: Callable[..., RunningPaper]) -> None:
    """Two Kite servers with one seed give the same prices, trades and balances for the same script."""
    first, second = _twice(paper_factory, KITE, _kite)
    assert first == second
    assert len(first["trades"]) >= 3  # the market buy, split into parts, and more


def test_binance_is_deterministic(paper_factory: Callable[..., RunningPaper]) -> None:
    """Two Binance servers with one seed give the same prices, trades and balances for the same script."""
    first, second = _twice(paper_factory, BINANCE, _binance)
    assert first == second
    assert len(first["trades"]) >= 3


def test_alpaca_is_deterministic(paper_factory: Callable[..., RunningPaper]) -> None:
    """Two Alpaca servers with one seed give the same prices, orders and balances for the same script."""
    first, second = _twice(paper_factory, ALPACA, _alpaca)
    assert first == second
    assert [o[2] for o in first["orders"][:2]] == ["filled", "filled"]


def test_another_seed_gives_other_prices(paper_factory: Callable[..., RunningPaper]) -> None:
    """The comparison can fail: a different seed moves prices differently."""
    other = VenueConfig(seed=2025, tick_seconds=0)
    assert _tick(paper_factory(BINANCE, CONFIG), 20) != _tick(paper_factory(BINANCE, other), 20)
