"""Wire fidelity of account, positions, assets, clock, calendar, auth, rate limits and injected faults."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import requests

TS_ET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}-0[45]:00$")


def test_account_fields_are_strings(alpaca: Any) -> None:
    """GET /v2/account sends money as strings, status ACTIVE, currency USD, and no PDT fields."""
    body = alpaca.get("/v2/account").json()
    assert uuid.UUID(body["id"])
    assert re.fullmatch(r"PA[0-9A-Z]{10}", body["account_number"])
    assert body["status"] == "ACTIVE"
    assert body["currency"] == "USD"
    for key in ("cash", "buying_power", "equity", "portfolio_value", "last_equity", "long_market_value",
                "short_market_value", "initial_margin", "maintenance_margin", "sma", "multiplier"):
        assert isinstance(body[key], str), key
    assert body["cash"] == body["equity"] == body["portfolio_value"] == "100000"
    assert "pattern_day_trader" not in body
    assert "daytrade_count" not in body


def test_account_moves_with_a_fill_and_a_resting_order(alpaca: Any) -> None:
    """A fill moves cash into a long position; a resting buy reduces buying power but not cash."""
    alpaca.order(qty=10)  # fills at the ask, 227.53 (2 bps spread around 227.50)
    alpaca.order(type="limit", limit_price=100, time_in_force="gtc")
    body = alpaca.get("/v2/account").json()
    assert body["cash"] == "97724.7"
    assert body["buying_power"] == "97624.7"
    assert body["long_market_value"] == "2275"
    assert body["equity"] == "99999.7"


def test_positions_and_close(alpaca: Any) -> None:
    """Positions list and lookup send string fields; DELETE closes with a market order answered 200."""
    alpaca.order(qty=4)
    positions = alpaca.get("/v2/positions").json()
    assert [p["symbol"] for p in positions] == ["AAPL"]
    position = alpaca.get("/v2/positions/AAPL").json()
    assert position["qty"] == "4"
    assert position["side"] == "long"
    assert position["exchange"] == "NASDAQ"
    assert position["avg_entry_price"] == "227.53"
    assert position["cost_basis"] == "910.12"
    assert position["qty_available"] == "4"
    closing = alpaca.delete("/v2/positions/AAPL", params={"percentage": "50"})
    assert closing.status_code == 200
    assert closing.json()["side"] == "sell"
    assert closing.json()["qty"] == "2"
    assert alpaca.get("/v2/positions/AAPL").json()["qty"] == "2"
    missing = alpaca.get("/v2/positions/MSFT")
    assert missing.status_code == 404
    assert missing.json() == {"code": 40410000, "message": "position does not exist"}


def test_close_all_positions_is_207(alpaca: Any) -> None:
    """DELETE /v2/positions answers 207 with {symbol, status, body: order} per position."""
    alpaca.order(qty=1)
    alpaca.order(symbol="SPY", qty=1)
    response = alpaca.delete("/v2/positions", params={"cancel_orders": "True"})
    assert response.status_code == 207
    assert sorted((e["symbol"], e["status"], e["body"]["side"]) for e in response.json()) == \
        [("AAPL", 200, "sell"), ("SPY", 200, "sell")]
    assert alpaca.get("/v2/positions").json() == []


def test_assets(alpaca: Any) -> None:
    """Assets use the JSON key 'class', are fractionable, and unknown ones are 404."""
    assets = alpaca.get("/v2/assets").json()
    assert {a["symbol"] for a in assets} == {"AAPL", "MSFT", "NVDA", "TSLA", "SPY"}
    spy = alpaca.get("/v2/assets/SPY").json()
    assert spy["class"] == "us_equity"
    assert spy["exchange"] == "ARCA"
    assert spy["fractionable"] is True
    assert alpaca.get(f"/v2/assets/{spy['id']}").json()["symbol"] == "SPY"
    missing = alpaca.get("/v2/assets/NOPE")
    assert missing.status_code == 404
    assert missing.json()["code"] == 40410000


def test_clock_and_calendar(alpaca: Any) -> None:
    """The clock sends ET-offset timestamps; the calendar lists weekdays with 09:30-16:00 sessions."""
    clock = alpaca.get("/v2/clock").json()
    assert TS_ET.match(clock["timestamp"])
    assert clock["is_open"] is True
    assert clock["next_open"].endswith(("T09:30:00-04:00", "T09:30:00-05:00"))
    days = alpaca.get("/v2/calendar", params={"start": "2026-03-02", "end": "2026-03-08"}).json()
    assert [d["date"] for d in days] == [f"2026-03-0{i}" for i in range(2, 7)]
    assert days[0] | {"settlement_date": ""} == {"date": "2026-03-02", "open": "09:30", "close": "16:00",
                                                  "session_open": "0400", "session_close": "2000",
                                                  "settlement_date": ""}


def test_auth_failures(alpaca: Any) -> None:
    """No headers: 403 'forbidden.' without a code; a wrong secret: 401 40110000."""
    bare = requests.get(alpaca.url + "/v2/account", timeout=10)
    assert bare.status_code == 403
    assert bare.json() == {"message": "forbidden."}
    wrong = requests.get(alpaca.url + "/v2/account", timeout=10,
                         headers={"APCA-API-KEY-ID": alpaca.key, "APCA-API-SECRET-KEY": "nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {"code": 40110000, "message": "request is not authorized"}


def test_unknown_route_and_double_slash(alpaca: Any) -> None:
    """An unknown path is 404 40410000 'endpoint not found'; '//v2/account' is served, not redirected."""
    missing = alpaca.get("/v2/nothing")
    assert missing.status_code == 404
    assert missing.json() == {"code": 40410000, "message": "endpoint not found"}
    doubled = alpaca.http.get(alpaca.url + "//v2/account", timeout=10, allow_redirects=False)
    assert doubled.status_code == 200
    assert doubled.json()["status"] == "ACTIVE"


def test_rate_limit_headers_and_429(alpaca: Any) -> None:
    """Every response carries X-Ratelimit-*; past the limit: 429 with code 42910000 'rate limit exceeded'."""
    first = alpaca.get("/v2/account")
    assert first.headers["X-Ratelimit-Limit"] == "200"
    assert first.headers["X-Ratelimit-Remaining"] == "199"
    assert int(first.headers["X-Ratelimit-Reset"]) >= int(time.time())
    limited = requests.put(alpaca.url + "/_paper/rate_limit", json={"per_minute": 2}, timeout=10)
    assert limited.status_code == 200
    assert [alpaca.get("/v2/clock").status_code for _ in range(2)] == [200, 200]
    refused = alpaca.get("/v2/clock")
    assert refused.status_code == 429
    assert refused.json() == {"code": 42910000, "message": "rate limit exceeded"}
    assert refused.headers["X-Ratelimit-Remaining"] == "0"
    other_key, other_secret = alpaca.new_account()
    other = requests.get(alpaca.url + "/v2/clock", timeout=10,
                         headers={"APCA-API-KEY-ID": other_key, "APCA-API-SECRET-KEY": other_secret})
    assert other.status_code == 200


def test_fault_plan_errors_are_alpaca_json(alpaca: Any) -> None:
    """Injected 503 and 429 faults come back as Alpaca JSON bodies with a code."""
    plan = {"rules": [{"op": "place_order", "action": "error_before", "status": 503, "count": 1},
                      {"op": "account", "action": "rate_limit", "count": 1}]}
    assert requests.put(alpaca.url + "/_paper/faults", json=plan, timeout=10).status_code == 200
    failed = alpaca.order()
    assert failed.status_code == 503
    assert failed.json()["code"] == 50300000
    limited = alpaca.get("/v2/account")
    assert limited.status_code == 429
    assert limited.json()["code"] == 42910000
    assert alpaca.order().status_code == 200
    assert alpaca.get("/v2/orders", params={"status": "all"}).json()[0]["status"] == "filled"


def test_market_data_latest_quote_and_trade(alpaca: Any) -> None:
    """The data API paths answer in the data API's shape: short keys, numbers, quote/quotes, trade/trades."""
    single = alpaca.get("/v2/stocks/AAPL/quotes/latest").json()
    assert single["symbol"] == "AAPL"
    assert single["quote"]["ap"] == 227.53
    assert single["quote"]["bp"] == 227.47
    multi = alpaca.get("/v2/stocks/quotes/latest", params={"symbols": "AAPL,SPY"}).json()
    assert set(multi["quotes"]) == {"AAPL", "SPY"}
    assert multi["quotes"]["SPY"]["z"] == "B"
    trade = alpaca.get("/v2/stocks/MSFT/trades/latest").json()
    assert trade["symbol"] == "MSFT"
    assert trade["trade"]["p"] == 415.3
    trades = alpaca.get("/v2/stocks/trades/latest", params={"symbols": "TSLA"}).json()
    assert trades["trades"]["TSLA"]["p"] == 245.6
    missing = alpaca.get("/v2/stocks/NOPE/quotes/latest")
    assert missing.status_code == 404
    assert missing.json()["code"] == 40410000
