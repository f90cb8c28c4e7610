"""Real US market hours: orders queued as accepted while shut, extended-hours limits, DAY expiry, cancels."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from boltztrader.paper.venue import VenueConfig

# Monday 2 March 2026 (EST, UTC-5)
NIGHT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 03:00 ET: closed
PRE_MARKET = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # 08:00 ET: extended session
OPEN = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 10:00 ET: regular session
AFTER_HOURS = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)  # 16:30 ET
LATE = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # 21:00 ET: closed


@pytest.fixture
def market(alpaca_factory: Any) -> Any:
    """A paper Alpaca with real hours and a clock the test sets (``market.at(moment)``)."""
    alpaca = alpaca_factory(VenueConfig(tick_seconds=0, real_hours=True))
    clock = {"now": NIGHT}
    alpaca.paper.call(lambda: setattr(alpaca.paper.venue, "clock", lambda: clock["now"]))

    def at(moment: datetime) -> None:
        clock["now"] = moment
        assert alpaca.get("/v2/clock").status_code == 200  # the clock call also acts on a session change

    alpaca.at = at
    at(NIGHT)
    return alpaca


def test_orders_outside_hours_are_accepted_and_fill_at_the_open(market: Any) -> None:
    """A market order at night answers 'accepted', stays accepted, and fills when the session opens."""
    body = market.order(qty=2).json()
    assert body["status"] == "accepted"
    assert market.get(f"/v2/orders/{body['id']}").json()["status"] == "accepted"
    assert [o["id"] for o in market.get("/v2/orders").json()] == [body["id"]]
    clock = market.get("/v2/clock").json()
    assert clock["is_open"] is False
    assert clock["next_open"] == "2026-03-02T09:30:00-05:00"
    market.at(PRE_MARKET)
    assert market.get(f"/v2/orders/{body['id']}").json()["status"] == "accepted"
    market.at(OPEN)
    assert market.get(f"/v2/orders/{body['id']}").json()["status"] == "filled"
    assert market.get("/v2/clock").json()["is_open"] is True


def test_extended_hours_limit_order_trades_pre_market(market: Any) -> None:
    """An extended_hours limit day order is routed in the pre-market session; a plain one waits."""
    market.at(PRE_MARKET)
    extended = market.order(type="limit", limit_price=230, extended_hours=True).json()
    plain = market.order(type="limit", limit_price=230).json()
    assert market.get(f"/v2/orders/{extended['id']}").json()["status"] == "filled"
    assert market.get(f"/v2/orders/{plain['id']}").json()["status"] == "accepted"


def test_day_orders_expire_at_the_close(market: Any) -> None:
    """At 16:00 ET resting DAY orders expire (extended-hours ones at 20:00); GTC orders stay."""
    market.at(OPEN)
    day = market.order(type="limit", limit_price=100).json()
    extended = market.order(type="limit", limit_price=100, extended_hours=True).json()
    gtc = market.order(type="limit", limit_price=100, time_in_force="gtc").json()
    market.at(AFTER_HOURS)
    expired = market.get(f"/v2/orders/{day['id']}").json()
    assert expired["status"] == "expired"
    assert expired["expired_at"] is not None
    assert market.get(f"/v2/orders/{extended['id']}").json()["status"] == "new"
    market.at(LATE)
    assert market.get(f"/v2/orders/{extended['id']}").json()["status"] == "expired"
    assert market.get(f"/v2/orders/{gtc['id']}").json()["status"] == "new"


def test_cancel_while_closed_stays_pending_until_the_next_session(market: Any) -> None:
    """A cancel sent while the market is shut leaves the order pending_cancel until the next session."""
    market.at(OPEN)
    order = market.order(type="limit", limit_price=100, time_in_force="gtc").json()
    market.at(LATE)
    assert market.delete(f"/v2/orders/{order['id']}").status_code == 204
    assert market.get(f"/v2/orders/{order['id']}").json()["status"] == "pending_cancel"
    market.at(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))  # 04:00 ET Tuesday: pre-market
    assert market.get(f"/v2/orders/{order['id']}").json()["status"] == "canceled"


def test_queued_order_cancels_at_once(market: Any) -> None:
    """An order still queued (accepted) is cancelled immediately and never reaches the market."""
    order = market.order(qty=1).json()
    assert market.delete(f"/v2/orders/{order['id']}").status_code == 204
    market.at(OPEN)
    after = market.get(f"/v2/orders/{order['id']}").json()
    assert after["status"] == "canceled"
    assert after["filled_qty"] == "0"


def test_opg_window(market: Any) -> None:
    """OPG orders are refused between 09:28 and 19:00 ET."""
    market.at(OPEN)
    refused = market.order(time_in_force="opg")
    assert refused.status_code == 422
    assert refused.json()["code"] == 42210000
