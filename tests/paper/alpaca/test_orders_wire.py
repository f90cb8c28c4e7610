"""Wire fidelity of /v2/orders: statuses, string decimals, timestamps, error codes, list filters."""

from __future__ import annotations

import re
import uuid
from typing import Any

import requests

TS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
STRING_FIELDS = ("qty", "filled_qty")


def test_market_order_answers_200_with_the_accepted_order(alpaca: Any) -> None:
    """POST /v2/orders answers 200 (not 201) with a pending_new order, UUID ids and string decimals."""
    response = alpaca.order(qty=2, client_order_id="mkt-1")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert uuid.UUID(body["id"]).version == 4
    assert body["client_order_id"] == "mkt-1"
    assert body["status"] == "pending_new"
    assert body["qty"] == "2"
    assert body["filled_qty"] == "0"
    assert body["filled_avg_price"] is None
    assert body["notional"] is None
    assert body["extended_hours"] is False
    assert body["type"] == body["order_type"] == "market"
    assert body["asset_class"] == "us_equity"
    for key in ("created_at", "updated_at", "submitted_at"):
        assert TS_Z.match(body[key]), body[key]
    assert body["filled_at"] is None
    assert body["canceled_at"] is None
    later = alpaca.get(f"/v2/orders/{body['id']}").json()
    assert later["status"] == "filled"
    assert later["filled_qty"] == "2"
    assert isinstance(later["filled_avg_price"], str)
    assert TS_Z.match(later["filled_at"])


def test_generated_client_order_id_is_a_uuid(alpaca: Any) -> None:
    """Without client_order_id the server makes one (a UUID), as Alpaca does."""
    body = alpaca.order().json()
    assert uuid.UUID(body["client_order_id"])


def test_limit_order_rests_as_new_and_fills_when_crossed(alpaca: Any) -> None:
    """A buy limit below the market rests as new and fills once the price falls through it."""
    body = alpaca.order(type="limit", limit_price=200, time_in_force="gtc").json()
    assert body["limit_price"] == "200"
    assert alpaca.get(f"/v2/orders/{body['id']}").json()["status"] == "new"
    alpaca.set_price("AAPL", "199.50")
    filled = alpaca.get(f"/v2/orders/{body['id']}").json()
    assert filled["status"] == "filled"
    assert filled["filled_avg_price"] == "200"


def test_notional_order_has_null_qty(alpaca: Any) -> None:
    """A notional market day order keeps qty null and fills a fractional quantity."""
    body = alpaca.order(notional="500", qty=None).json()
    assert body["notional"] == "500"
    assert body["qty"] is None
    filled = alpaca.get(f"/v2/orders/{body['id']}").json()
    assert filled["status"] == "filled"
    assert "." in filled["filled_qty"]


