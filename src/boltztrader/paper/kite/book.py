"""Kite's view of each paper account: sessions, orders with their status history, day positions.

Lives in ``PaperAccount.extra["kite"]`` (so ``/_paper/reset`` forgets it with the account). The
``BookKeeper`` is a venue listener: it turns every engine event into Kite status transitions, so
orders filled later by a price move get the same history as those filled on arrival.

Status transitions recorded (Kite's names, oldest first):

- placed: PUT ORDER REQ RECEIVED (AMO REQ RECEIVED for an AMO) -> VALIDATION PENDING ->
  OPEN PENDING -> OPEN (TRIGGER PENDING for SL / SL-M)
- RMS failure: ... VALIDATION PENDING -> REJECTED (status_message says why)
- triggered: TRIGGER PENDING -> OPEN; partial fill: OPEN (filled_quantity grows); fill: COMPLETE
- modify: MODIFY VALIDATION PENDING -> MODIFY PENDING -> MODIFIED -> OPEN / TRIGGER PENDING
- cancel: CANCEL PENDING -> CANCELLED; IOC remainder or DAY expiry: CANCELLED
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from boltztrader.paper.model import ZERO, Event, EventKind, State
from boltztrader.paper.venue import PaperAccount, Venue

PRE_EXCHANGE = frozenset({"PUT ORDER REQ RECEIVED", "AMO REQ RECEIVED", "VALIDATION PENDING", "OPEN PENDING"})


@dataclass(slots=True)
class Snapshot:
    """One row of an order's history: its status and the values it had then."""

    status: str
    time: datetime
    order_time: datetime
    quantity: Decimal
    price: Decimal
    trigger_price: Decimal
    filled: Decimal
    average: Decimal
    cancelled: Decimal
    status_message: str | None
    status_message_raw: str | None
    at_exchange: bool
    modified: bool


@dataclass(slots=True)
class KiteOrder:
    """An order as Kite shows it; the engine's order (``engine_id``) holds the matching state."""

    order_id: str
    account_id: str
    engine_id: int | None
    variety: str
    exchange: str
    tradingsymbol: str
    instrument_token: int
    transaction_type: str
    order_type: str
    product: str
    validity: str
    validity_ttl: int
    quantity: Decimal
    disclosed_quantity: Decimal
    price: Decimal
    trigger_price: Decimal
    market_protection: Decimal
    tag: str | None
    tags: list[str]
    order_time: datetime
    exchange_order_id: str | None = None
    exchange_time: datetime | None = None
    filled: Decimal = ZERO
    average: Decimal = ZERO
    cancelled: Decimal = ZERO
    status_message: str | None = None
    status_message_raw: str | None = None
    modified: bool = False
    modifications: int = 0
    history: list[Snapshot] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.history[-1].status if self.history else "PUT ORDER REQ RECEIVED"

    @property
    def is_final(self) -> bool:
        return self.status in ("COMPLETE", "CANCELLED", "REJECTED")

    def record(self, status: str, time: datetime) -> Snapshot:
        if status == "OPEN" and self.exchange_time is None:
            self.exchange_time = time
        at_exchange = self.exchange_time is not None and status not in PRE_EXCHANGE
        snap = Snapshot(status, time, self.order_time, self.quantity, self.price, self.trigger_price,
                        self.filled, self.average, self.cancelled, self.status_message,
                        self.status_message_raw, at_exchange, self.modified)
        self.history.append(snap)
        return snap


@dataclass(slots=True)
class Session:
    access_token: str
    public_token: str
    enctoken: str
    login_time: datetime
    expires_at: datetime


@dataclass(slots=True)
class DayPosition:
    tradingsymbol: str
    product: str
    buy_quantity: Decimal = ZERO
    buy_value: Decimal = ZERO
    sell_quantity: Decimal = ZERO
    sell_value: Decimal = ZERO

    @property
    def quantity(self) -> Decimal:
        return self.buy_quantity - self.sell_quantity


