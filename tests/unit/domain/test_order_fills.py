"""Order fill arithmetic: exact VWAP, no overfill, cumulative totals never move backwards."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from boltztrader.domain.enums import Broker, Market, OrderType, Side, TimeInForce
from boltztrader.domain.order_states import OrderEvent, OrderStatus
from boltztrader.domain.orders import Order
from boltztrader.errors import InvalidTransition

D = Decimal
S = OrderStatus
E = OrderEvent


def open_order(quantity: str = "4", status: OrderStatus = S.OPEN) -> Order:
    return Order(
        id="o-1",
        client_order_id="bz0123",
        signal_id="sig-1",
        account_id="acct-1",
        broker=Broker.BINANCE,
        market=Market.CRYPTO,
        symbol="BTCUSDT",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        quantity=D(quantity),
        limit_price=D("105"),
        status=status,
    )


def test_vwap_is_exact_in_decimal() -> None:
    """1 @ 100 then 3 @ 104 averages to exactly 103."""
    order = open_order().apply_fill(D("1"), D("100")).apply_fill(D("3"), D("104"))
    assert order.average_price == D("103")
    assert order.filled_quantity == D("4")
    assert order.status is S.FILLED


def test_vwap_with_fractional_lots() -> None:
    """0.5 @ 10.10 then 1.5 @ 10.30 averages to exactly 10.25."""
    order = open_order("2").apply_fill(D("0.5"), D("10.10")).apply_fill(D("1.5"), D("10.30"))
    assert order.average_price == D("10.25")


def test_non_terminating_vwap_keeps_34_digits() -> None:
    """1 @ 1 then 2 @ 2 is 5/3, kept to 34 significant digits rather than a float's 17."""
    order = open_order("3").apply_fill(D("1"), D("1")).apply_fill(D("2"), D("2"))
    assert order.average_price == D("1.666666666666666666666666666666667")


def test_partial_fill_moves_to_partially_filled_and_bumps_version() -> None:
    """A fill short of the quantity gives partially_filled, a new version and the right remainder."""
    order = open_order()
    filled = order.apply_fill(D("1.5"), D("100"))
    assert filled.status is S.PARTIALLY_FILLED
    assert filled.remaining_quantity == D("2.5")
    assert filled.version == order.version + 1
    assert order.filled_quantity == 0


def test_overfill_is_refused() -> None:
    """A fill beyond the ordered quantity raises and leaves nothing changed."""
    order = open_order().apply_fill(D("3"), D("100"))
    with pytest.raises(ValueError, match="overfill"):
        order.apply_fill(D("1.01"), D("100"))
    assert order.filled_quantity == D("3")


@pytest.mark.parametrize("qty", [D("0"), D("-1")])
def test_non_positive_fill_is_refused(qty: Decimal) -> None:
    """A fill of zero or less is not a fill."""
    with pytest.raises(ValueError, match="fill_qty must be > 0"):
        open_order().apply_fill(qty, D("100"))


def test_float_fill_is_refused() -> None:
    """A float fill price is refused like every float amount."""
    with pytest.raises(TypeError, match="float"):
        open_order().apply_fill(D("1"), 100.0)  # type: ignore[arg-type]


def test_fill_on_terminal_order_raises_invalid_transition() -> None:
    """A cancelled order cannot take more fills."""
    cancelled = open_order().apply(E.CANCELLED)
    with pytest.raises(InvalidTransition):
        cancelled.apply_fill(D("1"), D("100"))


def test_fill_while_cancel_pending_stays_pending_cancel() -> None:
    """A partial fill racing a cancel keeps pending_cancel; the last fill completes the order."""
    pending = open_order().apply(E.CANCEL_REQUESTED)
    partly = pending.apply_fill(D("1"), D("100"))
    assert partly.status is S.PENDING_CANCEL
    assert partly.apply_fill(D("3"), D("100")).status is S.FILLED


def test_cancel_rejected_returns_to_the_status_matching_fills() -> None:
    """A refused cancel resumes open without fills and partially_filled with them."""
    pending = open_order().apply(E.CANCEL_REQUESTED)
    assert pending.apply(E.CANCEL_REJECTED).status is S.OPEN
    assert pending.apply_fill(D("1"), D("100")).apply(E.CANCEL_REJECTED).status is S.PARTIALLY_FILLED
    assert pending.apply(E.CANCEL_REJECTED_WITH_FILLS).status is S.OPEN


def test_cumulative_report_sets_total_and_broker_average() -> None:
    """A running total above ours replaces filled quantity and average price."""
    order = open_order().with_cumulative_fill(D("2"), D("101.5"), broker_status="PARTIALLY_FILLED")
    assert (order.filled_quantity, order.average_price, order.status) == (
        D("2"),
        D("101.5"),
        S.PARTIALLY_FILLED,
    )
    assert order.broker_status == "PARTIALLY_FILLED"


def test_lower_or_equal_cumulative_report_is_ignored() -> None:
    """An out-of-order report with a smaller or equal total returns the very same order."""
    order = open_order().with_cumulative_fill(D("3"), D("100"))
    assert order.with_cumulative_fill(D("2"), D("99")) is order
    assert order.with_cumulative_fill(D("3"), D("100")) is order


def test_duplicate_final_cumulative_report_on_filled_order_is_a_no_op() -> None:
    """The same final total arriving twice does not raise on the filled order."""
    filled = open_order().with_cumulative_fill(D("4"), D("100"))
    assert filled.status is S.FILLED
    assert filled.with_cumulative_fill(D("4"), D("100")) is filled


def test_cumulative_overfill_is_refused() -> None:
    """A broker total above the ordered quantity is an error, not a clamp."""
    with pytest.raises(ValueError, match="overfill"):
        open_order().with_cumulative_fill(D("4.5"), D("100"))


def test_cumulative_above_zero_needs_an_average_price() -> None:
    """A total without its average would leave the order's price unknown."""
    with pytest.raises(ValueError, match="average price"):
        open_order().with_cumulative_fill(D("1"), None)


fills = st.lists(
    st.tuples(
        st.decimals(min_value=D("0.001"), max_value=D("10"), places=3),
        st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2),
    ),
    min_size=1,
    max_size=8,
)


@given(fills)
def test_vwap_equals_total_notional_over_total_quantity(executions: list[tuple[Decimal, Decimal]]) -> None:
    """After any fills, average times filled quantity equals the exact notional (to 30 digits)."""
    total = sum((qty for qty, _ in executions), D(0))
    order = open_order(str(total))
    for qty, price in executions:
        order = order.apply_fill(qty, price)
    notional = sum((qty * price for qty, price in executions), D(0))
    assert order.average_price is not None
    assert abs(order.average_price * total - notional) <= notional * D("1e-30")
    assert min(p for _, p in executions) <= order.average_price <= max(p for _, p in executions)
    assert order.status is S.FILLED
