"""Binance wire shapes <-> domain types. Wire dicts never leave the adapter.

Every function here may raise KeyError / ValueError / TypeError on a malformed answer; callers
turn those into ``BrokerProtocolError`` (``wire.protocol_error``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from boltztrader.brokers.binance import errors
from boltztrader.brokers.binance.wire import ZERO, dec, enc, ms_time, now, num, positive
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.enums import Market, OrderType, Side, TimeInForce
from boltztrader.domain.instruments import Instrument
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import (
    BalanceReport,
    FillReport,
    OrderAck,
    OrderReport,
    OrderUpdate,
    PlaceOrder,
    PositionReport,
    QuoteReport,
)

S = OrderStatus
STATUS: Mapping[str, OrderStatus] = {
    "NEW": S.OPEN,
    "PENDING_NEW": S.OPEN,  # a pending leg of an order list
    "PARTIALLY_FILLED": S.PARTIALLY_FILLED,
    "FILLED": S.FILLED,
    "CANCELED": S.CANCELLED,
    "PENDING_CANCEL": S.PENDING_CANCEL,
    "REJECTED": S.REJECTED,
    "EXPIRED": S.EXPIRED,
    "EXPIRED_IN_MATCH": S.EXPIRED,  # expired by self-trade prevention
}
SIDE_OUT = {Side.BUY: "BUY", Side.SELL: "SELL"}
SIDE_IN = {"BUY": Side.BUY, "SELL": Side.SELL}
SPOT_TYPE_OUT = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP: "STOP_LOSS",
    OrderType.STOP_LIMIT: "STOP_LOSS_LIMIT",
}
# USD-M conditional types must go to /fapi/v1/algoOrder since 2025-12-09 (not implemented here).
FUTURES_TYPE_OUT = {OrderType.MARKET: "MARKET", OrderType.LIMIT: "LIMIT"}
TYPE_IN = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "LIMIT_MAKER": OrderType.LIMIT,
    "STOP_LOSS": OrderType.STOP,
    "TAKE_PROFIT": OrderType.STOP,
    "STOP_LOSS_LIMIT": OrderType.STOP_LIMIT,
    "TAKE_PROFIT_LIMIT": OrderType.STOP_LIMIT,
    "STOP_MARKET": OrderType.STOP,  # futures
    "TAKE_PROFIT_MARKET": OrderType.STOP,
    "TRAILING_STOP_MARKET": OrderType.STOP,
    "STOP": OrderType.STOP_LIMIT,  # futures STOP is a stop-limit
}
TIF_OUT = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}
TIF_IN = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK, "GTX": TimeInForce.GTC}
_NEEDS_TIF = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})


def status_of(raw: str) -> OrderStatus:
    try:
        return STATUS[raw]
    except KeyError:
        raise ValueError("unknown order status") from None


# -- orders out --------------------------------------------------------------------------------------


def order_params(order: PlaceOrder, market: Market) -> str:
    """The ``POST order`` parameters (without recvWindow, timestamp, signature), encoded.

    Refuses locally (``InvalidOrder``, nothing sent) what Binance would refuse for its shape.
    """
    futures = market is Market.CRYPTO_FUTURES
    if order.market is not market:
        raise errors.local_reject(f"this adapter trades {market}, not {order.market}")
    wire_type = (FUTURES_TYPE_OUT if futures else SPOT_TYPE_OUT).get(order.order_type)
    if wire_type is None:
        raise errors.local_reject(f"{order.order_type} orders are not supported on {market}")
    parts = ["symbol=", enc(order.symbol), "&side=", SIDE_OUT[order.side], "&type=", wire_type]
    if order.order_type in _NEEDS_TIF:
        tif = TIF_OUT.get(order.time_in_force)
        if tif is None:
            raise errors.local_reject(f"time in force {order.time_in_force} is not supported (GTC, IOC, FOK)")
        parts += ("&timeInForce=", tif)
    if order.quantity is not None:
        parts += ("&quantity=", num(order.quantity))
    elif futures or order.order_type is not OrderType.MARKET:
        raise errors.local_reject("a notional amount is only accepted for spot market orders")
    else:
        assert order.notional is not None
        parts += ("&quoteOrderQty=", num(order.notional))
    if order.limit_price is not None:
        parts += ("&price=", num(order.limit_price))
    if order.trigger_price is not None:
        parts += ("&stopPrice=", num(order.trigger_price))
    if futures:
        if order.reduce_only:
            parts.append("&reduceOnly=true")
        if order.position_side is not None:
            parts += ("&positionSide=", order.position_side.value.upper())
    elif order.reduce_only or order.position_side is not None:
        raise errors.local_reject("reduce_only and position_side apply to futures only")
    parts += ("&newClientOrderId=", enc(order.client_order_id), "&newOrderRespType=RESULT")
    return "".join(parts)


def ack(body: Mapping[str, Any], client_order_id: str) -> OrderAck:
    """A placement answer (RESULT: with the cumulative fill; spot gives the quote amount, futures
    the average price)."""
    raw = body.get("status") or "NEW"
    filled = dec(body.get("executedQty", "0"))
    average = None
    if filled > 0:
        average = positive(body.get("avgPrice"))
        quote = dec(body.get("cummulativeQuoteQty", "0"))
        if average is None and quote > 0:
            average = quote / filled
    return OrderAck(
        client_order_id=body.get("clientOrderId") or client_order_id,
        broker_order_id=str(body["orderId"]),
        status=status_of(raw),
        raw_status=raw,
        received_at=now(),
        filled_quantity=filled if average is not None else ZERO,
        average_price=average,
    )


# -- orders in ---------------------------------------------------------------------------------------


def order_report(body: Mapping[str, Any], futures: bool) -> OrderReport:
    """A spot or futures order object (query, open orders, cancel answer, RESULT placement)."""
    raw = body["status"]
    filled = dec(body["executedQty"])
    if futures:
        average = positive(body.get("avgPrice")) if filled else None
    else:
        quote = dec(body.get("cummulativeQuoteQty", "-1"))
        average = quote / filled if filled and quote >= 0 else None
    quantity = dec(body["origQty"]) or filled
    stamp = body.get("updateTime") or body.get("transactTime") or body.get("time")
    return OrderReport(
        broker_order_id=str(body["orderId"]),
        # a spot cancel answer's clientOrderId is the cancel's own id; origClientOrderId is the order's
        client_order_id=body.get("origClientOrderId") or body.get("clientOrderId") or None,
        symbol=body["symbol"],
        side=SIDE_IN[body["side"]],
        order_type=TYPE_IN[body["type"]],
        quantity=quantity,
        filled_quantity=filled,
        average_price=average,
        limit_price=positive(body.get("price")),
        trigger_price=positive(body.get("stopPrice")),
        status=status_of(raw),
        raw_status=raw,
        updated_at=ms_time(stamp) if stamp else now(),
        time_in_force=TIF_IN.get(body.get("timeInForce", "")),
    )


def execution_report(e: Mapping[str, Any]) -> OrderUpdate:
    """A spot ``executionReport``; a TRADE execution carries its fill (trade id ``t``)."""
    raw = e["X"]
    client_id = e.get("C") or e["c"]  # on a cancel, ``c`` is the cancel's own id
    filled = dec(e["z"])
    quote = dec(e.get("Z", "0"))
    side = SIDE_IN[e["S"]]
    order_id = str(e["i"])
    reason = e.get("r")
    report = OrderReport(
        broker_order_id=order_id,
        client_order_id=client_id or None,
        symbol=e["s"],
        side=side,
        order_type=TYPE_IN[e["o"]],
        quantity=dec(e["q"]) or filled,
        filled_quantity=filled,
        average_price=quote / filled if filled and quote > 0 else None,
        limit_price=positive(e.get("p")),
        trigger_price=positive(e.get("P")),
        status=status_of(raw),
        raw_status=raw,
        updated_at=ms_time(e["E"]),
        reject_reason=reason if reason and reason != "NONE" else None,
        time_in_force=TIF_IN.get(e.get("f", "")),
    )
    fill = None
    if e["x"] == "TRADE":
        fill = FillReport(
            broker_trade_id=str(e["t"]),
            broker_order_id=order_id,
            client_order_id=client_id or None,
            symbol=e["s"],
            side=side,
            quantity=dec(e["l"]),
            price=dec(e["L"]),
            executed_at=ms_time(e.get("T") or e["E"]),
            fee=dec(e["n"]) if e.get("n") is not None else None,
            fee_currency=e.get("N"),
        )
    return OrderUpdate(order=report, fill=fill)


def order_trade_update(event: Mapping[str, Any]) -> OrderUpdate:
    """A USD-M ``ORDER_TRADE_UPDATE``; a TRADE execution carries its fill (trade id ``t``)."""
    o = event["o"]
    raw = o["X"]
    filled = dec(o["z"])
    side = SIDE_IN[o["S"]]
    order_id = str(o["i"])
    client_id = o.get("c") or None
    report = OrderReport(
        broker_order_id=order_id,
        client_order_id=client_id,
        symbol=o["s"],
        side=side,
        order_type=TYPE_IN[o.get("ot") or o["o"]],
        quantity=dec(o["q"]) or filled,
        filled_quantity=filled,
        average_price=positive(o.get("ap")) if filled else None,
        limit_price=positive(o.get("p")),
        trigger_price=positive(o.get("sp")),
        status=status_of(raw),
        raw_status=raw,
        updated_at=ms_time(event["E"]),
        time_in_force=TIF_IN.get(o.get("f", "")),
    )
    fill = None
    if o["x"] == "TRADE":
        fill = FillReport(
            broker_trade_id=str(o["t"]),
            broker_order_id=order_id,
            client_order_id=client_id,
            symbol=o["s"],
            side=side,
            quantity=dec(o["l"]),
            price=dec(o["L"]),
            executed_at=ms_time(o.get("T") or event["E"]),
            fee=dec(o["n"]) if o.get("n") is not None else None,
            fee_currency=o.get("N"),
        )
    return OrderUpdate(order=report, fill=fill)


# -- rules, money, prices ---------------------------------------------------------------------------


def instrument(symbol: Mapping[str, Any], market: Market) -> Instrument:
    """exchangeInfo symbol -> Instrument: tick from PRICE_FILTER, step / min / max from LOT_SIZE,
    minimum notional from NOTIONAL (spot) or MIN_NOTIONAL (legacy spot ``minNotional``, futures
    ``notional``). A zero tick or step (filter disabled) falls back to the asset's precision."""
    filters = {f["filterType"]: f for f in symbol["filters"]}
    price_filter = filters.get("PRICE_FILTER", {})
    lot = filters.get("LOT_SIZE", {})
    tick = positive(price_filter.get("tickSize"))
    if tick is None:
        places = symbol.get("pricePrecision", symbol.get("quotePrecision", 8))
        tick = Decimal(1).scaleb(-int(places))
    step = positive(lot.get("stepSize"))
    if step is None:
        places = symbol.get("quantityPrecision", symbol.get("baseAssetPrecision", 8))
        step = Decimal(1).scaleb(-int(places))
    notional_filter = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
    min_notional = positive(notional_filter.get("minNotional", notional_filter.get("notional")))
    return Instrument(
        broker=BrokerName.BINANCE,
        market=market,
        symbol=symbol["symbol"],
        currency=symbol.get("quoteAsset") or symbol["marginAsset"],
        tick_size=tick.normalize(),
        step_size=step.normalize(),
        min_qty=dec(lot.get("minQty", "0")).normalize(),
        max_qty=_norm(positive(lot.get("maxQty"))),
        min_notional=_norm(min_notional),
    )


