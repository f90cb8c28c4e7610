"""Kite's rate limits (429 NetworkException) and the fault plan rendered in Kite's words."""

from __future__ import annotations

import time

import requests

from tests.paper.kite.conftest import KiteUser, admin


def _start_of_second() -> None:
    time.sleep(1 - time.time() % 1 + 0.01)


def test_eleventh_order_in_a_second_is_429(user: KiteUser) -> None:
    """Kite allows 10 orders per second per account; the 11th gets 429 Too many requests."""
    admin(user.paper, "PUT", "/_paper/limits", json={"orders_per_second": 10})
    form = {"exchange": "NSE", "tradingsymbol": "INFY", "transaction_type": "BUY", "quantity": 1,
            "product": "CNC", "order_type": "LIMIT", "price": "1400"}
    _start_of_second()
    codes = [user.request("POST", "/orders/regular", data=form).status_code for _ in range(10)]
    assert codes[:10] == [200] * 10
    last = user.request("POST", "/orders/regular", data=form)
    assert last.status_code == 429
    assert last.json() == {"status": "error", "message": "Too many requests",
                           "error_type": "NetworkException", "data": None}
    time.sleep(1.05)
    assert user.request("POST", "/orders/regular", data=form).status_code == 200


def test_quotes_are_limited_to_one_per_second(user: KiteUser) -> None:
    """A second quote call in the same calendar second is refused with 429."""
    admin(user.paper, "PUT", "/_paper/limits", json={"quotes_per_second": 1})
    _start_of_second()
    assert user.get("/quote/ltp", params={"i": "NSE:INFY"}).status_code == 200
    assert user.get("/quote/ltp", params={"i": "NSE:INFY"}).status_code == 429


def test_day_cap(user: KiteUser) -> None:
    """Past the daily order cap Kite answers `Maximum allowed order requests exceeded`."""
    admin(user.paper, "PUT", "/_paper/limits", json={"orders_per_day": 2})
    user.place(price="1400")
    user.place(price="1400")
    response = user.request("POST", "/orders/regular", data={
        "exchange": "NSE", "tradingsymbol": "INFY", "transaction_type": "BUY", "quantity": 1,
        "product": "CNC", "order_type": "LIMIT", "price": "1400"})
    assert response.status_code == 429
    assert response.json()["message"] == "Maximum allowed order requests exceeded"


def test_limits_admin_validates(user: KiteUser) -> None:
    """PUT /_paper/limits refuses unknown names and negative values."""
    assert requests.put(user.url + "/_paper/limits", json={"nope": 1}, timeout=10).status_code == 400
    negative = requests.put(user.url + "/_paper/limits", json={"orders_per_second": -1}, timeout=10)
    assert negative.status_code == 400


def test_injected_faults_use_kites_error_bodies(user: KiteUser) -> None:
    """The fault plan's 429 and 503 come back as NetworkException envelopes."""
    admin(user.paper, "PUT", "/_paper/faults", json={"rules": [
        {"op": "place_order", "action": "rate_limit", "count": 1, "retry_after_s": 2},
        {"op": "list_orders", "action": "error_before", "count": 1, "status": 503}]})
    limited = user.request("POST", "/orders/regular", data={"exchange": "NSE"})
    assert limited.status_code == 429
    assert limited.json()["error_type"] == "NetworkException"
    assert limited.headers["Retry-After"] == "2"
    down = user.get("/orders")
    assert down.status_code == 503
    assert down.json()["error_type"] == "NetworkException"
    assert user.get("/orders").status_code == 200
