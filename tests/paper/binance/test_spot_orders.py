"""Wire fidelity of spot orders: number formats, filters, balances, client ids, statuses and lookups."""

from __future__ import annotations

from typing import Any

import pytest

from tests.paper.binance.conftest import Raw, new_account, set_price
from tests.paper.conftest import RunningPaper

LIMIT = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}


def _order(raw: Raw, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = raw.call("POST", "/api/v3/order", **params).json()
    return body


def test_scientific_notation_rejected(raw: Raw) -> None:
    """``1e-05`` gets -1100 with the exact legal-range message."""
    body = _order(raw, **LIMIT, quantity="1e-05", price="50000")
    assert body == {
        "code": -1100,
        "msg": "Illegal characters found in parameter 'quantity'; legal range is "
        "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
    }


def test_too_much_precision(raw: Raw) -> None:
    """A quantity with nine decimals gets -1111."""
    body = _order(raw, **LIMIT, quantity="0.000010001", price="50000")
    assert body == {"code": -1111, "msg": "Parameter 'quantity' has too much precision."}


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({**LIMIT, "quantity": "0.01", "price": "50000.005"}, "PRICE_FILTER"),
        ({**LIMIT, "quantity": "0.000015", "price": "50000"}, "LOT_SIZE"),
        ({**LIMIT, "quantity": "0.000001", "price": "50000"}, "LOT_SIZE"),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "200"}, "MARKET_LOT_SIZE"),
        ({**LIMIT, "quantity": "0.00001", "price": "50000"}, "NOTIONAL"),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quoteOrderQty": "4.99"}, "NOTIONAL"),
    ],
)
def test_filter_failures(raw: Raw, params: dict[str, str], name: str) -> None:
    """Each filter breach gets -1013 "Filter failure: <NAME>"."""
    assert _order(raw, **params) == {"code": -1013, "msg": f"Filter failure: {name}"}


def test_missing_mandatory_parameter(raw: Raw) -> None:
    """A LIMIT without price gets -1102 naming 'price'; a MARKET without size names both options."""
    assert (
        _order(raw, **LIMIT, quantity="0.01")["msg"]
        == "Mandatory parameter 'price' was not sent, was empty/null, or malformed."
    )
    assert _order(raw, symbol="BTCUSDT", side="BUY", type="MARKET") == {
        "code": -1102,
        "msg": "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
    }


def test_insufficient_balance(paper: RunningPaper) -> None:
    """Buying beyond the free quote balance gets -2010 with Binance's exact text."""
    account = new_account(paper, {"USDT": "100"})
    raw = Raw(paper.url, account["api_key"], account["api_secret"])
    assert _order(raw, **LIMIT, quantity="0.01", price="50000") == {
        "code": -2010,
        "msg": "Account has insufficient balance for requested action.",
    }


def test_duplicate_client_id_only_while_open(raw: Raw) -> None:
    """A client id is refused while its order is open, and accepted again once it is cancelled or filled."""
    first = _order(raw, **LIMIT, quantity="0.01", price="50000", newClientOrderId="dup-1")
    assert first["status"] == "NEW"
    assert _order(raw, **LIMIT, quantity="0.01", price="50000", newClientOrderId="dup-1") == {
        "code": -2010,
        "msg": "Duplicate order sent.",
    }
    raw.call("DELETE", "/api/v3/order", symbol="BTCUSDT", orderId=first["orderId"])
    again = _order(raw, **LIMIT, quantity="0.01", price="50000", newClientOrderId="dup-1")
    assert again["status"] == "NEW"
    assert again["orderId"] != first["orderId"]
    raw.call("DELETE", "/api/v3/order", symbol="BTCUSDT", orderId=again["orderId"])
    filled = _order(
        raw, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001", newClientOrderId="dup-2"
    )
    assert filled["status"] == "FILLED"
    assert (
        _order(raw, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001", newClientOrderId="dup-2")[
            "status"
        ]
        == "FILLED"
    )


def test_client_id_format(raw: Raw) -> None:
    """A spot client id with a dot gets -1100 with the spot range; 36 characters with '-' and '_' pass."""
    body = _order(raw, **LIMIT, quantity="0.01", price="50000", newClientOrderId="bad.id")
    assert body == {
        "code": -1100,
        "msg": "Illegal characters found in parameter 'newClientOrderId'; legal "
        "range is '^[a-zA-Z0-9-_]{1,36}$'.",
    }
    long_id = "x-TKT5PX2F" + "a_b-" * 6 + "zz"
    assert len(long_id) == 36
    assert (
        _order(raw, **LIMIT, quantity="0.01", price="50000", newClientOrderId=long_id)["clientOrderId"]
        == long_id
    )


