"""Order construction, non-fill events, stale echoes and detail updates."""

from dataclasses import replace
from decimal import Decimal

import pytest

from boltztrader.domain.enums import Broker, ExecutionMode, Market, OrderType, Side, TimeInForce
from boltztrader.domain.ids import client_order_id
from boltztrader.domain.order_states import OrderEvent, OrderStatus
from boltztrader.domain.orders import Order
from boltztrader.errors import InvalidTransition

D = Decimal
S = OrderStatus
E = OrderEvent


def new_order(mode: ExecutionMode = ExecutionMode.AUTOMATED, **overrides: object) -> Order:
    fields: dict[str, object] = {
        "signal_id": "sig-1",
        "account_id": "acct-1",
        "broker": Broker.ZERODHA,
        "market": Market.NSE,
        "symbol": "INFY",
        "side": Side.SELL,
        "order_type": OrderType.MARKET,
        "time_in_force": TimeInForce.DAY,
        "quantity": D("10"),
        "mode": mode,
    }
    fields.update(overrides)
    return Order.create(**fields)  # type: ignore[arg-type]


def test_create_derives_client_order_id_and_first_status() -> None:
    """A new order carries the deterministic client order id and its mode's first status."""
    order = new_order()
    assert order.client_order_id == client_order_id("sig-1", "acct-1")
    assert order.status is S.PENDING_SUBMIT
    assert new_order(ExecutionMode.SEMI_MANUAL).status is S.PENDING_APPROVAL
    assert order.version == 0
    assert not order.is_terminal


def test_happy_path_to_open_records_broker_order_id() -> None:
    """Submit then accept leaves an open order that knows the broker's id, one version per step."""
    order = new_order().apply(E.SUBMIT_STARTED).apply(E.ACCEPTED, broker_order_id="250101000001")
    assert order.status is S.OPEN
    assert order.broker_order_id == "250101000001"
    assert order.version == 2
    assert order.is_active_at_broker


def test_not_sent_returns_to_pending_submit() -> None:
    """A connection that never opened puts the order back in the queue."""
    assert new_order().apply(E.SUBMIT_STARTED).apply(E.NOT_SENT).status is S.PENDING_SUBMIT


def test_stale_ack_returns_the_same_order() -> None:
    """A second acknowledgement changes nothing, not even the version."""
    order = new_order().apply(E.SUBMIT_STARTED).apply(E.ACCEPTED, broker_order_id="1")
    assert order.apply(E.ACCEPTED, broker_order_id="1") is order


def test_stale_ack_on_filled_order_is_ignored() -> None:
    """An ack overtaken by the final fill does not reopen or break the order."""
    filled = new_order().apply(E.SUBMIT_STARTED).apply_fill(D("10"), D("1500"))
    assert filled.status is S.FILLED
    assert filled.apply(E.ACCEPTED).status is S.FILLED


def test_new_event_on_terminal_order_raises() -> None:
    """A rejected order cannot be accepted into a fresh status by a non-echo event."""
    rejected = new_order().apply(E.SUBMIT_STARTED).apply(E.REJECTED, reject_reason="RMS: margin")
    assert rejected.reject_reason == "RMS: margin"
    with pytest.raises(InvalidTransition):
        rejected.apply(E.CANCEL_REQUESTED)


def test_conflicting_broker_order_id_is_refused() -> None:
    """One client order id cannot map to two broker orders."""
    order = new_order().apply(E.SUBMIT_STARTED).apply(E.ACCEPTED, broker_order_id="1")
    with pytest.raises(ValueError, match="conflicts"):
        order.apply(E.CANCEL_REQUESTED, broker_order_id="2")


def test_apply_refuses_fill_events() -> None:
    """Fills must go through the quantity-aware methods."""
    with pytest.raises(ValueError, match="apply_fill"):
        new_order().apply(E.FILL)


def test_limit_order_requires_limit_price() -> None:
    """A limit order without a price, or a market order with one, is refused."""
    with pytest.raises(ValueError, match="needs a limit_price"):
        new_order(order_type=OrderType.LIMIT)
    with pytest.raises(ValueError, match="must not have a limit_price"):
        new_order(limit_price=D("1500"))


def test_stop_limit_order_needs_both_prices() -> None:
    """A stop-limit order needs its trigger price as well as its limit."""
    with pytest.raises(ValueError, match="needs a trigger_price"):
        new_order(order_type=OrderType.STOP_LIMIT, limit_price=D("1500"))
    order = new_order(order_type=OrderType.STOP_LIMIT, limit_price=D("1500"), trigger_price=D("1499"))
    assert order.trigger_price == D("1499")


@pytest.mark.parametrize("quantity", [D("0"), D("-5")])
def test_non_positive_quantity_is_refused(quantity: Decimal) -> None:
    """An order for nothing is refused at construction."""
    with pytest.raises(ValueError, match="quantity must be > 0"):
        new_order(quantity=quantity)


def test_inconsistent_fill_status_is_refused() -> None:
    """A stored row claiming open with fills, or filled without them, cannot be loaded."""
    base = new_order()
    with pytest.raises(ValueError, match="cannot have fills"):
        replace(base, status=S.OPEN, filled_quantity=D("1"), average_price=D("1"))
    with pytest.raises(ValueError, match="does not match filled"):
        replace(base, status=S.FILLED)


def test_stored_text_values_are_accepted() -> None:
    """Lowercase words from a database row become enum members."""
    order = replace(new_order(), status="open", side="buy")  # type: ignore[arg-type]
    assert order.status is S.OPEN
    assert order.side is Side.BUY
