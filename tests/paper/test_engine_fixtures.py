"""Shared instruments and helpers for the paper engine tests (no tests here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from boltztrader.paper.engine import Engine, EngineConfig
from boltztrader.paper.model import AssetClass, Instrument, Kind, OrderRequest, Side, TimeInForce

D = Decimal
T0 = datetime(2024, 1, 2, 9, 15, tzinfo=UTC)
FLAT = EngineConfig(spread_bps=D(0))

BTC = Instrument("BTCUSDT", AssetClass.SPOT, "BTC", "USDT", tick_size=D("0.01"), step_size=D("0.00001"),
                 min_qty=D("0.00001"), max_qty=D("9000"), min_notional=D("5"), min_price=D("0.01"),
                 max_price=D("1000000"), maker_fee=D("0.001"), taker_fee=D("0.001"))
INFY = Instrument("INFY", AssetClass.EQUITY, "INFY", "INR", tick_size=D("0.05"), step_size=D("1"),
                  min_qty=D("1"), max_qty=D("100000"), maker_fee=D("0.0003"), taker_fee=D("0.0003"),
                  exchange="NSE")
AAPL = Instrument("AAPL", AssetClass.EQUITY, "AAPL", "USD", tick_size=D("0.01"), step_size=D("0.000000001"),
                  min_qty=D("0.000000001"), max_qty=D("1000000"), min_notional=D("1"), fractionable=True)
PERP = Instrument("BTCUSDT.P", AssetClass.FUTURES, "BTC", "USDT", tick_size=D("0.1"), step_size=D("0.001"),
                  min_qty=D("0.001"), max_qty=D("1000"), min_notional=D("5"), maker_fee=D("0.0002"),
                  taker_fee=D("0.0005"), max_leverage=125)
ALL = (BTC, INFY, AAPL, PERP)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make(config: EngineConfig = FLAT, **balances: Decimal) -> Engine:
    """An engine over every test instrument with one account ``a`` holding ``balances``."""
    eng = Engine(ALL, config)
    eng.open_account("a", balances)
    return eng


def market(symbol: str, side: Side, qty: str | None = None, *, quote: str | None = None,
           tif: TimeInForce = TimeInForce.GTC, reduce_only: bool = False, cid: str = "") -> OrderRequest:
    return OrderRequest(symbol, side, Kind.MARKET, quantity=None if qty is None else D(qty),
                        quote_quantity=None if quote is None else D(quote), time_in_force=tif,
                        reduce_only=reduce_only, client_order_id=cid)


def limit(symbol: str, side: Side, qty: str, price: str, *, tif: TimeInForce = TimeInForce.GTC,
          reduce_only: bool = False, cid: str = "") -> OrderRequest:
    return OrderRequest(symbol, side, Kind.LIMIT, quantity=D(qty), price=D(price), time_in_force=tif,
                        reduce_only=reduce_only, client_order_id=cid)


def trigger(symbol: str, side: Side, kind: Kind, qty: str, trigger_price: str, price: str | None = None,
            *, tif: TimeInForce = TimeInForce.GTC) -> OrderRequest:
    return OrderRequest(symbol, side, kind, quantity=D(qty), trigger_price=D(trigger_price),
                        price=None if price is None else D(price), time_in_force=tif)
