"""Alpaca JSON -> domain reports. Wire dicts never leave the adapter.

Statuses: Alpaca's word is kept in ``raw_status``; unknown words (the reference warns of schema
drift) are treated as a working order, open or partially filled by its filled quantity, rather
than breaking a listing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boltztrader.brokers.alpaca.wire import dec, obj, opt_dec, string, timestamp
from boltztrader.domain.enums import Broker, Market, OrderType, Side, TimeInForce
from boltztrader.domain.instruments import Instrument
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import (
    BalanceReport,
    FillReport,
    OrderAck,
    OrderReport,
    OrderUpdate,
    PositionReport,
    QuoteReport,
)
from boltztrader.errors import BrokerProtocolError

S = OrderStatus
ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")
SUB_PENNY = Decimal("0.0001")
QTY_STEP = Decimal("0.000000001")  # Alpaca takes up to nine decimals of qty
MIN_FRACTIONAL_NOTIONAL = ONE  # fractional and notional orders: at least $1

# None: a working order, open or partially filled by its filled quantity.
STATUS: dict[str, OrderStatus | None] = {
    "new": None,
    "accepted": None,  # received, not yet routed (e.g. queued outside market hours)
    "pending_new": None,
    "accepted_for_bidding": None,
    "partially_filled": S.PARTIALLY_FILLED,
    "filled": S.FILLED,
    "done_for_day": None,  # no more fills today; a GTC order works again tomorrow
    "canceled": S.CANCELLED,
    "expired": S.EXPIRED,
    "replaced": S.CANCELLED,  # this order is over; its replacement is a new order
    "pending_cancel": S.PENDING_CANCEL,
    "pending_replace": None,
    "stopped": None,
    "rejected": S.REJECTED,
    "suspended": None,
    "calculated": None,
    "held": None,  # bracket legs waiting for their parent
    "pending_review": None,
}
ORDER_TYPES = {"market": OrderType.MARKET, "limit": OrderType.LIMIT, "stop": OrderType.STOP,
               "stop_limit": OrderType.STOP_LIMIT, "trailing_stop": OrderType.STOP}
SIDES = {"buy": Side.BUY, "sell": Side.SELL}
TIFS = {t.value: t for t in TimeInForce}


def status_of(raw: str, filled: Decimal) -> OrderStatus:
    status = STATUS.get(raw)
    if status is not None:
        return status
    return S.PARTIALLY_FILLED if filled > 0 else S.OPEN


def order_ack(data: Any, received_at: datetime) -> OrderAck:
    """The POST /v2/orders answer, read no further than an acknowledgement needs."""
    order = obj(data, "order")
    raw = order.get("status")
    if not isinstance(raw, str):
        raise BrokerProtocolError("alpaca: order status is missing")
    status = STATUS.get(raw)
    if status is None:
        filled = order.get("filled_qty")
        status = S.OPEN if filled in (None, "0") or not dec(filled, "filled_qty") else S.PARTIALLY_FILLED
    filled = opt_dec(order.get("filled_qty"), "filled_qty") or ZERO
    average = opt_dec(order.get("filled_avg_price"), "filled_avg_price") if filled else None
    return OrderAck(client_order_id=string(order.get("client_order_id"), "client_order_id"),
                    broker_order_id=string(order.get("id"), "id"), status=status, raw_status=raw,
                    received_at=received_at, filled_quantity=filled if average else ZERO,
                    average_price=average or None)


def order_report(data: Any) -> OrderReport:
    order = obj(data, "order")
    raw = string(order.get("status"), "status")
    filled = opt_dec(order.get("filled_qty"), "filled_qty") or ZERO
    qty = opt_dec(order.get("qty"), "qty")
    side = SIDES.get(str(order.get("side")))
    kind = ORDER_TYPES.get(str(order.get("type") or order.get("order_type")))
    if side is None or kind is None:
        raise BrokerProtocolError("alpaca: order side or type is missing or unknown")
    updated = order.get("updated_at") or order.get("submitted_at") or order.get("created_at")
    return OrderReport(
        broker_order_id=string(order.get("id"), "id"),
        client_order_id=order.get("client_order_id") or None,
        symbol=string(order.get("symbol"), "symbol"),
        side=side,
        order_type=kind,
        quantity=qty if qty is not None else filled,  # a notional order has no qty until it fills
        filled_quantity=filled,
        average_price=opt_dec(order.get("filled_avg_price"), "filled_avg_price"),
        limit_price=opt_dec(order.get("limit_price"), "limit_price"),
        trigger_price=opt_dec(order.get("stop_price"), "stop_price"),
        status=status_of(raw, filled),
        raw_status=raw,
        updated_at=timestamp(updated, "updated_at") if updated else datetime.now(UTC),
        reject_reason="rejected by Alpaca (the order carries no reason)" if raw == "rejected" else None,
        time_in_force=TIFS.get(str(order.get("time_in_force"))),
    )


def trade_update(data: Any) -> OrderUpdate:
    """A ``trade_updates`` event: the order snapshot, and the execution on fill / partial_fill."""
    event = obj(data, "trade update")
    report = order_report(event.get("order"))
    name = event.get("event")
    if name not in ("fill", "partial_fill"):
        return OrderUpdate(order=report)
    execution = event.get("execution_id")
    # No execution id: the order's cumulative filled quantity names this execution just as uniquely.
    trade_id = execution if isinstance(execution, str) and execution else \
        f"{report.broker_order_id}:{report.filled_quantity}"
    moment = event.get("timestamp")
    fill = FillReport(
        broker_trade_id=trade_id,
        broker_order_id=report.broker_order_id,
        client_order_id=report.client_order_id,
        symbol=report.symbol,
        side=report.side,
        quantity=dec(event.get("qty"), "qty"),
        price=dec(event.get("price"), "price"),
        executed_at=timestamp(moment, "timestamp") if moment else report.updated_at,
    )
    return OrderUpdate(order=report, fill=fill)


def position(data: Any) -> PositionReport:
    item = obj(data, "position")
    return PositionReport(symbol=string(item.get("symbol"), "symbol"), quantity=dec(item.get("qty"), "qty"),
                          average_price=opt_dec(item.get("avg_entry_price"), "avg_entry_price"),
                          market=Market.US,
                          unrealized_pnl=opt_dec(item.get("unrealized_pl"), "unrealized_pl"))


def balance(data: Any) -> BalanceReport:
    account = obj(data, "account")
    currency = account.get("currency")
    return BalanceReport(currency=currency if isinstance(currency, str) and currency else "USD",
                         cash=dec(account.get("cash"), "cash"),
                         buying_power=dec(account.get("buying_power"), "buying_power"),
                         equity=dec(account.get("equity"), "equity"))


def tick_for(price: Decimal | None) -> Decimal:
    """The sub-penny rule: $0.0001 below $1, else $0.01 (a cent is valid at any price, so it is the
    choice when the price is unknown)."""
    return SUB_PENNY if price is not None and price < ONE else CENT


def instrument(data: Any, last_price: Decimal | None) -> Instrument:
    asset = obj(data, "asset")
    symbol = string(asset.get("symbol"), "symbol")
    fractionable = asset.get("fractionable") is True
    price_increment = opt_dec(asset.get("price_increment"), "price_increment")
    step = opt_dec(asset.get("min_trade_increment"), "min_trade_increment") or \
        (QTY_STEP if fractionable else ONE)
    minimum = opt_dec(asset.get("min_order_size"), "min_order_size") or step
    return Instrument(broker=Broker.ALPACA, market=Market.US, symbol=symbol, currency="USD",
                      tick_size=price_increment or tick_for(last_price), step_size=step, min_qty=minimum,
                      min_notional=MIN_FRACTIONAL_NOTIONAL if fractionable else None,
                      fractionable=fractionable)


def asset_tradable(data: Any) -> bool:
    asset = obj(data, "asset")
    return asset.get("tradable") is True and asset.get("status", "active") == "active"


def quote(symbol: str, quote_data: Any, trade_data: Any) -> QuoteReport:
    """The latest trade (last) and NBBO quote (bid/ask; 0 means none) from the Market Data API."""
    q = obj(obj(quote_data, "latest quote").get("quote"), "quote")
    t = obj(obj(trade_data, "latest trade").get("trade"), "trade")
    bid = opt_dec(q.get("bp"), "bp")
    ask = opt_dec(q.get("ap"), "ap")
    return QuoteReport(symbol=symbol, last=dec(t.get("p"), "p"), bid=bid or None, ask=ask or None,
                       time=timestamp(t.get("t"), "t"))
