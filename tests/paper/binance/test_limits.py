"""Wire fidelity of rate limits: weight headers, order-count headers, 429 then 418, -1015, and the
fault plan's refusals in Binance's own words."""

from __future__ import annotations

import requests

from boltztrader.paper.binance.state import BinanceVenue
from tests.paper.binance.conftest import Raw
from tests.paper.conftest import RunningPaper

LIMIT = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.01",
    "price": "50000",
}


def _venue(paper: RunningPaper) -> BinanceVenue:
    venue = paper.venue
    assert isinstance(venue, BinanceVenue)
    return venue


def test_weight_headers(raw: Raw) -> None:
    """Every response carries the used weight; exchangeInfo costs 20, a query 4, a failed one too."""
    first = requests.get(raw.url + "/api/v3/ping", timeout=10)
    used = int(first.headers["X-MBX-USED-WEIGHT-1M"])
    assert first.headers["X-MBX-USED-WEIGHT"] == str(used)
    info = requests.get(raw.url + "/api/v3/exchangeInfo", timeout=10)
    assert int(info.headers["X-MBX-USED-WEIGHT-1M"]) == used + 20
    missing = raw.call("GET", "/api/v3/order", symbol="BTCUSDT", orderId=9)
    assert missing.status_code == 400
    assert int(missing.headers["X-MBX-USED-WEIGHT-1M"]) == used + 24


def test_order_count_headers(raw: Raw) -> None:
    """An accepted order costs no weight and reports its unfilled-order counts; a rejected one has none."""
    before = int(requests.get(raw.url + "/api/v3/ping", timeout=10).headers["X-MBX-USED-WEIGHT-1M"])
    placed = raw.call("POST", "/api/v3/order", **LIMIT)
    assert placed.headers["X-MBX-ORDER-COUNT-10S"] == "1"
    assert placed.headers["X-MBX-ORDER-COUNT-1D"] == "1"
    assert int(placed.headers["X-MBX-USED-WEIGHT-1M"]) == before
    second = raw.call("POST", "/api/v3/order", **LIMIT)
    assert second.headers["X-MBX-ORDER-COUNT-10S"] == "2"
    rejected = raw.call("POST", "/api/v3/order", **{**LIMIT, "quantity": "1e-2"})
    assert "X-MBX-ORDER-COUNT-10S" not in rejected.headers
    assert int(rejected.headers["X-MBX-USED-WEIGHT-1M"]) == before + 1


def test_429_then_418(raw: Raw, paper: RunningPaper) -> None:
    """Over the weight budget the IP gets 429 -1003 with Retry-After; pressing on gets 418 (banned)."""
    paper.call(lambda: setattr(_venue(paper).binance.spot_limits, "weight_limit", 50))
    assert requests.get(raw.url + "/api/v3/exchangeInfo", timeout=10).status_code == 200
    assert requests.get(raw.url + "/api/v3/exchangeInfo", timeout=10).status_code == 200
    limited = requests.get(raw.url + "/api/v3/exchangeInfo", timeout=10)
    assert limited.status_code == 429
    assert limited.json()["code"] == -1003
    assert limited.json()["msg"].startswith(
        "Too much request weight used; current limit is 50 request weight"
    )
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert requests.get(raw.url + "/api/v3/ping", timeout=10).status_code == 429
    banned = requests.get(raw.url + "/api/v3/ping", timeout=10)
    assert banned.status_code == 418
    assert banned.json()["code"] == -1003
    assert banned.json()["msg"].startswith("Way too much request weight used; IP banned until ")
    assert int(banned.headers["Retry-After"]) == 120
    assert requests.get(raw.url + "/api/v3/time", timeout=10).status_code == 418
    futures = requests.get(raw.url + "/fapi/v1/ping", timeout=10)
    assert futures.status_code == 200  # futures keep their own budget


def test_too_many_orders(raw: Raw, paper: RunningPaper) -> None:
    """More unfilled orders than the 10-second limit gets 429 -1015 with Retry-After."""
    paper.call(lambda: setattr(_venue(paper).binance.spot_limits, "orders_10s", 2))
    assert raw.call("POST", "/api/v3/order", **LIMIT).status_code == 200
    assert raw.call("POST", "/api/v3/order", **LIMIT).status_code == 200
    refused = raw.call("POST", "/api/v3/order", **LIMIT)
    assert refused.status_code == 429
    assert refused.json() == {
        "code": -1015,
        "msg": "Too many new orders; current limit is 2 orders per 10 SECOND.",
    }
    assert "Retry-After" in refused.headers


def test_filled_orders_do_not_count(raw: Raw, paper: RunningPaper) -> None:
    """A MARKET order's fill takes it off the unfilled-order count, so fills never hit -1015."""
    paper.call(lambda: setattr(_venue(paper).binance.spot_limits, "orders_10s", 2))
    for _ in range(4):
        response = raw.call(
            "POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001"
        )
        assert response.status_code == 200, response.text
    limits = raw.call("GET", "/api/v3/rateLimit/order").json()
    assert limits[0]["rateLimitType"] == "ORDERS"
    assert limits[0]["count"] == 0


def test_fault_plan_in_binance_words(raw: Raw) -> None:
    """Injected faults answer in Binance's format: 503 with a code, 429 with -1003, 418 ban."""
    plan = {
        "rules": [
            {"op": "place_order", "action": "error_before", "count": 1, "status": 503},
            {"op": "get_order", "action": "ban", "count": 1, "retry_after_s": 7},
        ]
    }
    assert requests.put(raw.url + "/_paper/faults", json=plan, timeout=10).status_code == 200
    failed = raw.call("POST", "/api/v3/order", **LIMIT)
    assert failed.status_code == 503
    assert failed.json()["code"] == -1008
    banned = raw.call("GET", "/api/v3/order", symbol="BTCUSDT", orderId=1)
    assert banned.status_code == 418
    assert banned.headers["Retry-After"] == "7"
    assert raw.call("GET", "/api/v3/openOrders").json() == []
