"""Wire fidelity of the instruments dump and the quote, ohlc and ltp calls."""

from __future__ import annotations

import csv
import io

from tests.paper.kite.conftest import KiteUser

HEADER = ("instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,"
          "instrument_type,segment,exchange")


def test_instruments_dump_is_csv_with_kites_header(user: KiteUser) -> None:
    """GET /instruments is text/csv with the exact header; tokens are exchange_token*256+1."""
    response = user.get("/instruments")
    assert response.status_code == 200
    assert "csv" in response.headers["Content-Type"]
    lines = response.text.splitlines()
    assert lines[0] == HEADER
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {row["tradingsymbol"] for row in rows} == {"INFY", "RELIANCE", "TCS", "HDFCBANK", "SBIN"}
    for row in rows:
        assert int(row["instrument_token"]) == int(row["exchange_token"]) * 256 + 1
        assert float(row["strike"]) == 0.0
        assert float(row["tick_size"]) == 0.05
        assert int(row["lot_size"]) == 1
        assert row["segment"] == "NSE"
        assert row["instrument_type"] == "EQ"
        assert row["expiry"] == ""
    assert user.get("/instruments/NSE").text == response.text
    assert user.get("/instruments/BSE").text.splitlines() == [HEADER]
    assert user.get("/instruments/XYZ").status_code == 400


def test_ltp_and_ohlc_with_repeated_i(user: KiteUser) -> None:
    """Repeated i= keys return one entry each; unknown instruments are absent."""
    ltp = user.data("GET", "/quote/ltp", params=[("i", "NSE:INFY"), ("i", "NSE:SBIN"), ("i", "NSE:NOPE")])
    assert set(ltp) == {"NSE:INFY", "NSE:SBIN"}
    assert ltp["NSE:INFY"] == {"instrument_token": 408065, "last_price": 1520}
    user.set_price("SBIN", "830.55")
    ohlc = user.data("GET", "/quote/ohlc", params=[("i", "NSE:SBIN"), ("i", "779521")])
    assert ohlc["NSE:SBIN"]["last_price"] == 830.55
    assert ohlc["NSE:SBIN"]["ohlc"] == {"open": 820, "high": 830.55, "low": 820, "close": 820}
    assert ohlc["779521"]["instrument_token"] == 779521


def test_full_quote_fields(user: KiteUser) -> None:
    """/quote has the full quote fields with five levels of depth on each side."""
    quote = user.data("GET", "/quote", params={"i": "NSE:TCS"})["NSE:TCS"]
    assert {"instrument_token", "timestamp", "last_trade_time", "last_price", "last_quantity", "buy_quantity",
            "sell_quantity", "volume", "average_price", "oi", "oi_day_high", "oi_day_low", "net_change",
            "lower_circuit_limit", "upper_circuit_limit", "ohlc", "depth"} == set(quote)
    assert len(quote["depth"]["buy"]) == 5
    assert len(quote["depth"]["sell"]) == 5
    assert quote["depth"]["buy"][0]["price"] < quote["last_price"] < quote["depth"]["sell"][0]["price"]
    assert len(quote["timestamp"]) == 19
    assert user.request("GET", "/quote").status_code == 400
