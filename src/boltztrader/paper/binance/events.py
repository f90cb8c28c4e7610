"""Engine events as Binance user-data events: spot ``executionReport`` + ``outboundAccountPosition``,
futures ``ORDER_TRADE_UPDATE`` + ``ACCOUNT_UPDATE``.

Balances in account events are read when the event is rendered (just before it is sent).
"""

from __future__ import annotations

from typing import Any

from boltztrader.paper.binance import fwire
from boltztrader.paper.binance.catalogue import PERP_SUFFIX
from boltztrader.paper.binance.state import BinanceVenue
from boltztrader.paper.binance.wire import SPOT_STATUS, fmt8, ms, spot_tif, wire_type
from boltztrader.paper.model import ZERO, Event, EventKind, Kind, State

EXECUTION_TYPE = {
    EventKind.NEW: "NEW",
    EventKind.FILL: "TRADE",
    EventKind.CANCELLED: "CANCELED",
    EventKind.EXPIRED: "EXPIRED",
    EventKind.REJECTED: "REJECTED",
    EventKind.REPLACED: "REPLACED",
}
BALANCE_EVENTS = frozenset({EventKind.FILL, EventKind.CANCELLED, EventKind.EXPIRED})


def render(venue: BinanceVenue, event: Event) -> list[dict[str, Any]]:
    """The user-data payloads for one engine event (none for a trigger, which Binance does not report)."""
    if event.kind is EventKind.TRIGGERED:
        return []
    if event.order.symbol.endswith(PERP_SUFFIX):
        return _futures(venue, event)
    return _spot(venue, event)


def _spot(venue: BinanceVenue, event: Event) -> list[dict[str, Any]]:
    order = event.order
    req = order.request
    fill = event.fill
    cancel_id = venue.binance.cancel_ids.get(order.order_id) if event.kind is EventKind.CANCELLED else None
    on_book = event.state in (State.OPEN, State.PARTIALLY_FILLED) and req.kind is not Kind.MARKET
    at = ms(event.time)
    report: dict[str, Any] = {
        "e": "executionReport",
        "E": at,
        "s": order.symbol,
        "c": cancel_id or req.client_order_id,
        "S": req.side.value,
        "o": wire_type(order),
        "f": spot_tif(order),
        "q": fmt8(order.quantity),
        "p": fmt8(req.price),
        "P": fmt8(req.trigger_price),
        "F": fmt8(None),
        "g": -1,
        "C": req.client_order_id if cancel_id else "",
        "x": EXECUTION_TYPE[event.kind],
        "X": SPOT_STATUS[event.state],
        "r": "NONE",
        "i": order.order_id,
        "l": fmt8(fill.quantity if fill else None),
        "z": fmt8(event.filled_quantity),
        "L": fmt8(fill.price if fill else None),
        "n": fmt8(fill.fee) if fill else "0",
        "N": fill.fee_asset if fill else None,
        "T": at,
        "t": fill.trade_id if fill else -1,
        "I": event.seq,
        "w": on_book,
        "m": fill.is_maker if fill else False,
        "M": False,
        "O": ms(order.created_at),
        "Z": fmt8(event.filled_quote),
        "Y": fmt8(fill.price * fill.quantity if fill else None),
        "Q": fmt8(req.quote_quantity),
        "W": ms(order.triggered_at or order.created_at),
        "V": "EXPIRE_MAKER",
    }
    payloads = [report]
    if event.kind in BALANCE_EVENTS or (event.kind is EventKind.NEW and req.kind is not Kind.MARKET):
        inst = venue.engine.instrument(order.symbol)
        account = venue.engine.account(event.account_id)
        rows = []
        for asset in (inst.base_asset, inst.quote_asset):
            balance = account.balances.get(asset)
            rows.append(
                {
                    "a": asset,
                    "f": fmt8(balance.free if balance else None),
                    "l": fmt8(balance.locked if balance else None),
                }
            )
        payloads.append({"e": "outboundAccountPosition", "E": at, "u": at, "B": rows})
    return payloads


def _futures(venue: BinanceVenue, event: Event) -> list[dict[str, Any]]:
    order = event.order
    req = order.request
    spec = fwire.spec_of(order.symbol)
    fill = event.fill
    at = ms(event.time)
    kind = str(req.tags.get("type", req.kind.value))
    avg = event.filled_quote / event.filled_quantity if event.filled_quantity else ZERO
    update: dict[str, Any] = {
        "e": "ORDER_TRADE_UPDATE",
        "E": at,
        "T": at,
        "o": {
            "s": spec.symbol,
            "c": req.client_order_id,
            "S": req.side.value,
            "o": kind,
            "f": str(req.tags.get("tif", req.time_in_force.value)),
            "q": fwire.qty_text(spec, order.quantity),
            "p": fwire.price_text(spec, req.price),
            "ap": fwire.price_text(spec, avg),
            "sp": "0",
            "x": EXECUTION_TYPE[event.kind],
            "X": fwire.FUTURES_STATUS[event.state],
            "i": order.order_id,
            "l": fwire.qty_text(spec, fill.quantity if fill else None),
            "z": fwire.qty_text(spec, event.filled_quantity),
            "L": fwire.price_text(spec, fill.price if fill else None),
            "N": fill.fee_asset if fill else "USDT",
            "n": fwire.money(fill.fee if fill else ZERO),
            "T": at,
            "t": fill.trade_id if fill else 0,
            "b": "0",
            "a": "0",
            "m": fill.is_maker if fill else False,
            "R": req.reduce_only,
            "wt": "CONTRACT_PRICE",
            "ot": kind,
            "ps": "BOTH",
            "cp": False,
            "rp": "0",
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "EXPIRE_MAKER",
            "pm": "NONE",
            "gtd": 0,
            "er": "0",
        },
    }
    payloads = [update]
    if fill is not None:
        account = venue.engine.account(event.account_id)
        balance = account.balances.get(spec.quote)
        wallet = fwire.money(balance.total if balance else ZERO)
        pos = account.positions.get(order.symbol)
        mark = venue.engine.quote(order.symbol).last
        positions = []
        if pos is not None:
            positions.append(
                {
                    "s": spec.symbol,
                    "pa": fwire.qty_text(spec, pos.quantity),
                    "ep": fwire.price_text(spec, pos.average_price),
                    "bep": fwire.price_text(spec, pos.average_price),
                    "cr": fwire.money(pos.realized_pnl),
                    "up": fwire.money(fwire.unrealized(pos, mark)),
                    "mt": "cross",
                    "iw": "0",
                    "ps": "BOTH",
                }
            )
        payloads.append(
            {
                "e": "ACCOUNT_UPDATE",
                "E": at,
                "T": at,
                "a": {
                    "m": "ORDER",
                    "B": [{"a": spec.quote, "wb": wallet, "cw": wallet, "bc": "0"}],
                    "P": positions,
                },
            }
        )
    return payloads
