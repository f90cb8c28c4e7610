"""Faults that act first and answer badly: the order exists at the broker though the client saw a failure.

These are the situations the order manager must resolve by looking the order up, never by resending.
"""

from __future__ import annotations

import time

import pytest
import requests

from .conftest import Raw, now_ms


def _plan(raw: Raw, **rule: object) -> None:
    response = requests.put(raw.url + "/_paper/faults", json={"rules": [{"op": "place_order", **rule}]},
                            timeout=10)
    assert response.status_code == 200, response.text


def _order(raw: Raw, client_id: str, *, timeout: float = 10) -> requests.Response:
    query = (f"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000"
             f"&newClientOrderId={client_id}&timestamp={now_ms()}")
    url = f"{raw.url}/api/v3/order?{query}&signature={raw.sign(query)}"
    return requests.post(url, headers={"X-MBX-APIKEY": raw.key}, timeout=timeout)


def _lookup(raw: Raw, client_id: str) -> requests.Response:
    return raw.call("GET", "/api/v3/order", symbol="BTCUSDT", origClientOrderId=client_id)


def test_error_before_acting_leaves_no_order(raw: Raw) -> None:
    """A 5xx before acting means nothing happened: the lookup finds no order (-2013)."""
    _plan(raw, action="error_before", status=503, count=1)
    assert _order(raw, "before1").status_code == 503
    lookup = _lookup(raw, "before1")
    assert lookup.status_code == 400
    assert lookup.json()["code"] == -2013


def test_error_after_acting_hides_a_placed_order(raw: Raw) -> None:
    """A 5xx after acting: the client sees 500 but the order is open at the broker."""
    _plan(raw, action="error_after", status=500, count=1)
    assert _order(raw, "after1").status_code == 500
    lookup = _lookup(raw, "after1")
    assert lookup.status_code == 200
    assert lookup.json()["status"] == "NEW"


def test_hold_after_acting_outlasts_the_client_timeout(raw: Raw) -> None:
    """A held response times the client out, yet the order was placed."""
    _plan(raw, action="hold_after", hold_ms=1500, count=1)
    with pytest.raises(requests.ReadTimeout):
        _order(raw, "hold1", timeout=0.3)
    assert _lookup(raw, "hold1").json()["status"] == "NEW"


def test_drop_after_acting_resets_the_connection(raw: Raw) -> None:
    """A dropped connection gives the client no answer at all, yet the order was placed."""
    _plan(raw, action="drop_after", count=1)
    with pytest.raises(requests.ConnectionError):
        _order(raw, "drop1")
    assert _lookup(raw, "drop1").json()["status"] == "NEW"


def test_latency_delays_the_answer(raw: Raw) -> None:
    """Injected latency delays the response by at least the configured time; the order succeeds."""
    _plan(raw, action="latency", latency_ms=300, count=1)
    started = time.monotonic()
    response = _order(raw, "slow1")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3
