"""The frozen input of one risk decision: the proposed order and the account as it stands.

Nothing here validates on construction: ``OrderContext`` is exactly what the guard is asked to
judge, so a malformed one must reach check 1 and be refused with a reason, not crash earlier.
The caller (the order manager) builds ``AccountState`` from its books under the account's lock,
including orders in flight, so that a decision and its reservation are atomic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from boltztrader.domain.enums import Broker, Market, OrderType, Side, TimeInForce, TradingState
from boltztrader.domain.instruments import Instrument
from boltztrader.domain.reports import BalanceReport, QuoteReport
from boltztrader.domain.signals import Signal
from boltztrader.risk.throttle import RateWindow

__all__ = [
    "AccountState",
    "MarketSession",
    "OpenOrder",
    "OrderContext",
    "Position",
    "RecentOrder",
    "SessionHealth",
]

_ZERO = Decimal(0)


class MarketSession(StrEnum):
    """What the market is doing now: regular hours, US extended hours, or closed."""

    REGULAR = "regular"
    EXTENDED = "extended"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class OrderContext:
    """One proposed order (or cancel) for one account, with the market data it is judged against.

    Exactly one of ``quantity`` and ``notional`` sizes an order; check 8 turns a notional into a
    quantity. ``reduces_position`` is the caller's declaration (an exit, a futures reduce-only):
    the guard verifies it against the position and never trusts it. ``instrument`` None means the
    symbol is not known for the broker. ``quote`` is the reference price for sizing and collars.
    """

    account_id: str
    user_id: str
    broker: Broker
    market: Market
    symbol: str
    side: Side
    order_type: OrderType
    signal_id: str
    signal_created_at: datetime
    model_id: str
    confidence: Decimal
    quantity: Decimal | None = None
    notional: Decimal | None = None
    limit_price: Decimal | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    instrument: Instrument | None = None
    quote: QuoteReport | None = None
    is_cancel: bool = False
    reduces_position: bool = False
    extended_hours: bool = False
    after_market: bool = False
    market_protection: Decimal | None = None
    algo_tag: str | None = None

    @classmethod
    def from_signal(
        cls,
        signal: Signal,
        *,
        account_id: str,
        user_id: str,
        broker: Broker,
        instrument: Instrument | None,
        quote: QuoteReport | None,
        algo_tag: str | None = None,
        time_in_force: TimeInForce = TimeInForce.DAY,
    ) -> OrderContext:
        """The order a signal asks of one account: a limit order if it names a price, else market."""
        return cls(
            account_id=account_id,
            user_id=user_id,
            broker=broker,
            market=signal.market,
            symbol=signal.symbol,
            side=signal.side,
            order_type=OrderType.MARKET if signal.limit_price is None else OrderType.LIMIT,
            signal_id=signal.id,
            signal_created_at=signal.created_at,
            model_id=signal.model_id,
            confidence=signal.confidence,
            quantity=signal.quantity,
            notional=signal.notional,
            limit_price=signal.limit_price,
            time_in_force=time_in_force,
            instrument=instrument,
            quote=quote,
            algo_tag=algo_tag,
        )

    def with_changes(self, adjusted: Mapping[str, object]) -> OrderContext:
        """This order with a check's adjustments applied (keys are field names; unknown keys raise)."""
        changes: dict[str, Any] = dict(adjusted)
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Position:
    """A holding: ``quantity`` is signed (positive long, negative short)."""

    quantity: Decimal
    average_price: Decimal
    last_price: Decimal

    @property
    def notional(self) -> Decimal:
        """Gross value at the last price."""
        return abs(self.quantity) * self.last_price


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """An order working at the broker or in flight to it; ``reserved`` is the buying power it holds."""

    order_id: str
    symbol: str
    side: Side
    quantity: Decimal  # still unfilled
    reserved: Decimal
    created_at: datetime
    in_flight: bool = False


@dataclass(frozen=True, slots=True)
class RecentOrder:
    """An order recently accepted for this account, for look-alike detection (check 4)."""

    signal_id: str
    symbol: str
    side: Side
    quantity: Decimal | None
    notional: Decimal | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SessionHealth:
    """The broker session of the account: any flag set means nothing can be sent (check 16)."""

    token_expired: bool = False
    stream_down: bool = False
    needs_login: bool = False


def _empty() -> Mapping[str, Position]:
    return MappingProxyType({})


def _no_fills() -> Mapping[tuple[str, str, str], tuple[datetime, ...]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class AccountState:
    """The account (and its user) at decision time, in the account's currency.

    ``balance.buying_power`` is what the broker reports; ``reserved_notional`` (from ``open_orders``,
    in flight included) is subtracted from it. ``fill_times`` is keyed by (user, symbol, model).
    ``recent_order_times`` are this account's sends, cancels included (for Binance: every send from
    the account's egress IP). ``market_session`` None means: judge by the clock (weekday hours,
    holidays unknown); the caller sets it from the broker's calendar when it has one.
    ``other_accounts_gross`` is the user's gross position value in their other accounts.
    """

    balance: BalanceReport
    start_of_day_equity: Decimal
    global_state: TradingState = TradingState.ACTIVE
    user_state: TradingState = TradingState.ACTIVE
    account_state: TradingState = TradingState.ACTIVE
    cash_account: bool = True
    positions: Mapping[str, Position] = field(default_factory=_empty)
    open_orders: tuple[OpenOrder, ...] = ()
    realised_pnl_today: Decimal = _ZERO
    unrealised_pnl_today: Decimal = _ZERO
    recent_order_times: tuple[datetime, ...] = ()
    published_rate_limits: tuple[RateWindow, ...] = ()
    fill_times: Mapping[tuple[str, str, str], tuple[datetime, ...]] = field(default_factory=_no_fills)
    disabled_models: frozenset[str] = frozenset()
    seen_signal_ids: frozenset[str] = frozenset()
    recent_orders: tuple[RecentOrder, ...] = ()
    session: SessionHealth = SessionHealth()
    market_session: MarketSession | None = None
    instrument_tradable: bool = True
    other_accounts_gross: Decimal = _ZERO

    @property
    def reserved_notional(self) -> Decimal:
        """Buying power held by open and in-flight orders."""
        return sum((o.reserved for o in self.open_orders), _ZERO)

    @property
    def available_balance(self) -> Decimal:
        """Buying power less what open and in-flight orders hold, never below zero."""
        return max(_ZERO, self.balance.buying_power - self.reserved_notional)

    @property
    def pnl_today(self) -> Decimal:
        """Realised plus unrealised P&L since the start of the day."""
        return self.realised_pnl_today + self.unrealised_pnl_today

    def position_qty(self, symbol: str) -> Decimal:
        """The signed position in ``symbol`` (zero when flat)."""
        position = self.positions.get(symbol)
        return _ZERO if position is None else position.quantity