@dataclass(slots=True)
class KiteAccount:
    user_id: str
    app_id: int
    opening_balance: Decimal
    request_tokens: dict[str, datetime] = field(default_factory=dict)  # token -> expiry
    sessions: dict[str, Session] = field(default_factory=dict)  # access token -> session
    orders: dict[str, KiteOrder] = field(default_factory=dict)  # order_id -> order, oldest first
    by_engine: dict[int, KiteOrder] = field(default_factory=dict)
    positions: dict[tuple[str, str], DayPosition] = field(default_factory=dict)
    postback_url: str | None = None
    limits: dict[str, list[int]] = field(default_factory=dict)  # rate-limit windows

    def add(self, order: KiteOrder) -> None:
        self.orders[order.order_id] = order
        if order.engine_id is not None:
            self.by_engine[order.engine_id] = order


def state_of(venue: Venue, account: PaperAccount) -> KiteAccount:
    """The account's Kite state, made on first use (opening balance = its cash at that moment)."""
    state = account.extra.get("kite")
    if isinstance(state, KiteAccount):
        return state
    number = int("".join(ch for ch in account.account_id if ch.isdigit()) or "0")
    balance = venue.engine.account(account.account_id).balances.get("INR")
    state = KiteAccount(user_id=f"ZP{number:04d}", app_id=10000 + number,
                        opening_balance=balance.total if balance is not None else ZERO)
    account.extra["kite"] = state
    return state


def update_status(event: Event) -> str | None:
    """The status an order update carries for this event (None: no update, e.g. the placement)."""
    kind = event.kind
    if kind is EventKind.FILL:
        return "COMPLETE" if event.state is State.FILLED else "UPDATE"
    if kind in (EventKind.CANCELLED, EventKind.EXPIRED):
        return "CANCELLED"
    if kind is EventKind.REJECTED:
        return "REJECTED"
    if kind is EventKind.REPLACED:
        return "UPDATE"
    if kind is EventKind.TRIGGERED:
        return "OPEN"
    return None


UpdateHook = Callable[[PaperAccount, KiteAccount, KiteOrder, Event, str], None]


class BookKeeper:
    """Venue listener: engine events -> Kite history, day positions, and order-update hooks."""

    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self.hooks: list[UpdateHook] = []

    def __call__(self, events: Sequence[Event]) -> None:
        accounts = self.venue.accounts
        for event in events:
            account = accounts.get(event.account_id)
            state = account.extra.get("kite") if account is not None else None
            if not isinstance(state, KiteAccount) or account is None:
                continue
            order = state.by_engine.get(event.order.order_id)
            if order is None:
                continue
            self._apply(state, order, event)
            status = update_status(event)
            if status is not None:
                for hook in self.hooks:
                    hook(account, state, order, event, status)

    def _apply(self, state: KiteAccount, order: KiteOrder, event: Event) -> None:
        kind, time = event.kind, event.time
        live = "TRIGGER PENDING" if event.state is State.PENDING_TRIGGER else "OPEN"
        if kind is EventKind.NEW:
            order.record("OPEN PENDING", time)
            order.record(live, time)
        elif kind is EventKind.TRIGGERED:
            order.record("OPEN", time)
        elif kind is EventKind.FILL:
            fill = event.fill
            order.filled, order.average = event.filled_quantity, _average(event)
            if fill is not None:
                self._position(state, order, fill.quantity, fill.price)
            order.record("COMPLETE" if event.state is State.FILLED else "OPEN", time)
        elif kind in (EventKind.CANCELLED, EventKind.EXPIRED):
            order.cancelled = order.quantity - event.filled_quantity
            if kind is EventKind.CANCELLED:
                order.record("CANCEL PENDING", time)
            order.record("CANCELLED", time)
        elif kind is EventKind.REJECTED:
            order.record("REJECTED", time)
        elif kind is EventKind.REPLACED:
            for status in ("MODIFY VALIDATION PENDING", "MODIFY PENDING", "MODIFIED"):
                order.record(status, time)
            order.record(live, time)

    @staticmethod
    def _position(state: KiteAccount, order: KiteOrder, quantity: Decimal, price: Decimal) -> None:
        key = (order.tradingsymbol, order.product)
        position = state.positions.get(key)
        if position is None:
            position = state.positions[key] = DayPosition(order.tradingsymbol, order.product)
        if order.transaction_type == "BUY":
            position.buy_quantity += quantity
            position.buy_value += quantity * price
        else:
            position.sell_quantity += quantity
            position.sell_value += quantity * price


def _average(event: Event) -> Decimal:
    return ZERO if not event.filled_quantity else event.filled_quote / event.filled_quantity
