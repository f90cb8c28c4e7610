"""The paper engine's vocabulary: instruments, orders, fills, accounts and the events it emits.

Broker-neutral on purpose: each broker module maps these to its own wire names and statuses.
Money and quantities are Decimal; times are aware UTC datetimes handed in by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

ZERO = Decimal(0)


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class Kind(StrEnum):
    """Order type. STOP_* trigger when the price moves against the position; TAKE_PROFIT_* when with it."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_MARKET = "STOP_MARKET"  # Kite SL-M, Alpaca stop, Binance STOP_LOSS / STOP_MARKET
    STOP_LIMIT = "STOP_LIMIT"  # Kite SL, Alpaca stop_limit, Binance STOP_LOSS_LIMIT / STOP
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"  # Binance TAKE_PROFIT / TAKE_PROFIT_MARKET
    TAKE_PROFIT_LIMIT = "TAKE_PROFIT_LIMIT"  # Binance TAKE_PROFIT_LIMIT / TAKE_PROFIT

    @property
    def is_market(self) -> bool:
        return self in (Kind.MARKET, Kind.STOP_MARKET, Kind.TAKE_PROFIT_MARKET)

    @property
    def has_trigger(self) -> bool:
        return self not in (Kind.MARKET, Kind.LIMIT)


class TimeInForce(StrEnum):
    GTC = "GTC"
    DAY = "DAY"  # expires at the session's end (expire_day_orders)
    IOC = "IOC"  # fill what can be filled now, expire the rest
    FOK = "FOK"  # fill all now or expire all, with no fill


class State(StrEnum):
    """Engine-level order state; brokers translate (Kite OPEN/COMPLETE, Binance NEW/FILLED, ...)."""

    PENDING_TRIGGER = "PENDING_TRIGGER"  # a stop / take-profit waiting for its trigger price
    OPEN = "OPEN"  # accepted, resting, nothing filled yet
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"  # IOC/FOK remainder, DAY order at session end
    REJECTED = "REJECTED"  # kept as an order only when the broker shows rejected orders (Kite)

    @property
    def is_final(self) -> bool:
        return self in (State.FILLED, State.CANCELLED, State.EXPIRED, State.REJECTED)


class AssetClass(StrEnum):
    SPOT = "SPOT"  # crypto spot: balances per asset, buy spends quote asset, sell spends base asset
    EQUITY = "EQUITY"  # cash equities: one cash balance, positions per symbol
    FUTURES = "FUTURES"  # USD-M perpetuals: margin in the quote asset, leverage, long or short


class RejectReason(StrEnum):
    """Why the engine refused an order; each broker maps a reason to its exact code and message."""

    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    INVALID_QUANTITY = "INVALID_QUANTITY"  # zero, negative
    INVALID_PRICE = "INVALID_PRICE"  # missing or non-positive limit/trigger price where required
    TICK_SIZE = "TICK_SIZE"  # price not a multiple of the tick, or outside min/max price
    LOT_SIZE = "LOT_SIZE"  # quantity not a multiple of the step/lot, below min or above max qty
    MIN_NOTIONAL = "MIN_NOTIONAL"  # qty x price below the minimum notional
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"  # not enough cash / quote asset / margin
    INSUFFICIENT_POSITION = "INSUFFICIENT_POSITION"  # selling more than held where shorting is not allowed
    REDUCE_ONLY = "REDUCE_ONLY"  # a reduce-only order that would not reduce the position
    TRIGGER_IMMEDIATELY = "TRIGGER_IMMEDIATELY"  # a stop whose trigger is already crossed (Binance -2021)
    MARKET_CLOSED = "MARKET_CLOSED"
    DUPLICATE_CLIENT_ID = "DUPLICATE_CLIENT_ID"  # checked by the broker layer: rules differ per broker
    NOT_FRACTIONABLE = "NOT_FRACTIONABLE"


class EngineError(Exception):
    """Base of the engine's refusals."""


