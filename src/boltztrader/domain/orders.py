"""The ``Order`` value: an order intent and everything the broker has told us about it.

Orders are immutable. Every method returns a new ``Order`` with ``version`` one higher (the
repository uses it for optimistic locking), or the same object when nothing changed, so a caller
can skip the write with ``new is old``. Statuses move only through the table in ``order_states``.

Fills come in two shapes. ``apply_fill`` takes one execution (a quantity at a price) and keeps a
volume-weighted average price. ``with_cumulative_fill`` takes a broker's running total; reports
arrive out of order (stream vs poll, Kite postbacks), so a total at or below what we already have
is a stale report and is ignored: filled quantity never moves backwards.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal, localcontext

from boltztrader.domain.enums import Broker, ExecutionMode, Market, OrderType, Product, Side, TimeInForce
from boltztrader.domain.ids import client_order_id, new_id
from boltztrader.domain.money import require_positive, to_decimal
from boltztrader.domain.order_states import (
    ACTIVE_AT_BROKER,
    FILL_EVENTS,
    TERMINAL,
    TRANSITIONS,
    OrderEvent,
    OrderStatus,
    initial_status,
    is_stale,
    next_status,
)

# The state machine lives in order_states; its names are re-exported so ``domain.orders`` is one stop.
__all__ = ["TERMINAL", "TRANSITIONS", "Order", "OrderEvent", "OrderStatus", "next_status"]

# Statuses that only exist before any execution; a fill moves an order out of all of them.
_NO_FILLS = frozenset(
    {
        OrderStatus.PENDING_APPROVAL,
        OrderStatus.PENDING_SUBMIT,
        OrderStatus.SUBMITTING,
        OrderStatus.OPEN,
        OrderStatus.UNKNOWN,
        OrderStatus.DENIED,
        OrderStatus.DECLINED,
    }
)
# Significant digits of an average price that does not terminate (1 @ 1 + 2 @ 2 = 5/3): decimal128's.
_AVERAGE_DIGITS = 34


def _text(value: object, name: str) -> None:
    if not isinstance(value, str) or not value or value.strip() != value:
        raise ValueError(f"{name} must be non-empty text without surrounding spaces, got {value!r}")


def _vwap(qty_a: Decimal, price_a: Decimal, qty_b: Decimal, price_b: Decimal) -> Decimal:
    """Volume-weighted average of two lots: exact whenever the true average terminates in 34 digits."""
    with localcontext() as ctx:
        ctx.prec = 4 * _AVERAGE_DIGITS + sum(
            len(d.as_tuple().digits) for d in (qty_a, price_a, qty_b, price_b)
        )
        notional = qty_a * price_a + qty_b * price_b
        total = qty_a + qty_b
    with localcontext() as ctx:
        ctx.prec = _AVERAGE_DIGITS
        return notional / total


@dataclass(frozen=True, slots=True)
class Order:
    """One order for one account, from intent to terminal status.

    ``broker_status`` keeps the broker's raw status word for operators; ``status`` is ours.
    ``average_price`` is None until something fills.
    """

    id: str
    client_order_id: str
    signal_id: str
    account_id: str
    broker: Broker
    market: Market
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: Decimal
    limit_price: Decimal | None = None
    trigger_price: Decimal | None = None
    product: Product | None = None
    status: OrderStatus = OrderStatus.PENDING_SUBMIT
    filled_quantity: Decimal = Decimal(0)
    average_price: Decimal | None = None
    broker_order_id: str | None = None
    broker_status: str | None = None
    reject_reason: str | None = None
    version: int = 0

    def __post_init__(self) -> None:
        for name in ("id", "client_order_id", "signal_id", "account_id", "symbol"):
            _text(getattr(self, name), name)
        set_ = object.__setattr__
        # Accept the stored lowercase words too (database rows), but nothing outside each set.
        set_(self, "broker", Broker(self.broker))
        set_(self, "market", Market(self.market))
        set_(self, "side", Side(self.side))
        set_(self, "order_type", OrderType(self.order_type))
        set_(self, "time_in_force", TimeInForce(self.time_in_force))
        set_(self, "status", OrderStatus(self.status))
        if self.product is not None:
            set_(self, "product", Product(self.product))
        set_(self, "quantity", require_positive(self.quantity, name="quantity"))
        filled = to_decimal(self.filled_quantity, name="filled_quantity")
        if not 0 <= filled <= self.quantity:
            raise ValueError(f"filled_quantity {filled} must be between 0 and quantity {self.quantity}")
        set_(self, "filled_quantity", filled)
        self._check_prices()
        self._check_fill_status()
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 0:
            raise ValueError(f"version must be an int >= 0, got {self.version!r}")
        if self.broker_order_id is not None:
            _text(self.broker_order_id, "broker_order_id")

    def _check_prices(self) -> None:
        for name in ("limit_price", "trigger_price", "average_price"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, require_positive(value, name=name))
        if self.order_type.needs_limit_price != (self.limit_price is not None):
            need = "needs" if self.order_type.needs_limit_price else "must not have"
            raise ValueError(f"a {self.order_type} order {need} a limit_price")
        if self.order_type.needs_trigger_price != (self.trigger_price is not None):
            need = "needs" if self.order_type.needs_trigger_price else "must not have"
            raise ValueError(f"a {self.order_type} order {need} a trigger_price")
        if (self.filled_quantity > 0) != (self.average_price is not None):
            raise ValueError("average_price is set exactly when filled_quantity > 0")

    def _check_fill_status(self) -> None:
        filled, status = self.filled_quantity, self.status
        if (filled == self.quantity) != (status is OrderStatus.FILLED):
            raise ValueError(f"status {status} does not match filled {filled} of {self.quantity}")
        if status is OrderStatus.PARTIALLY_FILLED and filled == 0:
            raise ValueError("a partially_filled order has filled something")
        if status in _NO_FILLS and filled > 0:
            raise ValueError(f"an order in {status} cannot have fills")

    @classmethod
    def create(
        cls,
        *,
        signal_id: str,
        account_id: str,
        broker: Broker,
        market: Market,
        symbol: str,
        side: Side,
        order_type: OrderType,
        time_in_force: TimeInForce,
        quantity: Decimal,
        limit_price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        product: Product | None = None,
        mode: ExecutionMode = ExecutionMode.AUTOMATED,
        order_id: str | None = None,
    ) -> Order:
        """A new intent for one (signal, account): deterministic client order id, mode's first status."""
        return cls(
            id=new_id() if order_id is None else order_id,
            client_order_id=client_order_id(signal_id, account_id),
            signal_id=signal_id,
            account_id=account_id,
            broker=broker,
            market=market,
            symbol=symbol,
            side=side,
            order_type=order_type,
            time_in_force=time_in_force,
            quantity=quantity,
            limit_price=limit_price,
            trigger_price=trigger_price,
            product=product,
            status=initial_status(mode),
        )

    @property
    def remaining_quantity(self) -> Decimal:
        """What is still to fill (zero once filled; what was given up once cancelled or expired)."""
        return self.quantity - self.filled_quantity

    @property
    def is_terminal(self) -> bool:
        """True when no event can change this order any more."""
        return self.status in TERMINAL

    @property
    def is_active_at_broker(self) -> bool:
        """True when the broker may hold a live order for it: reconcile must look at the broker."""
        return self.status in ACTIVE_AT_BROKER

    def apply(
        self,
        event: OrderEvent,
        *,
        broker_order_id: str | None = None,
        broker_status: str | None = None,
        reject_reason: str | None = None,
    ) -> Order:
        """Move by a non-fill event; a known stale echo only records new details, if any.

        ``cancel_rejected`` and ``cancel_rejected_with_fills`` are interchangeable here: the order
        knows its own fills and picks the variant, as ``apply_fill`` picks partial or full.
        Raises ``InvalidTransition`` for an event the table does not allow.
        """
        event = OrderEvent(event)
        if event in FILL_EVENTS:
            raise ValueError("fills carry quantities: use apply_fill or with_cumulative_fill")
        if event in (OrderEvent.CANCEL_REJECTED, OrderEvent.CANCEL_REJECTED_WITH_FILLS):
            has_fills = self.filled_quantity > 0
            event = OrderEvent.CANCEL_REJECTED_WITH_FILLS if has_fills else OrderEvent.CANCEL_REJECTED
        status = self.status if is_stale(self.status, event) else next_status(self.status, event)
        return self._evolve(
            status=status,
            broker_order_id=broker_order_id,
            broker_status=broker_status,
            reject_reason=reject_reason,
        )

    def apply_fill(
        self, fill_qty: Decimal, fill_price: Decimal, *, broker_status: str | None = None
    ) -> Order:
        """Add one execution: raise for a non-positive fill, an overfill, or a terminal order."""
        qty = require_positive(fill_qty, name="fill_qty")
        price = require_positive(fill_price, name="fill_price")
        total = self.filled_quantity + qty
        status = next_status(
            self.status, OrderEvent.FILL if total >= self.quantity else OrderEvent.PARTIAL_FILL
        )
        if total > self.quantity:
            raise ValueError(f"overfill: {self.filled_quantity} + {qty} exceeds quantity {self.quantity}")
        if self.average_price is None:
            average = price
        else:
            average = _vwap(self.filled_quantity, self.average_price, qty, price)
        return self._evolve(
            status=status, filled_quantity=total, average_price=average, broker_status=broker_status
        )

    def with_cumulative_fill(
        self, cumulative_qty: Decimal, average_price: Decimal | None, *, broker_status: str | None = None
    ) -> Order:
        """Take a broker's running total of fills; a total not above ours is stale and changes nothing.

        The broker's average price replaces ours: over the whole order it is the authority.
        """
        cumulative = to_decimal(cumulative_qty, name="cumulative_qty")
        if cumulative < 0:
            raise ValueError(f"cumulative_qty must be >= 0, got {cumulative}")
        if cumulative <= self.filled_quantity:
            return self
        if average_price is None:
            raise ValueError("a cumulative fill above zero needs its average price")
        average = require_positive(average_price, name="average_price")
        event = OrderEvent.FILL if cumulative >= self.quantity else OrderEvent.PARTIAL_FILL
        status = next_status(self.status, event)
        if cumulative > self.quantity:
            raise ValueError(f"overfill: cumulative {cumulative} exceeds quantity {self.quantity}")
        return self._evolve(
            status=status, filled_quantity=cumulative, average_price=average, broker_status=broker_status
        )

    def _evolve(
        self,
        *,
        status: OrderStatus,
        filled_quantity: Decimal | None = None,
        average_price: Decimal | None = None,
        broker_order_id: str | None = None,
        broker_status: str | None = None,
        reject_reason: str | None = None,
    ) -> Order:
        """The next version, or ``self`` when nothing would change."""
        if broker_order_id is not None and self.broker_order_id not in (None, broker_order_id):
            raise ValueError(
                f"broker_order_id {broker_order_id!r} conflicts with recorded {self.broker_order_id!r}"
            )
        changes: dict[str, object] = {}
        if status is not self.status:
            changes["status"] = status
        if filled_quantity is not None and filled_quantity != self.filled_quantity:
            changes["filled_quantity"] = filled_quantity
        if average_price is not None and average_price != self.average_price:
            changes["average_price"] = average_price
        for name, value in (
            ("broker_order_id", broker_order_id),
            ("broker_status", broker_status),
            ("reject_reason", reject_reason),
        ):
            if value is not None and value != getattr(self, name):
                changes[name] = value
        if not changes:
            return self
        return replace(self, version=self.version + 1, **changes)  # type: ignore[arg-type]