def _norm(value: Decimal | None) -> Decimal | None:
    return value.normalize() if value is not None else None


def spot_balance(account: Mapping[str, Any], prices: Mapping[str, Decimal], quote: str) -> BalanceReport:
    """Cash is the quote asset (free + locked); buying power its free part; equity adds every other
    asset at its last ``<asset><quote>`` price (assets without such a price are left out)."""
    free = locked = ZERO
    others = ZERO
    for row in account["balances"]:
        asset = row["asset"]
        total = dec(row["free"]) + dec(row["locked"])
        if asset == quote:
            free, locked = dec(row["free"]), dec(row["locked"])
        elif total:
            price = prices.get(asset + quote)
            if price is not None:
                others += total * price
    cash = free + locked
    return BalanceReport(currency=quote, cash=cash, buying_power=free, equity=cash + others)


def spot_positions(account: Mapping[str, Any], quote: str) -> list[PositionReport]:
    """Spot holdings as positions in ``<asset><quote>`` (no average price: Binance keeps none)."""
    out = []
    for row in account["balances"]:
        asset = row["asset"]
        total = dec(row["free"]) + dec(row["locked"])
        if asset != quote and total:
            out.append(PositionReport(symbol=asset + quote, quantity=total, average_price=None,
                                      market=Market.CRYPTO))
    return out


