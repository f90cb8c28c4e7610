"""The pure domain core: values, rules and the order state machine, standard library only.

Nothing here does I/O or reads the clock by itself, so every layer above can use it and every
rule can be tested without a broker, a database or an event loop.
"""

from boltztrader.domain.clock import Clock, FixedClock, ManualClock, SystemClock, utc
from boltztrader.domain.enums import (
    AccountMode,
    Broker,
    ExecutionMode,
    Market,
    OrderType,
    Product,
    Region,
    Side,
    TimeInForce,
    TradingState,
    parse_enum,
)
from boltztrader.domain.ids import client_order_id, id_timestamp, kite_tag, new_id
from boltztrader.domain.instruments import Instrument, InstrumentRules, RuleCode, RuleProblem
from boltztrader.domain.money import (
    Money,
    PriceRounding,
    is_multiple,
    quantize_price,
    quantize_to_step,
    require_positive,
    to_decimal,
)
from boltztrader.domain.order_states import (
    STALE_EVENTS,
    TERMINAL,
    TRANSITIONS,
    OrderEvent,
    OrderStatus,
    initial_status,
    is_stale,
    next_status,
)
from boltztrader.domain.orders import Order
from boltztrader.domain.signals import InvalidSignal, Signal

__all__ = [
    "STALE_EVENTS",
    "TERMINAL",
    "TRANSITIONS",
    "AccountMode",
    "Broker",
    "Clock",
    "ExecutionMode",
    "FixedClock",
    "Instrument",
    "InstrumentRules",
    "InvalidSignal",
    "ManualClock",
    "Market",
    "Money",
    "Order",
    "OrderEvent",
    "OrderStatus",
    "OrderType",
    "PriceRounding",
    "Product",
    "Region",
    "RuleCode",
    "RuleProblem",
    "Side",
    "Signal",
    "SystemClock",
    "TimeInForce",
    "TradingState",
    "client_order_id",
    "id_timestamp",
    "initial_status",
    "is_multiple",
    "is_stale",
    "kite_tag",
    "new_id",
    "next_status",
    "parse_enum",
    "quantize_price",
    "quantize_to_step",
    "require_positive",
    "to_decimal",
    "utc",
]
