"""USD-M futures wire shapes: order objects, positions, balances and account totals.

Futures orders carry no ``fills`` and no ``transactTime``; prices use the symbol's ``pricePrecision``
and quantities its ``quantityPrecision``. One-way mode only: every position is ``positionSide`` BOTH.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from boltztrader.paper.binance.catalogue import PERP_SUFFIX, PERPS, PerpSpec
from boltztrader.paper.binance.wire import ms
from boltztrader.paper.model import ZERO, Account, Order, Position, State

FUTURES_STATUS = {
    State.PENDING_TRIGGER: "NEW",
    State.OPEN: "NEW",
    State.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    State.FILLED: "FILLED",
    State.CANCELLED: "CANCELED",
    State.EXPIRED: "EXPIRED",
    State.REJECTED: "REJECTED",
}
ALIAS = "SgsR"  # Binance's accountAlias is an opaque short string


def wire_symbol(engine_symbol: str) -> str:
    return engine_symbol.removesuffix(PERP_SUFFIX)


def spec_of(engine_symbol: str) -> PerpSpec:
    return PERPS[wire_symbol(engine_symbol)]


def price_text(spec: PerpSpec, value: Decimal | None) -> str:
    return f"{value or ZERO:.{spec.price_precision}f}"


def qty_text(spec: PerpSpec, value: Decimal | None) -> str:
    return f"{value or ZERO:.{spec.quantity_precision}f}"


def money(value: Decimal) -> str:
    return f"{value:.8f}"


def futures_order(order: Order, *, with_time: bool = True) -> dict[str, Any]:
    spec = spec_of(order.symbol)
    req = order.request
    wire_type = str(req.tags.get("type", req.kind.value))
    body: dict[str, Any] = {
        "orderId": order.order_id,
        "symbol": spec.symbol,
        "status": FUTURES_STATUS[order.state],
        "clientOrderId": req.client_order_id,
        "price": price_text(spec, req.price),
        "avgPrice": price_text(spec, order.average_price),
        "origQty": qty_text(spec, order.quantity),
        "executedQty": qty_text(spec, order.filled_quantity),
        "cumQty": qty_text(spec, order.filled_quantity),
        "cumQuote": money(order.filled_quote),
        "timeInForce": str(req.tags.get("tif", req.time_in_force.value)),
        "type": wire_type,
        "reduceOnly": req.reduce_only,
        "closePosition": False,
        "side": req.side.value,
        "positionSide": "BOTH",
        "stopPrice": price_text(spec, req.trigger_price),
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": wire_type,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
        "updateTime": ms(order.updated_at),
    }
    if with_time:
        body["time"] = ms(order.created_at)
    return body


# -- positions and margin -------------------------------------------------------------------------------
def unrealized(position: Position, mark: Decimal) -> Decimal:
    return (mark - position.average_price) * position.quantity if position.quantity else ZERO


def position_rows(
    account: Account,
    marks: dict[str, Decimal],
    leverage: dict[str, int],
    now: datetime,
    *,
    symbol: str | None,
    version: int,
) -> list[dict[str, Any]]:
    """``positionRisk`` rows: v2 lists every symbol, v3 only symbols with a position."""
    rows = []
    for spec in PERPS.values():
        if symbol is not None and spec.symbol != symbol:
            continue
        engine_symbol = spec.symbol + PERP_SUFFIX
        pos = account.positions.get(engine_symbol) or Position(engine_symbol)
        if version >= 3 and pos.quantity == 0:
            continue
        mark = marks[engine_symbol]
        notional = pos.quantity * mark
        pnl = unrealized(pos, mark)
        row: dict[str, Any] = {
            "symbol": spec.symbol,
            "positionSide": "BOTH",
            "positionAmt": qty_text(spec, pos.quantity),
            "entryPrice": price_text(spec, pos.average_price),
            "breakEvenPrice": price_text(spec, pos.average_price),
            "markPrice": money(mark),
            "unRealizedProfit": money(pnl),
            "liquidationPrice": "0",
            "isolatedMargin": "0",
            "notional": money(notional),
            "isolatedWallet": "0",
            "updateTime": ms(now),
        }
        if version >= 3:
            row.update(
                {
                    "marginAsset": spec.quote,
                    "initialMargin": money(pos.margin),
                    "maintMargin": money(abs(notional) * Decimal("0.004")),
                    "positionInitialMargin": money(pos.margin),
                    "openOrderInitialMargin": "0",
                    "adl": 0,
                    "bidNotional": "0",
                    "askNotional": "0",
                }
            )
        else:
            row.update(
                {
                    "leverage": str(leverage.get(engine_symbol, 20)),
                    "marginType": "cross",
                    "isAutoAddMargin": "false",
                    "maxNotionalValue": "1000000",
                }
            )
        rows.append(row)
    return rows


def totals(account: Account, marks: dict[str, Decimal], asset: str = "USDT") -> dict[str, Decimal]:
    balance = account.balances.get(asset)
    free = balance.free if balance is not None else ZERO
    wallet = balance.total if balance is not None else ZERO
    position_margin = sum((p.margin for p in account.positions.values()), ZERO)
    pnl = sum((unrealized(p, marks[s]) for s, p in account.positions.items() if s in marks), ZERO)
    order_margin = wallet - free - position_margin
    available = free + min(pnl, ZERO)
    return {
        "wallet": wallet,
        "pnl": pnl,
        "margin_balance": wallet + pnl,
        "position_margin": position_margin,
        "order_margin": order_margin,
        "initial": position_margin + order_margin,
        "available": available,
    }


def balance_rows(account: Account, marks: dict[str, Decimal], now: datetime) -> list[dict[str, Any]]:
    t = totals(account, marks)
    return [
        {
            "accountAlias": ALIAS,
            "asset": "USDT",
            "balance": money(t["wallet"]),
            "crossWalletBalance": money(t["wallet"]),
            "crossUnPnl": money(t["pnl"]),
            "availableBalance": money(t["available"]),
            "maxWithdrawAmount": money(t["available"]),
            "marginAvailable": True,
            "updateTime": ms(now),
        }
    ]


def account_body(
    account: Account, marks: dict[str, Decimal], leverage: dict[str, int], now: datetime, *, version: int
) -> dict[str, Any]:
    t = totals(account, marks)
    body: dict[str, Any] = {
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "updateTime": 0,
        "multiAssetsMargin": False,
        "tradeGroupId": -1,
        "totalInitialMargin": money(t["initial"]),
        "totalMaintMargin": "0.00000000",
        "totalWalletBalance": money(t["wallet"]),
        "totalUnrealizedProfit": money(t["pnl"]),
        "totalMarginBalance": money(t["margin_balance"]),
        "totalPositionInitialMargin": money(t["position_margin"]),
        "totalOpenOrderInitialMargin": money(t["order_margin"]),
        "totalCrossWalletBalance": money(t["wallet"]),
        "totalCrossUnPnl": money(t["pnl"]),
        "availableBalance": money(t["available"]),
        "maxWithdrawAmount": money(t["available"]),
        "assets": [
            {
                "asset": "USDT",
                "walletBalance": money(t["wallet"]),
                "unrealizedProfit": money(t["pnl"]),
                "marginBalance": money(t["margin_balance"]),
                "maintMargin": "0.00000000",
                "initialMargin": money(t["initial"]),
                "positionInitialMargin": money(t["position_margin"]),
                "openOrderInitialMargin": money(t["order_margin"]),
                "crossWalletBalance": money(t["wallet"]),
                "crossUnPnl": money(t["pnl"]),
                "availableBalance": money(t["available"]),
                "maxWithdrawAmount": money(t["available"]),
                "marginAvailable": True,
                "updateTime": ms(now),
            }
        ],
    }
    if version >= 3:
        body["positions"] = [
            {
                k: row[k]
                for k in (
                    "symbol",
                    "positionSide",
                    "positionAmt",
                    "notional",
                    "isolatedWallet",
                    "initialMargin",
                    "maintMargin",
                    "updateTime",
                )
            }
            | {"unrealizedProfit": row["unRealizedProfit"], "isolatedMargin": "0"}
            for row in position_rows(account, marks, leverage, now, symbol=None, version=3)
        ]
    else:
        body["positions"] = [
            {
                "symbol": row["symbol"],
                "initialMargin": "0",
                "maintMargin": "0",
                "unrealizedProfit": row["unRealizedProfit"],
                "positionInitialMargin": "0",
                "openOrderInitialMargin": "0",
                "leverage": row["leverage"],
                "isolated": False,
                "entryPrice": row["entryPrice"],
                "maxNotional": row["maxNotionalValue"],
                "bidNotional": "0",
                "askNotional": "0",
                "positionSide": "BOTH",
                "positionAmt": row["positionAmt"],
                "updateTime": row["updateTime"],
            }
            for row in position_rows(account, marks, leverage, now, symbol=None, version=2)
        ]
    return body
