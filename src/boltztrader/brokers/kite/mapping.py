"""Domain <-> Kite: the placement form, and order rows, positions, margins, quotes and the instrument
dump turned into domain reports. Kite's wire dicts never leave this package.

Kite has no client order id: ours travels as ``tag`` (``domain.ids.kite_tag``, <= 20 alphanumeric
characters). An ``OrderReport.client_order_id`` is our id when this adapter knows which id the tag
came from (it placed or looked up the order), else the tag itself, and None for untagged orders.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boltztrader.brokers.kite import wire
from boltztrader.brokers.kite.errors import BROKER
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.enums import Market, OrderType, Product, Side, TimeInForce
from boltztrader.domain.instruments import Instrument
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import BalanceReport, OrderReport, PlaceOrder, PositionReport, QuoteReport
from boltztrader.errors import BrokerProtocolError, InvalidOrder

CURRENCY = "INR"
MARKETS = {Market.NSE: "NSE", Market.BSE: "BSE"}
EXCHANGE_MARKETS = {exchange: market for market, exchange in MARKETS.items()}
ORDER_TYPES = {OrderType.MARKET: "MARKET", OrderType.LIMIT: "LIMIT", OrderType.STOP_LIMIT: "SL",
               OrderType.STOP: "SL-M"}
WIRE_ORDER_TYPES = {wire_name: kind for kind, wire_name in ORDER_TYPES.items()}
VALIDITIES = {TimeInForce.DAY: "DAY", TimeInForce.IOC: "IOC"}
WIRE_VALIDITIES = {"DAY": TimeInForce.DAY, "IOC": TimeInForce.IOC, "TTL": TimeInForce.DAY}
PRODUCTS = {Product.CNC: "CNC", Product.MIS: "MIS", Product.NRML: "NRML"}
WIRE_PRODUCTS = {wire_name: product for product, wire_name in PRODUCTS.items()}
SIDES = {Side.BUY: "BUY", Side.SELL: "SELL"}
WIRE_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}
AUTO_PROTECTION = Decimal(-1)
ZERO = Decimal(0)

# Kite's statuses; the working ones become PARTIALLY_FILLED once something has filled.
WORKING = frozenset({"OPEN", "TRIGGER PENDING", "PUT ORDER REQ RECEIVED", "AMO REQ RECEIVED",
                     "VALIDATION PENDING", "OPEN PENDING", "MODIFY VALIDATION PENDING", "MODIFY PENDING",
                     "MODIFIED", "UPDATE"})
FINAL = {wire.COMPLETE: OrderStatus.FILLED, wire.CANCELLED: OrderStatus.CANCELLED,
         "CANCELLED AMO": OrderStatus.CANCELLED, wire.REJECTED: OrderStatus.REJECTED,
         "CANCEL PENDING": OrderStatus.PENDING_CANCEL}

_symbol_cache: dict[str, str] = {}


def _not_supported(what: str) -> InvalidOrder:
    return InvalidOrder(BROKER, "unsupported", f"{what} is not supported at Kite")


def _integral(value: Decimal) -> str:
    if value != value.to_integral_value():
        raise InvalidOrder(BROKER, "unsupported", "Kite quantities are whole numbers")
    return str(int(value))


def _price(value: Decimal) -> str:
    return format(value, "f")


def order_form(order: PlaceOrder, tag: str) -> str:
    """The ``POST /orders/{variety}`` form body; refuses locally what Kite cannot take."""
    exchange = MARKETS.get(order.market)
    if exchange is None:
        raise _not_supported(f"market {order.market}")
    if order.quantity is None:
        raise _not_supported("a notional order")
    validity = VALIDITIES.get(order.time_in_force)
    if validity is None:
        raise _not_supported(f"time in force {order.time_in_force}")
    kind = order.order_type
    symbol = _symbol_cache.get(order.symbol)
    if symbol is None:
        symbol = _symbol_cache.setdefault(order.symbol, wire.form_value(order.symbol))
    product = PRODUCTS[order.product] if order.product is not None else "CNC"
    body = (f"exchange={exchange}&tradingsymbol={symbol}&transaction_type={SIDES[order.side]}"
            f"&order_type={ORDER_TYPES[kind]}&quantity={_integral(order.quantity)}&product={product}"
            f"&validity={validity}&tag={tag}")
    if order.limit_price is not None:
        body += "&price=" + _price(order.limit_price)
    if order.trigger_price is not None:
        body += "&trigger_price=" + _price(order.trigger_price)
    if kind is OrderType.MARKET or kind is OrderType.STOP:
        protection = order.market_protection
        body += "&market_protection=" + (_price(protection) if protection is not None else "-1")
    return body


def status_of(raw: str, filled: Decimal) -> OrderStatus:
    final = FINAL.get(raw)
    if final is not None:
        return final
    if raw in WORKING:
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
    raise BrokerProtocolError(f"zerodha: unknown order status {raw[:40]!r}")


def _text(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if not isinstance(value, str):
        raise BrokerProtocolError(f"zerodha: order field {key!r} missing or not text")
    return value


def _num(row: dict[str, Any], key: str) -> Decimal:
    value = wire.number(row.get(key))
    if value is None:
        raise BrokerProtocolError(f"zerodha: field {key!r} missing or not a number")
    return value


def order_report(row: Any, client_id_of: Callable[[str], str | None]) -> OrderReport:
    """One order row (order book, history entry, postback or stream update) as an ``OrderReport``.

    ``client_id_of(tag)`` turns our tag back into our client order id (see the module doc).
    """
    if not isinstance(row, dict):
        raise BrokerProtocolError("zerodha: an order is not an object")
    order_id = row.get("order_id")
    if isinstance(order_id, int) and not isinstance(order_id, bool):
        order_id = str(order_id)
    if not isinstance(order_id, str) or not order_id:
        raise BrokerProtocolError("zerodha: order without order_id")
    raw_status = _text(row, "status")
    kind = WIRE_ORDER_TYPES.get(_text(row, "order_type"))
    side = WIRE_SIDES.get(_text(row, "transaction_type"))
    if kind is None or side is None:
        raise BrokerProtocolError("zerodha: unknown order_type or transaction_type")
    filled = wire.number(row.get("filled_quantity")) or ZERO
    average = wire.number(row.get("average_price"))
    price = wire.number(row.get("price"))
    trigger = wire.number(row.get("trigger_price"))
    tag = row.get("tag")
    client_id = (client_id_of(tag) or tag) if isinstance(tag, str) and tag else None
    status = status_of(raw_status, filled)
    updated = (wire.ist_time(row.get("exchange_update_timestamp"))
               or wire.ist_time(row.get("order_timestamp")) or datetime.now(UTC))
    reason = row.get("status_message") if status is OrderStatus.REJECTED else None
    validity = row.get("validity")
    return OrderReport(
        broker_order_id=order_id,
        client_order_id=client_id,
        symbol=_text(row, "tradingsymbol"),
        side=side,
        order_type=kind,
        quantity=_num(row, "quantity"),
        filled_quantity=filled,
        average_price=average if average and filled else None,
        limit_price=price if price and kind.needs_limit_price else None,
        trigger_price=trigger if trigger and kind.needs_trigger_price else None,
        status=status,
        raw_status=raw_status,
        updated_at=updated,
        reject_reason=reason if isinstance(reason, str) else None,
        time_in_force=WIRE_VALIDITIES.get(validity) if isinstance(validity, str) else None,
    )


def position_reports(data: Any) -> list[PositionReport]:
    """``GET /portfolio/positions`` -> the ``net`` rows (closed positions, quantity 0, are skipped)."""
    rows = data.get("net") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise BrokerProtocolError("zerodha: positions without a 'net' list")
    out = []
    for row in rows:
        if not isinstance(row, dict):
            raise BrokerProtocolError("zerodha: a position is not an object")
        quantity = _num(row, "quantity")
        if not quantity:
            continue
        market = EXCHANGE_MARKETS.get(row.get("exchange", ""))
        if market is None:
            continue  # F&O, currency and commodity positions are outside this adapter's markets
        product = row.get("product")
        out.append(PositionReport(
            symbol=_text(row, "tradingsymbol"), quantity=quantity,
            average_price=wire.number(row.get("average_price")), market=market,
            unrealized_pnl=wire.number(row.get("unrealised")),
            product=WIRE_PRODUCTS.get(product) if isinstance(product, str) else None,
        ))
    return out


def _flatten(prefix: str, value: Any, out: dict[str, Decimal]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
        return
    number = wire.number(value) if not isinstance(value, bool) else None
    if number is not None:
        out[prefix] = number


def balance_report(data: Any) -> BalanceReport:
    """``GET /user/margins``: the equity segment's ``net`` is what new orders may use.

    ``cash`` is ``available.live_balance`` (the intraday running balance; ``available.cash`` when
    absent). Kite reports no account value, so ``equity`` is the same ``net`` figure; every number
    of both segments is kept in ``margins`` under dotted names (``equity.utilised.debits``).
    """
    equity = data.get("equity") if isinstance(data, dict) else None
    if not isinstance(equity, dict) or not isinstance(equity.get("available"), dict):
        raise BrokerProtocolError("zerodha: margins without an equity segment")
    net = _num(equity, "net")
    available = equity["available"]
    cash = wire.number(available.get("live_balance"))
    if cash is None:
        cash = _num(available, "cash")
    margins: dict[str, Decimal] = {}
    _flatten("", data, margins)
    return BalanceReport(currency=CURRENCY, cash=cash, buying_power=net, equity=net, margins=margins)


def quote_key(market: Market, symbol: str) -> str:
    exchange = MARKETS.get(market)
    if exchange is None:
        raise _not_supported(f"market {market}")
    return f"{exchange}:{symbol}"


def quote_report(symbol: str, key: str, data: Any) -> QuoteReport:
    """``GET /quote``: last price, best bid and ask from the depth, and the quote's time."""
    row = data.get(key) if isinstance(data, dict) else None
    if row is None:
        raise InvalidOrder(BROKER, "unknown_instrument", f"Kite has no quote for {key}")
    if not isinstance(row, dict):
        raise BrokerProtocolError("zerodha: a quote is not an object")
    depth = row.get("depth")
    if not isinstance(depth, dict):
        depth = {}
    moment = wire.ist_time(row.get("timestamp")) or wire.ist_time(row.get("last_trade_time"))
    return QuoteReport(symbol=symbol, last=_num(row, "last_price"), bid=_best(depth.get("buy")),
                       ask=_best(depth.get("sell")), time=moment or datetime.now(UTC))


