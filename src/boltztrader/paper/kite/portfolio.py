"""Positions ({net, day}), holdings, margins: Kite's portfolio and user views of a paper account.

Positions are kept per (symbol, product) from fills. The paper broker has no overnight carry, so
``net`` and ``day`` hold the same rows (``overnight_quantity`` 0). Holdings show today's CNC buys
the way Kite does on the trade date: as ``t1_quantity`` (settlement pending), ``quantity`` 0.
Margins: the equity segment's ``net`` is the cash free for new orders; ``utilised.debits`` is the
opening balance minus that (money in open orders, spent on buys and charges, less sale proceeds).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boltztrader.paper.kite.book import DayPosition, KiteAccount
from boltztrader.paper.kite.catalogue import BY_SYMBOL, CURRENCY
from boltztrader.paper.kite.wire import num
from boltztrader.paper.model import ZERO
from boltztrader.paper.venue import Venue


def _avg(value: Decimal, quantity: Decimal) -> Decimal:
    return ZERO if not quantity else value / quantity


def position_json(position: DayPosition, last: Decimal) -> dict[str, Any]:
    listing = BY_SYMBOL[position.tradingsymbol]
    quantity = position.quantity
    buy_price = _avg(position.buy_value, position.buy_quantity)
    sell_price = _avg(position.sell_value, position.sell_quantity)
    average = buy_price if quantity > 0 else sell_price if quantity < 0 else ZERO
    value = position.sell_value - position.buy_value
    pnl = value + quantity * last
    closed = min(position.buy_quantity, position.sell_quantity)
    realised = (sell_price - buy_price) * closed if closed else ZERO
    return {
        "tradingsymbol": position.tradingsymbol,
        "exchange": "NSE",
        "instrument_token": listing.instrument_token,
        "product": position.product,
        "quantity": num(quantity),
        "overnight_quantity": 0,
        "multiplier": 1,
        "average_price": num(average),
        "close_price": num(listing.start_price),
        "last_price": num(last),
        "value": num(value),
        "pnl": num(pnl),
        "m2m": num(pnl),
        "unrealised": num(pnl - realised),
        "realised": num(realised),
        "buy_quantity": num(position.buy_quantity),
        "buy_price": num(buy_price),
        "buy_value": num(position.buy_value),
        "buy_m2m": num(position.buy_value),
        "sell_quantity": num(position.sell_quantity),
        "sell_price": num(sell_price),
        "sell_value": num(position.sell_value),
        "sell_m2m": num(position.sell_value),
        "day_buy_quantity": num(position.buy_quantity),
        "day_buy_price": num(buy_price),
        "day_buy_value": num(position.buy_value),
        "day_sell_quantity": num(position.sell_quantity),
        "day_sell_price": num(sell_price),
        "day_sell_value": num(position.sell_value),
    }


def positions(venue: Venue, state: KiteAccount) -> dict[str, list[dict[str, Any]]]:
    prices = venue.market.prices
    rows = [position_json(p, prices[p.tradingsymbol]) for p in state.positions.values()]
    return {"net": rows, "day": [dict(row) for row in rows]}


def holdings(venue: Venue, state: KiteAccount) -> list[dict[str, Any]]:
    rows = []
    for position in state.positions.values():
        if position.product != "CNC" or position.quantity <= 0:
            continue
        listing = BY_SYMBOL[position.tradingsymbol]
        last = venue.market.prices[position.tradingsymbol]
        quantity = position.quantity
        average = _avg(position.buy_value, position.buy_quantity)
        change = last - listing.start_price
        rows.append({
            "tradingsymbol": listing.symbol, "exchange": "NSE", "instrument_token": listing.instrument_token,
            "isin": listing.isin, "product": "CNC", "price": 0, "quantity": 0, "used_quantity": 0,
            "t1_quantity": num(quantity), "realised_quantity": 0, "authorised_quantity": 0,
            "authorised_date": None, "authorisation": {}, "opening_quantity": 0, "short_quantity": 0,
            "collateral_quantity": 0, "collateral_type": "", "discrepancy": False,
            "average_price": num(average), "last_price": num(last), "close_price": num(listing.start_price),
            "pnl": num((last - average) * quantity), "day_change": num(change),
            "day_change_percentage": num(change / listing.start_price * 100),
            "mtf": {"quantity": 0, "used_quantity": 0, "average_price": 0, "value": 0, "initial_margin": 0},
        })
    return rows


def _segment(enabled: bool, opening: Decimal, net: Decimal, realised: Decimal) -> dict[str, Any]:
    return {
        "enabled": enabled,
        "net": num(net),
        "available": {"adhoc_margin": 0, "cash": num(opening), "opening_balance": num(opening),
                      "live_balance": num(net), "collateral": 0, "intraday_payin": 0},
        "utilised": {"debits": num(opening - net), "exposure": 0, "m2m_realised": num(realised),
                     "m2m_unrealised": 0, "option_premium": 0, "payout": 0, "span": 0, "holding_sales": 0,
                     "turnover": 0, "liquid_collateral": 0, "stock_collateral": 0, "delivery": 0},
    }


def margins(venue: Venue, account_id: str, state: KiteAccount) -> dict[str, Any]:
    net = venue.engine.buying_power(account_id, CURRENCY)
    realised = ZERO
    for position in state.positions.values():
        closed = min(position.buy_quantity, position.sell_quantity)
        if closed:
            realised += (_avg(position.sell_value, position.sell_quantity)
                         - _avg(position.buy_value, position.buy_quantity)) * closed
    return {"equity": _segment(True, state.opening_balance, net, realised),
            "commodity": _segment(False, ZERO, ZERO, ZERO)}