def _error(response: requests.Response, status: int, code: int | None,
           message: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body.get("code") == code
    if message is not None:
        assert body["message"] == message
    return body


def test_validation_errors_use_alpacas_codes(alpaca: Any) -> None:
    """Bad orders get 422 with 40010001 (validation) or 42210000 (order rules) and Alpaca's wording."""
    _error(alpaca.order(symbol="ZZZZ"), 422, 40010001, "could not find us_equity 'ZZZZ'")
    _error(alpaca.order(type="limit", limit_price="290.123"), 422, 42210000,
           "invalid limit_price 290.123. sub-penny increment does not fulfill minimum pricing criteria")
    _error(alpaca.order(extended_hours=True), 422, 40010001,
           'only type="limit" is allowed for extended hours orders')
    _error(alpaca.order(qty="0.5", time_in_force="gtc"), 422, 42210000,
           "fractional orders must be DAY orders")
    _error(alpaca.order(qty=None, notional="100", type="limit", limit_price=10), 422, 42210000)
    _error(alpaca.order(type="limit"), 422, 40010001, "limit_price is required")
    _error(alpaca.order(side="short"), 422, 40010001)


def test_insufficient_buying_power_is_403_with_context(alpaca: Any) -> None:
    """An order costing more than the cash gets 403 40310000 with buying_power and cost_basis strings."""
    body = _error(alpaca.order(qty=1000, type="limit", limit_price=227), 403, 40310000,
                  "insufficient buying power")
    assert body["buying_power"] == "100000"
    assert body["cost_basis"] == "227000"


def test_short_sale_is_refused(alpaca: Any) -> None:
    """Selling what the account does not hold is refused: this paper account may not short."""
    _error(alpaca.order(side="sell"), 403, 40310000, "account is not allowed to short")


def test_selling_shares_held_by_an_open_order_reports_qty_available(alpaca: Any) -> None:
    """A second sell of shares locked by a resting sell gets 403 with available/held_for_orders."""
    alpaca.order(qty=5)
    resting = alpaca.order(side="sell", qty=5, type="limit", limit_price=300, time_in_force="gtc").json()
    body = _error(alpaca.order(side="sell", qty=2), 403, 40310000,
                  "insufficient qty available for order (requested: 2, available: 0)")
    assert body["existing_qty"] == "5"
    assert body["held_for_orders"] == "5"
    assert body["symbol"] == "AAPL"
    assert body["related_orders"] == [resting["id"]]


def test_client_order_id_is_unique_for_ever(alpaca: Any) -> None:
    """Reusing a client_order_id gives 422 40010001, even after the first order was cancelled."""
    first = alpaca.order(type="limit", limit_price=100, time_in_force="gtc", client_order_id="dup").json()
    _error(alpaca.order(client_order_id="dup"), 422, 40010001, "client_order_id must be unique")
    assert alpaca.delete(f"/v2/orders/{first['id']}").status_code == 204
    _error(alpaca.order(client_order_id="dup"), 422, 40010001, "client_order_id must be unique")
    _error(alpaca.order(client_order_id="x" * 129), 422, 40010001)


def test_cancel_is_204_and_the_order_ends_canceled(alpaca: Any) -> None:
    """DELETE /v2/orders/{id} answers 204 with an empty body; the order is then canceled."""
    order = alpaca.order(type="limit", limit_price=100, time_in_force="gtc").json()
    response = alpaca.delete(f"/v2/orders/{order['id']}")
    assert response.status_code == 204
    assert response.content == b""
    after = alpaca.get(f"/v2/orders/{order['id']}").json()
    assert after["status"] == "canceled"
    assert TS_Z.match(after["canceled_at"])


def test_cancel_of_a_filled_order_is_422(alpaca: Any) -> None:
    """Cancelling a filled order gives 422 42210000 'order is already in "filled" state'."""
    order = alpaca.order().json()
    _error(alpaca.delete(f"/v2/orders/{order['id']}"), 422, 42210000, 'order is already in "filled" state')


def test_unknown_and_malformed_order_ids(alpaca: Any) -> None:
    """An unknown UUID is 404 40410000 'order not found'; a non-UUID is 422 'order_id is missing'."""
    _error(alpaca.get(f"/v2/orders/{uuid.uuid4()}"), 404, 40410000, "order not found")
    _error(alpaca.get("/v2/orders/not-a-uuid"), 422, 40010001, "order_id is missing")
    _error(alpaca.delete(f"/v2/orders/{uuid.uuid4()}"), 404, 40410000, "order not found")


def test_order_by_client_order_id(alpaca: Any) -> None:
    """GET /v2/orders:by_client_order_id finds the order; an unknown id is 404."""
    order = alpaca.order(client_order_id="find-me").json()
    found = alpaca.get("/v2/orders:by_client_order_id", params={"client_order_id": "find-me"})
    assert found.status_code == 200
    assert found.json()["id"] == order["id"]
    _error(alpaca.get("/v2/orders:by_client_order_id", params={"client_order_id": "nope"}), 404, 40410000)


def test_cancel_all_answers_207_per_order(alpaca: Any) -> None:
    """DELETE /v2/orders answers 207 with one {id, status: 200} per open order."""
    ids = {alpaca.order(type="limit", limit_price=100 + i, time_in_force="gtc").json()["id"]
           for i in range(3)}
    response = alpaca.delete("/v2/orders")
    assert response.status_code == 207
    assert {(e["id"], e["status"]) for e in response.json()} == {(i, 200) for i in ids}
    assert alpaca.get("/v2/orders").json() == []


def test_list_filters_status_limit_direction_and_symbols(alpaca: Any) -> None:
    """GET /v2/orders defaults to open orders, newest first; closed/all, limit, asc and symbols work."""
    filled = alpaca.order().json()
    resting = [alpaca.order(symbol=s, type="limit", limit_price=10, time_in_force="gtc").json()
               for s in ("AAPL", "MSFT", "NVDA")]
    open_ids = [o["id"] for o in alpaca.get("/v2/orders").json()]
    assert open_ids == [o["id"] for o in reversed(resting)]
    closed = alpaca.get("/v2/orders", params={"status": "closed"}).json()
    assert [o["id"] for o in closed] == [filled["id"]]
    everything = alpaca.get("/v2/orders", params={"status": "all", "direction": "asc"}).json()
    assert [o["id"] for o in everything] == [filled["id"]] + [o["id"] for o in resting]
    assert len(alpaca.get("/v2/orders", params={"status": "all", "limit": 2}).json()) == 2
    msft = alpaca.get("/v2/orders", params={"symbols": "MSFT,TSLA"}).json()
    assert [o["symbol"] for o in msft] == ["MSFT"]
    _error(alpaca.get("/v2/orders", params={"limit": 501}), 422, 40010001)
    _error(alpaca.get("/v2/orders", params={"status": "bogus"}), 422, 40010001)


def test_list_after_and_until_are_exclusive(alpaca: Any) -> None:
    """after/until compare with submitted_at and exclude the boundary itself."""
    orders = [alpaca.order(type="limit", limit_price=10, time_in_force="gtc").json() for _ in range(3)]
    middle = orders[1]["submitted_at"]
    after = alpaca.get("/v2/orders", params={"status": "all", "after": middle}).json()
    until = alpaca.get("/v2/orders", params={"status": "all", "until": middle}).json()
    assert [o["id"] for o in after] == [orders[2]["id"]]
    assert [o["id"] for o in until] == [orders[0]["id"]]


def test_replace_makes_a_new_order_and_the_old_one_replaced(alpaca: Any) -> None:
    """PATCH answers 200 with a new order (replaces = old id); the old one is replaced with replaced_by."""
    old = alpaca.order(type="limit", limit_price=100, time_in_force="gtc", client_order_id="r-1").json()
    response = alpaca.patch(f"/v2/orders/{old['id']}", {"limit_price": 101.5, "qty": 3})
    assert response.status_code == 200, response.text
    new = response.json()
    assert new["id"] != old["id"]
    assert new["replaces"] == old["id"]
    assert new["limit_price"] == "101.5"
    assert new["qty"] == "3"
    before = alpaca.get(f"/v2/orders/{old['id']}").json()
    assert before["status"] == "replaced"
    assert before["replaced_by"] == new["id"]
    assert TS_Z.match(before["replaced_at"])
    assert alpaca.get(f"/v2/orders/{new['id']}").json()["status"] == "new"


def test_replace_without_changes_is_403(alpaca: Any) -> None:
    """A PATCH that changes nothing gets 403 40310000 'order parameters are not changed'."""
    old = alpaca.order(type="limit", limit_price=100, time_in_force="gtc").json()
    _error(alpaca.patch(f"/v2/orders/{old['id']}", {"limit_price": "100"}), 403, 40310000,
           "order parameters are not changed")
    filled = alpaca.order().json()
    _error(alpaca.patch(f"/v2/orders/{filled['id']}", {"qty": 5}), 422, 42210000)
