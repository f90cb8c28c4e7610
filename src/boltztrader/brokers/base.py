"""The one interface services see of a broker, and what each broker can do.

Adapters never touch the database, never retry an order placement by themselves, and raise only
errors of ``boltztrader.errors``: ``ConnectionFailed`` (nothing left this machine: safe to send
again), ``OutcomeUnknown`` (the request may have reached the broker: look the order up by client
order id, never resend blindly), ``BrokerRejected`` and its subclasses (a definitive no),
``RateLimited`` (wait ``retry_after``), ``BrokerAuthError`` (a human must log in again),
``BrokerDown`` and ``BrokerProtocolError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.enums import Market, OrderType, TimeInForce
from boltztrader.domain.instruments import Instrument
from boltztrader.domain.reports import (
    BalanceReport,
    BrokerEvent,
    OrderAck,
    OrderReport,
    PlaceOrder,
    PositionReport,
    QuoteReport,
)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What one adapter supports; callers check these instead of the broker's name."""

    broker: BrokerName
    markets: frozenset[Market]
    order_types: frozenset[OrderType]
    time_in_force: frozenset[TimeInForce]
    notional_orders: bool  # quantity may be given as a notional amount (market orders)
    fractional: bool  # quantities below one share / unit
    native_client_order_id: bool  # False: our id travels in another field (Kite's tag)
    duplicate_client_id_rejected: str  # "never", "while_open" (Binance), "always" (Alpaca)
    reduce_only: bool
    products: bool  # Kite CNC / MIS / NRML
    after_market_orders: bool
    order_stream: bool


@dataclass(frozen=True, slots=True)
class RateBudget:
    """How much of the broker's request budget is used, as its headers last reported it."""

    used: int
    limit: int
    window_seconds: int
    name: str = "requests"

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    @property
    def used_fraction(self) -> Decimal:
        return Decimal(self.used) / Decimal(self.limit) if self.limit else Decimal(0)


@runtime_checkable
class Broker(Protocol):
    """An async connection to one broker account (one market, for Binance spot or futures)."""

    @property
    def capabilities(self) -> Capabilities: ...

    async def place_order(self, order: PlaceOrder) -> OrderAck:
        """Send once. Never retried inside the adapter."""
        ...

    async def cancel_order(self, symbol: str, *, broker_order_id: str | None = None,
                           client_order_id: str | None = None) -> OrderReport:
        """Ask the broker to cancel; the report may still say ``pending_cancel``."""
        ...

    async def get_order(self, symbol: str, *, broker_order_id: str | None = None,
                        client_order_id: str | None = None) -> OrderReport:
        """By broker id or by our client order id; ``OrderNotFound`` when the broker has none."""
        ...

    async def list_open_orders(self, symbol: str | None = None) -> list[OrderReport]: ...

    async def get_positions(self) -> list[PositionReport]: ...

    async def get_balance(self) -> BalanceReport: ...

    async def get_quote(self, symbol: str) -> QuoteReport: ...

    async def instrument_rules(self, symbol: str) -> Instrument: ...

    def rate_budgets(self) -> list[RateBudget]:
        """The request budgets as last reported by the broker's headers (empty before any call)."""
        ...

    def events(self) -> AsyncIterator[BrokerEvent]:
        """Order updates and fills from the broker's stream. Reconnects and re-subscribes by itself;
        after an outage it yields a ``StreamGap`` so the caller can reconcile what it missed."""
        ...

    async def close(self) -> None: ...