def test_response_types(raw: Raw) -> None:
    """ACK carries only ids and time; RESULT adds the order; FULL adds fills (8-decimal strings)."""
    ack = _order(raw, **LIMIT, quantity="0.01", price="50000", newOrderRespType="ACK")
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    result = _order(raw, **LIMIT, quantity="0.01", price="50000", newOrderRespType="RESULT")
    assert "fills" not in result
    assert result["price"] == "50000.00000000"
    assert result["cummulativeQuoteQty"] == "0.00000000"
    full = _order(raw, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    assert full["price"] == "0.00000000"
    assert full["timeInForce"] == "GTC"
    fill = full["fills"][0]
    assert set(fill) == {"price", "qty", "commission", "commissionAsset", "tradeId"}
    assert fill["commission"] == f"{float(fill['price']) * 0.01 * 0.001:.8f}"


def test_quote_order_qty_market(raw: Raw) -> None:
    """A MARKET buy by quoteOrderQty spends about that much quote and reports origQuoteOrderQty."""
    body = _order(raw, symbol="ETHUSDT", side="BUY", type="MARKET", quoteOrderQty="100")
    assert body["status"] == "FILLED"
    assert body["origQuoteOrderQty"] == "100.00000000"
    assert float(body["cummulativeQuoteQty"]) <= 100


def test_ioc_and_fok_expire(raw: Raw) -> None:
    """An IOC or FOK limit that cannot fill at once ends EXPIRED with nothing executed."""
    for tif in ("IOC", "FOK"):
        body = _order(
            raw,
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce=tif,
            quantity="0.01",
            price="50000",
            newOrderRespType="RESULT",
        )
        assert body["status"] == "EXPIRED"
        assert body["executedQty"] == "0.00000000"


def test_limit_maker_would_take(raw: Raw) -> None:
    """A LIMIT_MAKER that would cross the book gets -2010 "Order would immediately match and take."."""
    body = _order(raw, symbol="BTCUSDT", side="BUY", type="LIMIT_MAKER", quantity="0.01", price="61000")
    assert body == {"code": -2010, "msg": "Order would immediately match and take."}
    resting = _order(
        raw,
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT_MAKER",
        quantity="0.01",
        price="59000",
        newOrderRespType="RESULT",
    )
    assert resting["type"] == "LIMIT_MAKER"
    assert resting["status"] == "NEW"


def test_stop_orders(raw: Raw, paper: RunningPaper) -> None:
    """A stop that would fire at once gets -2010; a resting STOP_LOSS_LIMIT is NEW and not working until
    its trigger, then fills."""
    assert _order(
        raw, symbol="BTCUSDT", side="BUY", type="STOP_LOSS", quantity="0.01", stopPrice="59000"
    ) == {"code": -2010, "msg": "Order would trigger immediately."}
    placed = _order(
        raw,
        symbol="BTCUSDT",
        side="SELL",
        type="STOP_LOSS_LIMIT",
        timeInForce="GTC",
        quantity="0.01",
        price="58000",
        stopPrice="58500",
    )
    assert set(placed) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    query = raw.call("GET", "/api/v3/order", symbol="BTCUSDT", orderId=placed["orderId"]).json()
    assert query["status"] == "NEW"
    assert query["isWorking"] is False
    assert query["stopPrice"] == "58500.00000000"
    set_price(paper, "BTCUSDT", "58400")
    after = raw.call("GET", "/api/v3/order", symbol="BTCUSDT", orderId=placed["orderId"]).json()
    assert after["status"] == "FILLED"
    assert after["isWorking"] is True


def test_lookups_and_cancels(raw: Raw) -> None:
    """Unknown orders get -2013 on query and -2011 on cancel; no id gets -1102; a mismatched pair -2039;
    cancelling with nothing open gets -2011; a cancel reports the cancel's own client id."""
    assert raw.call("GET", "/api/v3/order", symbol="BTCUSDT", orderId=424242).json() == {
        "code": -2013,
        "msg": "Order does not exist.",
    }
    assert raw.call("DELETE", "/api/v3/order", symbol="BTCUSDT", orderId=424242).json() == {
        "code": -2011,
        "msg": "Unknown order sent.",
    }
    assert raw.call("GET", "/api/v3/order", symbol="BTCUSDT").json() == {
        "code": -1102,
        "msg": "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
    }
    assert raw.call("DELETE", "/api/v3/openOrders", symbol="BTCUSDT").json() == {
        "code": -2011,
        "msg": "Unknown order sent.",
    }
    placed = _order(raw, **LIMIT, quantity="0.01", price="50000", newClientOrderId="orig-1")
    assert (
        raw.call(
            "GET", "/api/v3/order", symbol="BTCUSDT", orderId=placed["orderId"], origClientOrderId="other"
        ).json()["code"]
        == -2039
    )
    cancelled = raw.call(
        "DELETE", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="orig-1", newClientOrderId="cancel-1"
    ).json()
    assert cancelled["clientOrderId"] == "cancel-1"
    assert cancelled["origClientOrderId"] == "orig-1"
    assert (
        raw.call("DELETE", "/api/v3/order", symbol="BTCUSDT", orderId=placed["orderId"]).json()["code"]
        == -2011
    )


def test_lists_and_trades(raw: Raw) -> None:
    """openOrders, allOrders, myTrades and openOrders DELETE agree with what was placed and filled."""
    resting = _order(raw, **LIMIT, quantity="0.01", price="50000")
    market = _order(raw, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.002")
    open_ids = [o["orderId"] for o in raw.call("GET", "/api/v3/openOrders", symbol="BTCUSDT").json()]
    assert open_ids == [resting["orderId"]]
    all_ids = [o["orderId"] for o in raw.call("GET", "/api/v3/allOrders", symbol="BTCUSDT").json()]
    assert all_ids == [resting["orderId"], market["orderId"]]
    trades = raw.call("GET", "/api/v3/myTrades", symbol="BTCUSDT").json()
    assert [t["orderId"] for t in trades] == [market["orderId"]]
    assert trades[0]["isBuyer"] is True
    assert trades[0]["qty"] == "0.00200000"
    cancelled = raw.call("DELETE", "/api/v3/openOrders", symbol="BTCUSDT").json()
    assert [c["status"] for c in cancelled] == ["CANCELED"]
    assert raw.call("GET", "/api/v3/openOrders").json() == []


def test_order_test_endpoint(raw: Raw) -> None:
    """order/test validates like a real order, never places it, and can report commission rates."""
    assert raw.call("POST", "/api/v3/order/test", **LIMIT, quantity="0.01", price="50000").json() == {}
    rates = raw.call(
        "POST", "/api/v3/order/test", **LIMIT, quantity="0.01", price="50000", computeCommissionRates="true"
    ).json()
    assert rates["standardCommissionForOrder"] == {"maker": "0.00100000", "taker": "0.00100000"}
    assert (
        raw.call("POST", "/api/v3/order/test", **LIMIT, quantity="1e-3", price="50000").json()["code"]
        == -1100
    )
    assert raw.call("GET", "/api/v3/openOrders", symbol="BTCUSDT").json() == []


def test_account_and_market_data(raw: Raw) -> None:
    """account lists balances as 8-decimal strings; tickers and exchangeInfo follow Binance's shapes."""
    account = raw.call("GET", "/api/v3/account").json()
    assert account["accountType"] == "SPOT"
    assert {"asset": "USDT", "free": "100000.00000000", "locked": "0.00000000"} in account["balances"]
    price = raw.call("GET", "/api/v3/ticker/price", symbol="BTCUSDT").json()
    assert price == {"symbol": "BTCUSDT", "price": "60000.00000000"}
    book = raw.call("GET", "/api/v3/ticker/bookTicker", symbol="BTCUSDT").json()
    assert float(book["bidPrice"]) < 60000 < float(book["askPrice"])
    info = raw.call("GET", "/api/v3/exchangeInfo", symbol="SOLUSDT").json()
    filters = {f["filterType"]: f for f in info["symbols"][0]["filters"]}
    assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00100000"
    assert raw.call("GET", "/api/v3/exchangeInfo", symbol="NOPE").json() == {
        "code": -1121,
        "msg": "Invalid symbol.",
    }