def _best(levels: Any) -> Decimal | None:
    if not isinstance(levels, list) or not levels or not isinstance(levels[0], dict):
        return None
    price = wire.number(levels[0].get("price"))
    quantity = wire.number(levels[0].get("quantity"))
    return price if price and quantity else None


def instruments(text: str, markets: Iterable[Market] = (Market.NSE, Market.BSE),
                ) -> dict[tuple[str, str], Instrument]:
    """The instrument dump (CSV) -> ``Instrument`` by (exchange, tradingsymbol), for our markets only.

    Kite's dump has no freeze quantity column; one is read when a ``freeze_quantity`` column exists.
    """
    wanted = {MARKETS[m]: m for m in markets if m in MARKETS}
    reader = csv.DictReader(io.StringIO(text))
    needed = {"tradingsymbol", "exchange", "tick_size", "lot_size"}
    if reader.fieldnames is None or not needed <= set(reader.fieldnames):
        raise BrokerProtocolError("zerodha: the instrument dump lacks its header")
    out: dict[tuple[str, str], Instrument] = {}
    for row in reader:
        exchange = row.get("exchange") or ""
        market = wanted.get(exchange)
        if market is None:
            continue
        tick = wire.number(row.get("tick_size"))
        lot = wire.number(row.get("lot_size"))
        if not tick or not lot or tick <= 0 or lot <= 0:
            continue  # indices and other untradable rows carry no tick or lot
        freeze = wire.number(row.get("freeze_quantity"))
        symbol = row.get("tradingsymbol") or ""
        out[(exchange, symbol)] = Instrument(
            broker=BrokerName.ZERODHA, market=market, symbol=symbol, currency=CURRENCY, tick_size=tick,
            step_size=Decimal(1), lot_size=lot, min_qty=lot, fractionable=False,
            freeze_qty=freeze if freeze and freeze > 0 else None,
        )
    return out