def futures_balance(rows: list[Mapping[str, Any]], quote: str) -> BalanceReport:
    for row in rows:
        if row["asset"] == quote:
            wallet = dec(row["balance"])
            pnl = dec(row.get("crossUnPnl", "0"))
            return BalanceReport(
                currency=quote, cash=wallet, buying_power=dec(row["availableBalance"]), equity=wallet + pnl,
                margins={"cross_wallet": dec(row.get("crossWalletBalance", row["balance"])),
                         "unrealized_pnl": pnl,
                         "max_withdraw": dec(row.get("maxWithdrawAmount", row["availableBalance"]))},
            )
    return BalanceReport(currency=quote, cash=ZERO, buying_power=ZERO, equity=ZERO)


def futures_positions(rows: list[Mapping[str, Any]]) -> list[PositionReport]:
    out = []
    for row in rows:
        amount = dec(row["positionAmt"])
        if amount:
            out.append(PositionReport(
                symbol=row["symbol"], quantity=amount, average_price=positive(row.get("entryPrice")),
                market=Market.CRYPTO_FUTURES, unrealized_pnl=dec(row.get("unRealizedProfit", "0")),
            ))
    return out


def quote(symbol: str, book: Mapping[str, Any], last: Mapping[str, Any]) -> QuoteReport:
    stamp = book.get("time") or last.get("time")
    return QuoteReport(
        symbol=symbol,
        last=dec(last["price"]),
        bid=positive(book.get("bidPrice")),
        ask=positive(book.get("askPrice")),
        time=ms_time(stamp) if stamp else now(),
    )


