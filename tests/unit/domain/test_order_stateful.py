"""Random event sequences: terminal statuses absorb and filled quantity never decreases."""

from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from boltztrader.domain.enums import Broker, Market, OrderType, Side, TimeInForce
from boltztrader.domain.order_states import FILL_EVENTS, TRANSITIONS, OrderEvent, OrderStatus
from boltztrader.domain.orders import Order
from boltztrader.errors import InvalidTransition

D = Decimal
QUANTITY = D("10")
quantities = st.decimals(min_value=D("-1"), max_value=D("12"), places=1)
prices = st.decimals(min_value=D("1"), max_value=D("200"), places=2)
non_fill_events = st.sampled_from([e for e in OrderEvent if e not in FILL_EVENTS])
START_STATUSES = [
    OrderStatus.PENDING_APPROVAL,
    OrderStatus.PENDING_SUBMIT,
    OrderStatus.SUBMITTING,
    OrderStatus.OPEN,
    OrderStatus.PENDING_CANCEL,
    OrderStatus.UNKNOWN,
]


def _order(status: OrderStatus) -> Order:
    return Order(
        id="o-1",
        client_order_id="bz0123",
        signal_id="sig",
        account_id="acct",
        broker=Broker.ALPACA,
        market=Market.US,
        symbol="AAPL",
        side=Side.BUY,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        quantity=QUANTITY,
        status=status,
    )


class OrderMachine(RuleBasedStateMachine):
    """Drives one order with any mix of events, single fills and cumulative reports."""

    def __init__(self) -> None:
        super().__init__()
        self.order = _order(OrderStatus.PENDING_APPROVAL)
        self.max_filled = D(0)
        self.terminal_status: OrderStatus | None = None

    @initialize(start=st.sampled_from(START_STATUSES))
    def start_somewhere(self, start: OrderStatus) -> None:
        """Begin in any status an unfilled order can hold, so short runs reach the broker-side ones."""
        self.order = _order(start)

    def _attempt(self, step: str, *args: object) -> None:
        before = self.order
        try:
            after = getattr(before, step)(*args)
        except (InvalidTransition, ValueError):
            return  # refused: the order object is immutable, so nothing can have changed
        if after is not before:
            assert after.version == before.version + 1
            if after.status is not before.status:
                assert any(TRANSITIONS.get((before.status, e)) is after.status for e in OrderEvent)
        self.order = after

    @rule(event=non_fill_events)
    def apply_event(self, event: OrderEvent) -> None:
        self._attempt("apply", event)

    @rule(qty=quantities, price=prices)
    def apply_fill(self, qty: Decimal, price: Decimal) -> None:
        self._attempt("apply_fill", qty, price)

    @rule(cumulative=quantities, price=prices)
    def cumulative_report(self, cumulative: Decimal, price: Decimal) -> None:
        self._attempt("with_cumulative_fill", cumulative, price)

    @invariant()
    def filled_never_decreases(self) -> None:
        assert self.order.filled_quantity >= self.max_filled
        assert self.order.filled_quantity <= QUANTITY
        self.max_filled = self.order.filled_quantity

    @invariant()
    def terminal_status_absorbs(self) -> None:
        if self.terminal_status is not None:
            assert self.order.status is self.terminal_status
            assert self.order.filled_quantity == self.max_filled
        elif self.order.is_terminal:
            self.terminal_status = self.order.status

    @invariant()
    def filled_status_matches_quantity(self) -> None:
        assert (self.order.status is OrderStatus.FILLED) == (self.order.filled_quantity == QUANTITY)


OrderMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=30, deadline=None)
TestOrderStateMachine = OrderMachine.TestCase
TestOrderStateMachine.__doc__ = (
    "Any sequence of events keeps filled quantity monotonic and terminal statuses final."
)
