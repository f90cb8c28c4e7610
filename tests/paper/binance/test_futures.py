"""Wire fidelity of USD-M futures: order rules and errors, leverage, positions, balances and account."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.paper.binance.conftest import Raw, new_account, set_price
from tests.paper.conftest import RunningPaper

LIMIT = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.010",
    "price": "50000.0",
}


def _order(raw: Raw, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = raw.call("POST", "/fapi/v1/order", **params).json()
    return body


def test_conditional_types_need_the_algo_endpoint(raw: Raw) -> None:
    """STOP_MARKET and friends on /fapi/v1/order get -4120 since 2025-12-09."""
    for kind in ("STOP", "STOP_MARKET", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"):
        body = _order(raw, symbol="BTCUSDT", side="SELL", type=kind, quantity="0.010", stopPrice="55000")
        assert body == {
            "code": -4120,
            "msg": "Order type not supported for this endpoint. Please use the Algo "
            "Order API endpoints instead.",
        }


def test_futures_client_ids(raw: Raw) -> None:
    """Futures ids allow '.' and ':'; a duplicate among open orders gets -4116; reuse after cancel works."""
    placed = _order(raw, **LIMIT, newClientOrderId="my.id:1")
    assert placed["clientOrderId"] == "my.id:1"
    assert placed["status"] == "NEW"
    assert _order(raw, **LIMIT, newClientOrderId="my.id:1") == {
        "code": -4116,
        "msg": "ClientOrderId is duplicated.",
    }
    cancelled = raw.call("DELETE", "/fapi/v1/order", symbol="BTCUSDT", origClientOrderId="my.id:1").json()
    assert cancelled["status"] == "CANCELED"
    assert _order(raw, **LIMIT, newClientOrderId="my.id:1")["status"] == "NEW"
    assert _order(raw, **LIMIT, newClientOrderId="bad,id")["code"] == -1100


def test_futures_number_rules(raw: Raw) -> None:
    """Futures precision, tick, step, zero quantity and minimum notional have their own codes."""
    assert _order(raw, **{**LIMIT, "quantity": "0.0101"})["code"] == -1111
    assert _order(raw, **{**LIMIT, "price": "50000.05"}) == {
        "code": -4014,
        "msg": "Price not increased by tick size.",
    }
    assert _order(raw, **{**LIMIT, "quantity": "0"}) == {
        "code": -4003,
        "msg": "Quantity less than or equal to zero.",
    }
    assert _order(raw, **{**LIMIT, "quantity": "0.001", "price": "1000.0"}) == {
        "code": -4164,
        "msg": "Order's notional must be no smaller than 100 (unless you choose reduce only).",
    }
    assert _order(raw, **{**LIMIT, "quantity": "1e-3"})["code"] == -1100
    assert _order(raw, **{**LIMIT, "positionSide": "LONG"})["code"] == -4061


def test_margin_and_reduce_only(paper: RunningPaper) -> None:
    """Orders beyond the margin get -2019; a reduce-only order with no position gets -2022."""
    account = new_account(paper, {"F:USDT": "100"})
    raw = Raw(paper.url, account["api_key"], account["api_secret"])
    assert _order(raw, **{**LIMIT, "quantity": "1.000"}) == {"code": -2019, "msg": "Margin is insufficient."}
    body = _order(raw, symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.010", reduceOnly="true")
    assert body == {"code": -2022, "msg": "ReduceOnly Order is rejected."}


def test_position_lifecycle(raw: Raw, paper: RunningPaper) -> None:
    """A market buy opens a long that positionRisk, balance and account report; the price moves the P&L;
    a reduce-only sell closes it."""
    assert raw.call("POST", "/fapi/v1/leverage", symbol="BTCUSDT", leverage=10).json() == {
        "leverage": 10,
        "maxNotionalValue": "1000000",
        "symbol": "BTCUSDT",
    }
    assert raw.call("POST", "/fapi/v1/leverage", symbol="BTCUSDT", leverage=126).json()["code"] == -4028
    ack = _order(raw, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.100")
    assert ack["status"] == "NEW"
    assert ack["executedQty"] == "0.000"
    assert "fills" not in ack
    filled = raw.call("GET", "/fapi/v1/order", symbol="BTCUSDT", orderId=ack["orderId"]).json()
    assert filled["status"] == "FILLED"
    assert filled["executedQty"] == "0.100"
    risk = raw.call("GET", "/fapi/v2/positionRisk", symbol="BTCUSDT").json()
    assert risk[0]["positionAmt"] == "0.100"
    assert risk[0]["leverage"] == "10"
    assert risk[0]["marginType"] == "cross"
    assert len(raw.call("GET", "/fapi/v2/positionRisk").json()) == 2
    assert [r["symbol"] for r in raw.call("GET", "/fapi/v3/positionRisk").json()] == ["BTCUSDT"]
    set_price(paper, "BTCUSDT", "61000")
    risk = raw.call("GET", "/fapi/v3/positionRisk").json()[0]
    assert Decimal(risk["unRealizedProfit"]) > Decimal("90")
    account = raw.call("GET", "/fapi/v2/account").json()
    assert Decimal(account["totalPositionInitialMargin"]) > Decimal("590")
    assert len(account["positions"]) == 2
    assert [p["symbol"] for p in raw.call("GET", "/fapi/v3/account").json()["positions"]] == ["BTCUSDT"]
    close = _order(
        raw,
        symbol="BTCUSDT",
        side="SELL",
        type="MARKET",
        quantity="0.100",
        reduceOnly="true",
        newOrderRespType="RESULT",
    )
    assert close["status"] == "FILLED"
    assert close["reduceOnly"] is True
    balance = raw.call("GET", "/fapi/v2/balance").json()[0]
    assert Decimal(balance["balance"]) > Decimal("100080")
    assert raw.call("GET", "/fapi/v3/positionRisk").json() == []
    trades = raw.call("GET", "/fapi/v1/userTrades", symbol="BTCUSDT").json()
    assert [t["side"] for t in trades] == ["BUY", "SELL"]


def test_futures_lists_and_cancel_all(raw: Raw) -> None:
    """openOrders lists resting futures orders; allOpenOrders answers code 200 and empties the book;
    unknown orders get -2013 / -2011; spot and futures orders do not mix."""
    placed = _order(raw, **LIMIT)
    assert [o["orderId"] for o in raw.call("GET", "/fapi/v1/openOrders").json()] == [placed["orderId"]]
    assert raw.call("GET", "/api/v3/openOrders").json() == []
    assert (
        raw.call("GET", "/api/v3/order", symbol="BTCUSDT", orderId=placed["orderId"]).json()["code"] == -2013
    )
    done = raw.call("DELETE", "/fapi/v1/allOpenOrders", symbol="BTCUSDT").json()
    assert done == {"code": 200, "msg": "The operation of cancel all open order is done."}
    assert raw.call("GET", "/fapi/v1/openOrders", symbol="BTCUSDT").json() == []
    assert raw.call("GET", "/fapi/v1/order", symbol="BTCUSDT", orderId=777777).json()["code"] == -2013
    assert (
        raw.call("DELETE", "/fapi/v1/order", symbol="BTCUSDT", orderId=placed["orderId"]).json()["code"]
        == -2011
    )
    assert [o["status"] for o in raw.call("GET", "/fapi/v1/allOrders", symbol="BTCUSDT").json()] == [
        "CANCELED"
    ]


def test_futures_exchange_info_and_modes(raw: Raw) -> None:
    """exchangeInfo lists the two perpetuals with MIN_NOTIONAL 'notional'; margin type and position mode
    report "no need to change" in one-way cross mode."""
    info = raw.call("GET", "/fapi/v1/exchangeInfo").json()
    symbols = {s["symbol"]: s for s in info["symbols"]}
    assert set(symbols) == {"BTCUSDT", "ETHUSDT"}
    filters = {f["filterType"]: f for f in symbols["BTCUSDT"]["filters"]}
    assert filters["MIN_NOTIONAL"] == {"filterType": "MIN_NOTIONAL", "notional": "100"}
    assert symbols["BTCUSDT"]["contractType"] == "PERPETUAL"
    assert raw.call("POST", "/fapi/v1/marginType", symbol="BTCUSDT", marginType="CROSSED").json() == {
        "code": -4046,
        "msg": "No need to change margin type.",
    }
    assert raw.call("GET", "/fapi/v1/positionSide/dual").json() == {"dualSidePosition": False}
    assert raw.call("POST", "/fapi/v1/positionSide/dual", dualSidePosition="false").json()["code"] == -4059
    price = raw.call("GET", "/fapi/v2/ticker/price", symbol="ETHUSDT").json()
    assert price["price"] == "3000.00"
