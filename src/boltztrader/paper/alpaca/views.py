"""The JSON objects of the Trading API: order, account, position, asset, clock and calendar.

Every decimal is a string (alpaca-py rejects numbers in several string fields); timestamps are
RFC 3339. Field sets follow the reference's samples; the PDT fields removed on 2026-07-06 are left out.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from boltztrader.paper.alpaca.catalogue import CURRENCY, Asset
from boltztrader.paper.alpaca.records import AlpacaOrder
from boltztrader.paper.alpaca.wire import num, opt_num, opt_ts, ts, ts_et, ts_et_minute
from boltztrader.paper.engine import Engine
from boltztrader.paper.hours import ET
from boltztrader.paper.model import ZERO, Position, State
from boltztrader.paper.venue import PaperAccount

PRICE_PLACES = Decimal("0.000000001")


def order_json(order: AlpacaOrder, *, status: str | None = None, state: State | None = None,
               filled_qty: Decimal | None = None, filled_quote: Decimal | None = None,
               updated_at: datetime | None = None) -> dict[str, Any]:
    """An order as Alpaca sends it; keyword arguments give a snapshot (POST reply, stream event)."""
    engine = order.engine
    if state is None and engine is not None:
        state = engine.state
    if filled_qty is None:
        filled_qty = engine.filled_quantity if engine is not None else ZERO
    if filled_quote is None:
        filled_quote = engine.filled_quote if engine is not None else ZERO
    status = status or order.status_for(state if engine is not None else None)
    final_at = engine.final_at if engine is not None else None
    if updated_at is None:
        updated_at = order.updated_at if engine is None else max(order.updated_at, engine.updated_at)
    spec = order.spec
    return {
        "id": order.id,
        "client_order_id": order.client_order_id,
        "created_at": ts(order.submitted_at),
        "updated_at": ts(updated_at),
        "submitted_at": ts(order.submitted_at),
        "filled_at": opt_ts(final_at) if status == "filled" else None,
        "expired_at": opt_ts(final_at or updated_at) if status == "expired" else None,
        "canceled_at": opt_ts(order.canceled_at or final_at) if status == "canceled" else None,
        "failed_at": opt_ts(final_at) if status == "rejected" else None,
        "replaced_at": opt_ts(order.replaced_at) if status == "replaced" else None,
        "replaced_by": order.replaced_by if status == "replaced" else None,
        "replaces": order.replaces,
        "asset_id": order.asset_id,
        "symbol": spec.symbol,
        "asset_class": "us_equity",
        "notional": opt_num(spec.notional),
        "qty": opt_num(spec.qty),
        "filled_qty": num(filled_qty),
        "filled_avg_price": num((filled_quote / filled_qty).quantize(PRICE_PLACES)) if filled_qty else None,
        "order_class": "simple",
        "order_type": spec.type,
        "type": spec.type,
        "side": spec.side,
        "position_intent": order.position_intent,
        "time_in_force": spec.time_in_force,
        "limit_price": opt_num(spec.limit_price),
        "stop_price": opt_num(spec.stop_price),
        "status": status,
        "extended_hours": spec.extended_hours,
        "legs": None,
        "trail_percent": None,
        "trail_price": None,
        "hwm": None,
        "subtag": None,
        "source": None,
        "expires_at": None,
    }


def account_json(account: PaperAccount, engine: Engine, number: str) -> dict[str, Any]:
    """``GET /v2/account`` for a cash (multiplier 1) account: buying power is the unreserved cash."""
    state = engine.account(account.account_id)
    balance = state.balances.get(CURRENCY)
    cash = balance.total if balance is not None else ZERO
    free = balance.free if balance is not None else ZERO
    long_value = short_value = ZERO
    for symbol, position in state.positions.items():
        if position.quantity:
            value = position.quantity * engine.quote(symbol).last
            if value > 0:
                long_value += value
            else:
                short_value += value
    equity = cash + long_value + short_value
    last_equity = account.extra.get("last_equity", cash)
    return {
        "id": account.extra["alpaca_id"],
        "admin_configurations": {},
        "user_configurations": None,
        "account_number": number,
        "status": "ACTIVE",
        "crypto_status": "ACTIVE",
        "options_approved_level": 0,
        "options_trading_level": 0,
        "currency": CURRENCY,
        "buying_power": num(free),
        "regt_buying_power": num(free),
        "non_marginable_buying_power": num(free),
        "options_buying_power": num(free),
        "effective_buying_power": num(free),
        "accrued_fees": "0",
        "pending_transfer_in": "0",
        "pending_transfer_out": "0",
        "cash": num(cash),
        "trading_blocked": False,
        "transfers_blocked": False,
        "account_blocked": False,
        "created_at": ts(account.created_at),
        "trade_suspended_by_user": False,
        "multiplier": "1",
        "shorting_enabled": False,
        "equity": num(equity),
        "last_equity": num(last_equity),
        "long_market_value": num(long_value),
        "short_market_value": num(short_value),
        "position_market_value": num(long_value - short_value),
        "initial_margin": "0",
        "maintenance_margin": "0",
        "last_maintenance_margin": "0",
        "sma": "0",
        "portfolio_value": num(equity),
        "balance_asof": (account.created_at.astimezone(ET).date() - timedelta(days=1)).isoformat(),
        "crypto_tier": 0,
        "intraday_adjustments": "0",
        "pending_reg_taf_fees": "0",
    }


def position_json(asset: Asset, position: Position, current: Decimal, held: Decimal) -> dict[str, Any]:
    qty = position.quantity
    cost_basis = qty * position.average_price
    market_value = qty * current
    pl = market_value - cost_basis
    plpc = pl / abs(cost_basis) if cost_basis else ZERO
    change = (current - asset.start_price) / asset.start_price
    intraday_pl = qty * (current - asset.start_price)
    intraday_base = abs(qty * asset.start_price)
    intraday = min(pl, intraday_pl, key=abs)  # a position opened today: its whole P&L is today's
    intraday_pc = intraday / intraday_base if intraday_base else ZERO
    return {
        "asset_id": asset.asset_id,
        "symbol": asset.symbol,
        "exchange": asset.exchange,
        "asset_class": "us_equity",
        "asset_marginable": True,
        "qty": num(qty),
        "avg_entry_price": num(position.average_price.quantize(PRICE_PLACES)),
        "side": "long" if qty > 0 else "short",
        "market_value": num(market_value),
        "cost_basis": num(cost_basis.quantize(PRICE_PLACES)),
        "unrealized_pl": num(pl.quantize(PRICE_PLACES)),
        "unrealized_plpc": num(plpc.quantize(PRICE_PLACES)),
        "unrealized_intraday_pl": num(intraday.quantize(PRICE_PLACES)),
        "unrealized_intraday_plpc": num(intraday_pc.quantize(PRICE_PLACES)),
        "current_price": num(current),
        "lastday_price": num(asset.start_price),
        "change_today": num(change.quantize(PRICE_PLACES)),
        "qty_available": num(qty - held if qty > 0 else qty),
    }


def asset_json(asset: Asset) -> dict[str, Any]:
    return {
        "id": asset.asset_id,
        "class": "us_equity",
        "exchange": asset.exchange,
        "symbol": asset.symbol,
        "name": asset.name,
        "status": "active",
        "tradable": True,
        "marginable": True,
        "maintenance_margin_requirement": 30,
        "margin_requirement_long": "30",
        "margin_requirement_short": "100",
        "shortable": True,
        "easy_to_borrow": True,
        "fractionable": True,
        "attributes": ["fractional_eh_enabled", "has_options"],
    }


def _sessions(day: date) -> tuple[datetime, datetime]:
    return (datetime.combine(day, time(9, 30), ET), datetime.combine(day, time(16, 0), ET))


def _trading_day(day: date) -> bool:
    return day.weekday() < 5


def clock_json(now: datetime, real_hours: bool, is_open: bool) -> dict[str, Any]:
    """``GET /v2/clock``; ``is_open`` covers the regular session only. Holidays are not modelled."""
    local = now.astimezone(ET)
    day = local.date()
    next_open = next_close = None
    for offset in range(0, 10):
        candidate = day + timedelta(days=offset)
        if not _trading_day(candidate):
            continue
        opens, closes = _sessions(candidate)
        if next_close is None and closes > local:
            next_close = closes
        if next_open is None and opens > local:
            next_open = opens
        if next_open is not None and next_close is not None:
            break
    assert next_open is not None
    assert next_close is not None
    return {"timestamp": ts_et(now), "is_open": is_open if real_hours else True,
            "next_open": ts_et_minute(next_open), "next_close": ts_et_minute(next_close)}


def calendar_json(start: date, end: date) -> list[dict[str, str]]:
    """Weekdays between ``start`` and ``end`` (inclusive) with the regular and extended sessions."""
    days: list[dict[str, str]] = []
    day = start
    while day <= end and len(days) < 1000:
        if _trading_day(day):
            days.append({"date": day.isoformat(), "open": "09:30", "close": "16:00",
                         "session_open": "0400", "session_close": "2000",
                         "settlement_date": _settlement(day).isoformat()})
        day += timedelta(days=1)
    return days


def _settlement(day: date) -> date:
    settle = day + timedelta(days=1)
    while not _trading_day(settle):
        settle += timedelta(days=1)
    return settle
