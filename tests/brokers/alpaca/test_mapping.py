"""Alpaca JSON -> domain reports, without a server: statuses, executions, schema drift, bad payloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from boltztrader.brokers.alpaca import mapping
from boltztrader.brokers.alpaca.wire import timestamp
from boltztrader.domain.enums import OrderType, Side
from boltztrader.domain.order_states import OrderStatus
from boltztrader.errors import BrokerProtocolError

ORDER_ID = "61e69015-8549-4bfd-b9c3-01e75843f47d"


def order(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": ORDER_ID, "client_order_id": "bz1", "symbol": "AAPL", "side": "buy", "type": "limit",
        "qty": "10", "notional": None, "filled_qty": "0", "filled_avg_price": None, "limit_price": "100.5",
        "stop_price": None, "status": "new", "time_in_force": "gtc",
        "created_at": "2022-04-19T17:45:04.981350886Z", "updated_at": "2022-04-19T13:45:05.024916716-04:00",
        "submitted_at": "2022-04-19T17:45:04.981350886Z",
    }
    base.update(fields)
    return base


@pytest.mark.parametrize(("raw", "filled", "expected"), [
    ("new", "0", OrderStatus.OPEN), ("accepted", "0", OrderStatus.OPEN),
    ("pending_new", "0", OrderStatus.OPEN),
    ("partially_filled", "4", OrderStatus.PARTIALLY_FILLED), ("filled", "10", OrderStatus.FILLED),
    ("done_for_day", "4", OrderStatus.PARTIALLY_FILLED), ("canceled", "0", OrderStatus.CANCELLED),
    ("expired", "0", OrderStatus.EXPIRED), ("replaced", "0", OrderStatus.CANCELLED),
    ("pending_cancel", "0", OrderStatus.PENDING_CANCEL), ("rejected", "0", OrderStatus.REJECTED),
    ("held", "0", OrderStatus.OPEN), ("some_future_status", "0", OrderStatus.OPEN),
    ("some_future_status", "3", OrderStatus.PARTIALLY_FILLED),
])
def test_statuses_map_and_unknown_ones_stay_working(raw: str, filled: str, expected: OrderStatus) -> None:
    """Each Alpaca status maps onto ours; an unknown one is a working order and keeps its raw word."""
    report = mapping.order_report(order(status=raw, filled_qty=filled))
    assert report.status is expected
    assert report.raw_status == raw


def test_an_order_maps_every_field() -> None:
    """Prices, quantities, type, side and a nanosecond ET timestamp come through exactly."""
    report = mapping.order_report(order(status="partially_filled", filled_qty="4", filled_avg_price="100.25"))
    assert (report.symbol, report.side, report.order_type) == ("AAPL", Side.BUY, OrderType.LIMIT)
    assert (report.quantity, report.filled_quantity) == (Decimal(10), Decimal(4))
    assert (report.average_price, report.limit_price, report.trigger_price) == (Decimal("100.25"),
                                                                               Decimal("100.5"), None)
    assert report.updated_at == datetime(2022, 4, 19, 17, 45, 5, 24916, tzinfo=UTC)


def test_a_rejected_order_has_a_reject_reason() -> None:
    """Alpaca's order carries no reason, so the report says who rejected it rather than nothing."""
    assert mapping.order_report(order(status="rejected")).reject_reason


def test_a_fill_event_without_execution_id_gets_a_stable_trade_id() -> None:
    """Without execution_id the trade id is the order id with its cumulative filled quantity."""
    event = {"event": "partial_fill", "timestamp": "2022-04-19T17:45:05Z", "price": "100.5", "qty": "4",
             "order": order(status="partially_filled", filled_qty="4")}
    update = mapping.trade_update(event)
    assert update.fill is not None
    assert update.fill.broker_trade_id == f"{ORDER_ID}:4"
    assert update.fill.executed_at == datetime(2022, 4, 19, 17, 45, 5, tzinfo=UTC)


def test_non_fill_events_carry_no_fill() -> None:
    """A canceled event is an OrderUpdate with the cancelled order and no FillReport."""
    update = mapping.trade_update({"event": "canceled", "timestamp": "2022-04-19T17:45:05Z",
                                   "order": order(status="canceled")})
    assert update.fill is None
    assert update.order.status is OrderStatus.CANCELLED


@pytest.mark.parametrize("broken", [
    order(id=None), order(side="sideways"), order(type="iceberg"), order(filled_qty="lots"),
    order(updated_at="yesterday"), order(updated_at="2022-04-19T17:45:05"), "not an object",
])
def test_payloads_off_the_schema_are_protocol_errors(broken: Any) -> None:
    """A missing id, an unknown side or type, a bad number or a naive timestamp is BrokerProtocolError."""
    with pytest.raises(BrokerProtocolError):
        mapping.order_report(broken)


def test_timestamps_with_nanoseconds_and_offsets_parse() -> None:
    """RFC 3339 with nine fractional digits and a -04:00 offset parses (to microseconds)."""
    moment = timestamp("2022-04-19T13:45:04.981350886-04:00", "t")
    assert moment == datetime(2022, 4, 19, 13, 45, 4, 981350, tzinfo=timezone(timedelta(hours=-4)))


def test_instrument_uses_crypto_style_increments_when_given() -> None:
    """An asset that states min_trade_increment and price_increment gets exactly those."""
    rules = mapping.instrument({"symbol": "XYZ", "fractionable": False, "tradable": True,
                                "min_trade_increment": "0.5", "price_increment": "0.05"}, Decimal(3))
    assert (rules.step_size, rules.tick_size, rules.fractionable, rules.min_notional) == (
        Decimal("0.5"), Decimal("0.05"), False, None)
