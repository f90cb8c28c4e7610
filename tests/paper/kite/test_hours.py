"""With real NSE hours: regular orders are refused outside the session, AMOs wait for the open."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from boltztrader.paper.kite import SPEC
from boltztrader.paper.kite.wire import IST
from boltztrader.paper.venue import VenueConfig
from tests.paper.conftest import RunningPaper
from tests.paper.kite.conftest import NO_LIMITS, admin, login

MONDAY_PRE_OPEN = datetime(2026, 3, 2, 8, 0, tzinfo=IST)
MONDAY_OPEN = datetime(2026, 3, 2, 9, 20, tzinfo=IST)


def test_amo_waits_for_the_open(paper_factory: Callable[..., RunningPaper]) -> None:
    """Before 09:15 IST a regular order is 400; an AMO sits in AMO REQ RECEIVED, then fills after the open."""
    paper = paper_factory(SPEC, VenueConfig(tick_seconds=0, real_hours=True))
    admin(paper, "PUT", "/_paper/limits", json=NO_LIMITS)
    venue = paper.venue
    clock = [MONDAY_PRE_OPEN]
    paper.call(lambda: setattr(venue, "clock", lambda: clock[0]))
    user = login(paper)
    form = {"exchange": "NSE", "tradingsymbol": "INFY", "transaction_type": "BUY", "quantity": 1,
            "product": "CNC", "order_type": "LIMIT", "price": "1530"}
    refused = user.request("POST", "/orders/regular", data=form)
    assert refused.status_code == 400
    assert refused.json()["message"] == "Markets are not open for trading today. Try placing an AMO order."
    order_id = user.data("POST", "/orders/amo", data=form)["order_id"]
    row = user.order(order_id)
    assert row["status"] == "AMO REQ RECEIVED"
    assert row["variety"] == "amo"
    clock[0] = MONDAY_OPEN
    deadline = time.monotonic() + 5
    while user.order(order_id)["status"] != "COMPLETE" and time.monotonic() < deadline:
        time.sleep(0.1)
    statuses = [r["status"] for r in user.data("GET", f"/orders/{order_id}")]
    assert statuses == ["AMO REQ RECEIVED", "VALIDATION PENDING", "OPEN PENDING", "OPEN", "COMPLETE"]


def test_amo_can_be_cancelled_before_the_open(paper_factory: Callable[..., RunningPaper]) -> None:
    """A waiting AMO can be cancelled and is then never sent."""
    paper = paper_factory(SPEC, VenueConfig(tick_seconds=0, real_hours=True))
    admin(paper, "PUT", "/_paper/limits", json=NO_LIMITS)
    venue = paper.venue
    clock = [MONDAY_PRE_OPEN]
    paper.call(lambda: setattr(venue, "clock", lambda: clock[0]))
    user = login(paper)
    order_id = user.place(variety="amo", price="1530")
    user.data("DELETE", f"/orders/amo/{order_id}")
    clock[0] = MONDAY_OPEN
    time.sleep(1.5)
    row = user.order(order_id)
    assert row["status"] == "CANCELLED"
    assert row["filled_quantity"] == 0
    assert user.data("GET", "/trades") == []
