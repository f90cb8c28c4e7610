"""Wire fidelity of orders: ids, fields, statuses, history, modify, cancel, RMS rejections, input errors."""

from __future__ import annotations

from typing import Any

from tests.paper.kite.conftest import KiteUser, admin

ORDER_FIELDS = {
    "placed_by", "order_id", "exchange_order_id", "parent_order_id", "status", "status_message",
    "status_message_raw", "order_timestamp", "exchange_update_timestamp", "exchange_timestamp", "variety",
    "modified", "exchange", "tradingsymbol", "instrument_token", "order_type", "transaction_type", "validity",
    "validity_ttl", "product", "quantity", "disclosed_quantity", "price", "trigger_price", "average_price",
    "filled_quantity", "pending_quantity", "cancelled_quantity", "market_protection", "meta", "tag", "guid",
}
TRADE_FIELDS = {"trade_id", "order_id", "exchange", "tradingsymbol", "instrument_token", "product",
                "average_price", "quantity", "exchange_order_id", "transaction_type", "fill_timestamp",
                "order_timestamp", "exchange_timestamp"}


def _statuses(user: KiteUser, order_id: str) -> list[str]:
    return [row["status"] for row in user.data("GET", f"/orders/{order_id}")]


def _error(user: KiteUser, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = user.request(method, path, **kwargs)
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "error"
    assert body["error_type"] == "InputException"
    assert body["data"] is None
    return body


def test_resting_limit_order_row(user: KiteUser) -> None:
    """A LIMIT below the market rests OPEN; its row has exactly the mock's fields, types and formats."""
    order_id = user.place(price="1400.05", tag="strat1")
    assert len(order_id) == 19
    assert order_id.isdigit()
    row = user.order(order_id)
    assert set(row) == ORDER_FIELDS | {"tags"}
    assert row["status"] == "OPEN"
    assert row["price"] == 1400.05
    assert row["quantity"] == 1
    assert row["pending_quantity"] == 1
    assert row["instrument_token"] == 408065
    assert row["tag"] == "strat1"
    assert row["tags"] == ["strat1"]
    assert row["variety"] == "regular"
    assert row["product"] == "CNC"
    assert row["validity"] == "DAY"
    assert len(row["order_timestamp"]) == 19
    assert len(row["exchange_timestamp"]) == 19
    assert len(row["exchange_order_id"]) == 16
    assert row["placed_by"] == user.user_id
    assert row["modified"] is False


def test_market_order_history(user: KiteUser) -> None:
    """A protected MARKET buy fills at once; history goes through Kite's statuses to COMPLETE."""
    order_id = user.place(order_type="MARKET", price=None, market_protection="-1", quantity=3)
    history = user.data("GET", f"/orders/{order_id}")
    assert [row["status"] for row in history] == [
        "PUT ORDER REQ RECEIVED", "VALIDATION PENDING", "OPEN PENDING", "OPEN", "COMPLETE"]
    assert history[0]["exchange_order_id"] is None
    assert history[0]["exchange_timestamp"] is None
    last = history[-1]
    assert last["filled_quantity"] == 3
    assert last["pending_quantity"] == 0
    assert last["order_type"] == "MARKET"
    assert last["price"] == 0
    assert 1520 <= last["average_price"] <= 1521
    assert last["tags"] == ["mktp", "mktp:2.00"]


def test_market_order_without_protection_is_refused(user: KiteUser) -> None:
    """MARKET with market_protection 0 (or absent) is 400 InputException with Kite's message."""
    body = _error(user, "POST", "/orders/regular", data={
        "exchange": "NSE", "tradingsymbol": "INFY", "transaction_type": "BUY", "quantity": 1,
        "product": "CNC", "order_type": "MARKET"})
    assert body["message"].startswith("Market orders without market protection are not allowed via API.")
    assert user.data("GET", "/orders") == []


def test_stop_loss_order_triggers_then_fills(user: KiteUser) -> None:
    """An SL buy waits in TRIGGER PENDING, turns OPEN when the price crosses, then COMPLETE."""
    order_id = user.place(order_type="SL", trigger_price="1530", price="1535")
    assert user.order(order_id)["status"] == "TRIGGER PENDING"
    user.set_price("INFY", "1531")
    assert _statuses(user, order_id)[-2:] == ["OPEN", "COMPLETE"]
    assert user.order(order_id)["filled_quantity"] == 1


def test_stop_loss_trigger_must_be_beyond_the_last_price(user: KiteUser) -> None:
    """An SL buy with its trigger already below the LTP is refused, not placed."""
    body = _error(user, "POST", "/orders/regular", data={
        "exchange": "NSE", "tradingsymbol": "INFY", "transaction_type": "BUY", "quantity": 1,
        "product": "CNC", "order_type": "SL-M", "trigger_price": "1500", "market_protection": "2"})
    assert "Trigger price" in body["message"]


def test_modify_records_the_modify_pipeline(user: KiteUser) -> None:
    """PUT /orders/regular/{id} changes price and quantity; history shows the MODIFY statuses."""
    order_id = user.place(price="1400")
    result = user.data("PUT", f"/orders/regular/{order_id}",
                       data={"variety": "regular", "order_id": order_id, "price": "1410.5", "quantity": "2",
                             "order_type": "LIMIT"})
    assert result == {"order_id": order_id}
    assert _statuses(user, order_id)[-4:] == [
        "MODIFY VALIDATION PENDING", "MODIFY PENDING", "MODIFIED", "OPEN"]
    row = user.order(order_id)
    assert row["price"] == 1410.5
    assert row["quantity"] == 2
    assert row["modified"] is True


def test_modification_cap(user: KiteUser) -> None:
    """After the per-order modification limit the next modify is refused."""
    admin(user.paper, "PUT", "/_paper/limits", json={"modifications_per_order": 2})
    order_id = user.place(price="1400")
    for price in ("1401", "1402"):
        user.data("PUT", f"/orders/regular/{order_id}", data={"price": price})
    body = _error(user, "PUT", f"/orders/regular/{order_id}", data={"price": "1403"})
    assert body["message"] == "Maximum allowed order modifications exceeded"


def test_cancel_then_cancel_again(user: KiteUser) -> None:
    """Cancel ends CANCELLED via CANCEL PENDING; cancelling again is Kite's generic 400."""
    order_id = user.place(price="1400", quantity=5)
    assert user.data("DELETE", f"/orders/regular/{order_id}") == {"order_id": order_id}
    assert _statuses(user, order_id)[-2:] == ["CANCEL PENDING", "CANCELLED"]
    row = user.order(order_id)
    assert row["cancelled_quantity"] == 5
    assert row["pending_quantity"] == 0
    body = _error(user, "DELETE", f"/orders/regular/{order_id}")
    assert body["message"] == "Order cannot be cancelled as it is being processed. Try later."


def test_ioc_that_cannot_fill_is_cancelled(user: KiteUser) -> None:
    """An IOC limit below the market ends CANCELLED with nothing filled."""
    order_id = user.place(price="1400", validity="IOC")
    row = user.order(order_id)
    assert row["status"] == "CANCELLED"
    assert row["filled_quantity"] == 0


def test_insufficient_funds_is_a_rejected_order(user: KiteUser) -> None:
    """An order beyond the cash returns an order_id; the order is REJECTED with Kite's RMS message."""
    order_id = user.place(price="1500", quantity=1000)
    row = user.order(order_id)
    assert row["status"] == "REJECTED"
    assert row["status_message"] == ("Insufficient funds. Required margin is 1500000.00 but available margin "
                                     "is 1000000.00. Check the orderbook for open orders.")
    assert row["status_message_raw"].startswith(
        "RMS:Margin Exceeds,Required:1500000.00, Available:1000000.00")
    assert row["pending_quantity"] == 0
    assert row["exchange_order_id"] is None
    assert row["exchange_timestamp"] is None
    assert _statuses(user, order_id) == ["PUT ORDER REQ RECEIVED", "VALIDATION PENDING", "REJECTED"]


def test_selling_without_holdings_is_a_rejected_order(user: KiteUser) -> None:
    """A CNC sell of stock not held ends REJECTED, not a 400."""
    order_id = user.place(transaction_type="SELL", price="1600")
    row = user.order(order_id)
    assert row["status"] == "REJECTED"
    assert "Insufficient holdings" in row["status_message"]


def test_input_errors_create_no_order(user: KiteUser) -> None:
    """Bad enums, tick size, integer quantity, tag and symbol are 400 InputException with no order made."""
    base = {"exchange": "NSE", "tradingsymbol": "INFY", "transaction_type": "BUY", "quantity": "1",
            "product": "CNC", "order_type": "LIMIT", "price": "1500"}
    cases = [
        ({"price": "1500.03"}, "Tick size for this script is 0.05. Kindly enter price in the multiple of "
                               "tick size for this script"),
        ({"price": str(0.1 + 0.2)}, "Tick size for this script is 0.05."),
        ({"quantity": "65.0"}, "Invalid request (failed to decode `quantity`, got: `65.0` (expected int))"),
        ({"quantity": "0"}, "Quantity should be greater than zero."),
        ({"order_type": "STOP"}, "Invalid `order_type`."),
        ({"product": "BO"}, "Invalid `product`."),
        ({"transaction_type": "buy"}, "Invalid `transaction_type`."),
        ({"tradingsymbol": "NOPE"}, "Invalid `tradingsymbol`."),
        ({"tag": "x" * 21}, "Tag should be alphanumeric"),
        ({"tag": "bad-tag!"}, "Tag should be alphanumeric"),
        ({"market_protection": "101"}, "Invalid `market_protection`."),
    ]
    for change, message in cases:
        body = _error(user, "POST", "/orders/regular", data={**base, **change})
        assert body["message"].startswith(message), (change, body)
    assert _error(user, "POST", "/orders/iceberg", data=base)["message"].startswith("The `iceberg` variety")
    assert user.data("GET", "/orders") == []


def test_client_extras_are_ignored_and_numbers_parsed_leniently(user: KiteUser) -> None:
    """The duplicate variety field is ignored; 1500.05 and integer prices both parse."""
    first = user.place(variety="regular", price="1500.05", quantity=1)
    second = user.data("POST", "/orders/regular", data={
        "variety": "regular", "exchange": "NSE", "tradingsymbol": "SBIN", "transaction_type": "BUY",
        "quantity": 2, "product": "MIS", "order_type": "LIMIT", "price": 800})["order_id"]
    assert user.order(first)["price"] == 1500.05
    assert user.order(second)["price"] == 800
    assert user.order(second)["product"] == "MIS"


def test_trades_of_a_filled_order(user: KiteUser) -> None:
    """GET /trades and /orders/{id}/trades list the fill with Kite's trade fields."""
    order_id = user.place(price="1530", quantity=4)
    trades = user.data("GET", f"/orders/{order_id}/trades")
    assert len(trades) == 1
    trade = trades[0]
    assert set(trade) == TRADE_FIELDS
    assert trade["quantity"] == 4
    assert trade["order_id"] == order_id
    assert isinstance(trade["trade_id"], str)
    assert len(trade["order_timestamp"]) == 8
    assert len(trade["fill_timestamp"]) == 19
    assert user.data("GET", "/trades") == trades


def test_unknown_order_id(user: KiteUser) -> None:
    """History of an order id that does not exist is a 400 InputException."""
    body = _error(user, "GET", "/orders/1953341975595868160")
    assert "order_id" in body["message"]
