"""What a broker adapter hands to the rest of the system: commands in, normalised reports out.

Wire types never leave their adapter; these are the only shapes services see. Statuses are our
``OrderStatus`` (the broker's own word is kept in ``raw_status`` for the audit trail).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from boltztrader.domain.enums import Market, OrderType, Product, Side, TimeInForce
from boltztrader.domain.order_states import OrderStatus


class PositionSide(StrEnum):
    """Binance USD-M position side: BOTH in one-way mode, LONG/SHORT in hedge mode."""

    BOTH = "both"
    LONG = "long"
    SHORT = "short"


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """One order to send. Exactly one of ``quantity`` and ``notional`` (notional: market orders only,
    where the broker supports it). ``client_order_id`` is ours and deterministic (domain.ids)."""

    client_order_id: str
    symbol: str
    market: Market
    side: Side
    order_type: OrderType
    quantity: Decimal | None = None
    notional: Decimal | None = None
    limit_price: Decimal | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    product: Product | None = None  # Kite
    reduce_only: bool = False  # futures
    position_side: PositionSide | None = None  # futures
    extended_hours: bool = False  # Alpaca
    after_market: bool = False  # Kite AMO variety
    market_protection: Decimal | None = None  # Kite MARKET / SL-M: percent, or -1 for automatic

    def __post_init__(self) -> None:
        if (self.quantity is None) == (self.notional is None):
            raise ValueError("exactly one of quantity and notional")
        for name in ("quantity", "notional", "limit_price", "trigger_price"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, Decimal) or not value.is_finite() or value <= 0):
                raise ValueError(f"{name} must be a positive, finite Decimal")
        kind = self.order_type
        if kind.needs_limit_price != (self.limit_price is not None):
            raise ValueError(f"a {kind} order {_needs(kind.needs_limit_price)} a limit price")
        if kind.needs_trigger_price != (self.trigger_price is not None):
            raise ValueError(f"a {kind} order {_needs(kind.needs_trigger_price)} a trigger price")
        if not self.client_order_id:
            raise ValueError("client_order_id is required")


def _needs(needed: bool) -> str:
    return "needs" if needed else "takes no"


@dataclass(frozen=True, slots=True)
class OrderAck:
    """The broker's answer to a placement: it holds the order now (status may already be final)."""

    client_order_id: str
    broker_order_id: str
    status: OrderStatus
    raw_status: str
    received_at: datetime
    # The cumulative fill the answer itself reports (Binance's RESULT answer, Alpaca's order):
    # zero when it reports none, as Kite's never does.
    filled_quantity: Decimal = Decimal(0)
    average_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderReport:
    """An order as the broker sees it right now."""

    broker_order_id: str
    client_order_id: str | None  # None when the broker has no trace of ours (a Kite order without our tag)
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    filled_quantity: Decimal
    average_price: Decimal | None
    limit_price: Decimal | None
    trigger_price: Decimal | None
    status: OrderStatus
    raw_status: str
    updated_at: datetime
    reject_reason: str | None = None
    time_in_force: TimeInForce | None = None


@dataclass(frozen=True, slots=True)
class FillReport:
    """One execution; ``broker_trade_id`` is what de-duplicates it."""

    broker_trade_id: str
    broker_order_id: str
    client_order_id: str | None
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    executed_at: datetime
    fee: Decimal | None = None
    fee_currency: str | None = None


@dataclass(frozen=True, slots=True)
class PositionReport:
    symbol: str
    quantity: Decimal  # signed: negative is short
    average_price: Decimal | None
    market: Market
    unrealized_pnl: Decimal | None = None
    product: Product | None = None


@dataclass(frozen=True, slots=True)
class BalanceReport:
    currency: str
    cash: Decimal
    buying_power: Decimal
    equity: Decimal
    margins: dict[str, Decimal] = field(default_factory=dict)  # Kite's margin figures, by name


@dataclass(frozen=True, slots=True)
class QuoteReport:
    """The reference price for sizing and collars, with the time it is from."""

    symbol: str
    last: Decimal
    bid: Decimal | None
    ask: Decimal | None
    time: datetime


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """A stream event: the order as reported, and the execution that caused it, if any."""

    order: OrderReport
    fill: FillReport | None = None


@dataclass(frozen=True, slots=True)
class StreamGap:
    """The stream was down from ``since`` to ``until``: events may be missing; reconcile by polling."""

    since: datetime
    until: datetime
    reason: str


BrokerEvent = OrderUpdate | StreamGap