def prices(rows: list[Mapping[str, Any]]) -> dict[str, Decimal]:
    return {row["symbol"]: dec(row["price"]) for row in rows}


# -- the key's permissions ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiRestrictions:
    """What an API key may do (``GET /sapi/v1/account/apiRestrictions``)."""

    withdrawals_enabled: bool
    reading_enabled: bool
    spot_trading_enabled: bool
    futures_enabled: bool
    margin_enabled: bool
    internal_transfer_enabled: bool
    universal_transfer_enabled: bool
    ip_restricted: bool
    created_at: datetime | None


def _flag(body: Mapping[str, Any], name: str, *, required: bool = False) -> bool:
    if name not in body and not required:
        return False
    value = body[name]
    if not isinstance(value, bool):
        raise TypeError(f"{name} is not a boolean")
    return value


def api_restrictions(body: Mapping[str, Any]) -> ApiRestrictions:
    """The key's permissions; ``enableWithdrawals`` and ``enableReading`` must be present (a missing
    withdrawal flag is never read as "off")."""
    created = body.get("createTime")
    return ApiRestrictions(
        withdrawals_enabled=_flag(body, "enableWithdrawals", required=True),
        reading_enabled=_flag(body, "enableReading", required=True),
        spot_trading_enabled=_flag(body, "enableSpotAndMarginTrading"),
        futures_enabled=_flag(body, "enableFutures"),
        margin_enabled=_flag(body, "enableMargin"),
        internal_transfer_enabled=_flag(body, "enableInternalTransfer"),
        universal_transfer_enabled=_flag(body, "permitsUniversalTransfer"),
        ip_restricted=_flag(body, "ipRestrict"),
        created_at=None if created is None else ms_time(created),
    )