class Rejected(EngineError):
    """The engine refused to accept an order; nothing was created (unless the caller asked for a record)."""

    def __init__(self, reason: RejectReason, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(f"{reason}: {message}")


class UnknownOrder(EngineError):
    """No order with that id (or client id) for that account."""


class NotCancelable(EngineError):
    """The order is already final (filled, cancelled, expired or rejected)."""


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable symbol and the rules the venue enforces on it."""

    symbol: str
    asset_class: AssetClass
    base_asset: str  # BTC for BTCUSDT; the symbol itself for equities
    quote_asset: str  # USDT, INR, USD: the currency of prices and cash
    tick_size: Decimal
    step_size: Decimal  # quantity increment (lot size for Kite equities is 1)
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal = ZERO
    min_price: Decimal = ZERO
    max_price: Decimal = ZERO  # 0 = no maximum
    maker_fee: Decimal = ZERO  # fee rate on notional, e.g. Decimal("0.001") = 10 bps
    taker_fee: Decimal = ZERO
    fractionable: bool = False  # Alpaca: fractional quantities and notional orders allowed
    max_leverage: int = 1  # FUTURES only
    exchange: str = ""  # NSE, NASDAQ, ...
    instrument_token: int = 0  # Kite
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    bid: Decimal
    ask: Decimal
    last: Decimal
    time: datetime
    bid_size: Decimal = ZERO
    ask_size: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What a broker layer asks the engine to accept, already parsed from its wire format."""

    symbol: str
    side: Side
    kind: Kind
    quantity: Decimal | None = None  # exactly one of quantity and quote_quantity
    quote_quantity: Decimal | None = None  # notional: Binance quoteOrderQty, Alpaca notional (MARKET only)
    price: Decimal | None = None  # limit price (LIMIT, STOP_LIMIT, TAKE_PROFIT_LIMIT)
    trigger_price: Decimal | None = None  # stop / take-profit trigger
    time_in_force: TimeInForce = TimeInForce.GTC
    client_order_id: str = ""
    reduce_only: bool = False  # FUTURES
    # Broker-specific fields echoed back (Kite tag, variety, ...).
    tags: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Fill:
    trade_id: int
    order_id: int
    account_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    is_maker: bool
    time: datetime


@dataclass(slots=True)
class Order:
    """The engine's order. Mutated only by the engine; broker layers read it."""

    order_id: int
    account_id: str
    request: OrderRequest
    state: State
    created_at: datetime
    updated_at: datetime
    quantity: Decimal  # for a quote_quantity order: the quantity actually filled once final
    filled_quantity: Decimal = ZERO
    filled_quote: Decimal = ZERO  # sum of qty x price over fills (Binance cummulativeQuoteQty)
    fills: list[Fill] = field(default_factory=list)
    triggered_at: datetime | None = None
    final_at: datetime | None = None
    reject_reason: RejectReason | None = None
    reject_message: str = ""
    locked: Decimal = ZERO  # funds (or base asset) reserved for this resting order

    @property
    def symbol(self) -> str:
        return self.request.symbol

    @property
    def side(self) -> Side:
        return self.request.side

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled_quantity

    @property
    def average_price(self) -> Decimal:
        return ZERO if self.filled_quantity == 0 else self.filled_quote / self.filled_quantity


@dataclass(slots=True)
class Balance:
    asset: str
    free: Decimal = ZERO
    locked: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


@dataclass(slots=True)
class Position:
    symbol: str
    quantity: Decimal = ZERO  # signed: negative is short
    average_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    leverage: int = 1  # FUTURES
    bought_quantity: Decimal = ZERO  # today's buys / sells (Kite's day positions)
    bought_value: Decimal = ZERO
    sold_quantity: Decimal = ZERO
    sold_value: Decimal = ZERO
    margin: Decimal = ZERO  # FUTURES: initial margin held for the position (in the quote balance's locked)


@dataclass(slots=True)
class Account:
    account_id: str
    balances: dict[str, Balance] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    leverage: dict[str, int] = field(default_factory=dict)  # FUTURES: symbol -> leverage


class EventKind(StrEnum):
    NEW = "NEW"  # accepted (resting, or about to fill)
    TRIGGERED = "TRIGGERED"  # a stop / take-profit reached its trigger and became live
    FILL = "FILL"  # one fill (an order may get several)
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"  # only for orders recorded as rejected
    REPLACED = "REPLACED"  # modify / replace changed price or quantity


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened to an order, in the order it happened; feeds each broker's stream."""

    seq: int  # engine-wide, strictly increasing
    kind: EventKind
    account_id: str
    order: Order  # the live order object (read its state as of now); snapshot fields below
    state: State  # the order's state right after this event
    filled_quantity: Decimal  # cumulative, right after this event
    filled_quote: Decimal
    fill: Fill | None
    time: datetime
