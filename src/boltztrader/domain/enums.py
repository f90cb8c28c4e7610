"""The closed sets of the domain, as ``StrEnum``s whose values are the lowercase words we store.

A ``StrEnum`` compares equal to its stored text, so a database row or a JSON field round-trips
without a lookup table, while the type checker still refuses a typo.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

__all__ = [
    "AccountMode",
    "Broker",
    "ExecutionMode",
    "Market",
    "OrderType",
    "Product",
    "Region",
    "Side",
    "TimeInForce",
    "TradingState",
    "parse_enum",
]

E = TypeVar("E", bound=StrEnum)


def parse_enum(enum_cls: type[E], text: str | E) -> E:
    """Parse user or wire text into a member, case-insensitively; the error lists what is allowed.

    Input is trimmed and matched against values first, then member names, so ``"BUY"``, ``"buy "``
    and ``Side.BUY`` all give ``Side.BUY``.
    """
    if isinstance(text, enum_cls):
        return text
    if not isinstance(text, str):
        raise TypeError(f"{enum_cls.__name__} must be given as text, not {type(text).__name__}")
    key = text.strip().lower()
    for member in enum_cls:
        if member.value == key or member.name.lower() == key:
            return member
    allowed = ", ".join(member.value for member in enum_cls)
    raise ValueError(f"unknown {enum_cls.__name__} {text!r}; allowed: {allowed}")


class Broker(StrEnum):
    """The brokers we speak to (each also has a paper twin that speaks its wire protocol)."""

    ZERODHA = "zerodha"
    BINANCE = "binance"
    ALPACA = "alpaca"


class Region(StrEnum):
    """The routing key above a market: which market hours, currency and regulator apply."""

    INDIA = "india"
    US = "us"
    CRYPTO = "crypto"


class Market(StrEnum):
    """Where an instrument trades; ``region`` is what routing and market-hours checks key on."""

    NSE = "nse"
    BSE = "bse"
    NFO = "nfo"
    US = "us"
    CRYPTO = "crypto"
    CRYPTO_FUTURES = "crypto_futures"

    @property
    def region(self) -> Region:
        """The region whose rules (hours, currency, regulator) govern this market."""
        return _MARKET_REGION[self]

    @property
    def is_derivatives(self) -> bool:
        """Futures and options carry leverage and lot sizes, so some checks differ."""
        return self in (Market.NFO, Market.CRYPTO_FUTURES)


_MARKET_REGION: dict[Market, Region] = {
    Market.NSE: Region.INDIA,
    Market.BSE: Region.INDIA,
    Market.NFO: Region.INDIA,
    Market.US: Region.US,
    Market.CRYPTO: Region.CRYPTO,
    Market.CRYPTO_FUTURES: Region.CRYPTO,
}


class Side(StrEnum):
    """Buy or sell; ``opposite`` is what closes a position."""

    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        """The side that reduces a position opened on this side."""
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    """Order types common to the three brokers (Kite SL = stop_limit, SL-M = stop)."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"

    @property
    def needs_limit_price(self) -> bool:
        """Limit and stop-limit orders rest at a price; the others must not carry one."""
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT)

    @property
    def needs_trigger_price(self) -> bool:
        """Stop and stop-limit orders wait for a trigger price."""
        return self in (OrderType.STOP, OrderType.STOP_LIMIT)


class TimeInForce(StrEnum):
    """How long an order works: day, good-till-cancelled, immediate-or-cancel, fill-or-kill, open, close."""

    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    OPG = "opg"
    CLS = "cls"


class Product(StrEnum):
    """Kite's product: delivery (cnc), intraday (mis), or carry-forward derivatives (nrml)."""

    CNC = "cnc"
    MIS = "mis"
    NRML = "nrml"


class TradingState(StrEnum):
    """Kill-switch level: reducing allows only orders that shrink a position; halted allows none."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class AccountMode(StrEnum):
    """Paper accounts trade against a simulator; live ones move real money."""

    PAPER = "paper"
    LIVE = "live"


class ExecutionMode(StrEnum):
    """Automated orders go straight to submit; semi-manual ones wait for a human's approval."""

    AUTOMATED = "automated"
    SEMI_MANUAL = "semi_manual"
