"""Builders of risk-guard inputs: a valid Binance limit buy against a calm account, changed per test."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from boltztrader.domain.enums import Broker, Market, OrderType, Side
from boltztrader.domain.instruments import Instrument
from boltztrader.domain.reports import BalanceReport, QuoteReport
from boltztrader.risk.context import AccountState, MarketSession, OrderContext
from boltztrader.risk.limits import Limits
from boltztrader.risk.reasons import Rule
from boltztrader.risk.verdict import Verdict
from tests.unit.instruments import BTC

D = Decimal
NOW = datetime(2025, 1, 15, 15, 0, tzinfo=UTC)  # a Wednesday: 10:00 in New York, 20:30 in India
LIMITS = Limits()

RELIANCE = Instrument(
    broker=Broker.ZERODHA,
    market=Market.NSE,
    symbol="RELIANCE",
    currency="INR",
    tick_size=D("0.05"),
    step_size=D("1"),
    fractionable=False,
)
AAPL = Instrument(
    broker=Broker.ALPACA,
    market=Market.US,
    symbol="AAPL",
    currency="USD",
    tick_size=D("0.01"),
    step_size=D("0.000000001"),
)


def quote(symbol: str = "BTCUSDT", last: str = "50000", age: timedelta = timedelta(0)) -> QuoteReport:
    return QuoteReport(symbol=symbol, last=D(last), bid=None, ask=None, time=NOW - age)


def ctx(**changes: Any) -> OrderContext:
    base = OrderContext(
        account_id="acc-1",
        user_id="user-1",
        broker=Broker.BINANCE,
        market=Market.CRYPTO,
        symbol="BTCUSDT",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        signal_id="sig-1",
        signal_created_at=NOW - timedelta(seconds=1),
        model_id="model-1",
        confidence=D("0.9"),
        quantity=D("0.01"),
        limit_price=D("50000"),
        instrument=BTC,
        quote=quote(),
    )
    return replace(base, **changes)


def kite_ctx(**changes: Any) -> OrderContext:
    base = ctx(
        broker=Broker.ZERODHA,
        market=Market.NSE,
        symbol="RELIANCE",
        quantity=D("10"),
        limit_price=D("1000"),
        instrument=RELIANCE,
        quote=quote("RELIANCE", "1000"),
        algo_tag="bz0123456789abcdef01",
    )
    return replace(base, **changes)


def alpaca_ctx(**changes: Any) -> OrderContext:
    base = ctx(
        broker=Broker.ALPACA,
        market=Market.US,
        symbol="AAPL",
        quantity=D("10"),
        limit_price=D("200"),
        instrument=AAPL,
        quote=quote("AAPL", "200"),
    )
    return replace(base, **changes)


def balance(buying_power: str = "100000", equity: str | None = None) -> BalanceReport:
    return BalanceReport(
        currency="USDT", cash=D(buying_power), buying_power=D(buying_power), equity=D(equity or buying_power)
    )


def state(**changes: Any) -> AccountState:
    base = AccountState(balance=balance(), start_of_day_equity=D("100000"))
    return replace(base, **changes)


def open_market(**changes: Any) -> AccountState:
    return state(market_session=MarketSession.REGULAR, **changes)


def run(
    check: Any, order: OrderContext | None = None, account: AccountState | None = None, **kw: Any
) -> Verdict:
    verdict: Verdict = check(order or ctx(), account or state(), kw.get("limits", LIMITS), kw.get("now", NOW))
    return verdict


def failed(verdict: Verdict, rule: Rule) -> bool:
    return verdict.rule is rule and not verdict.passed and verdict.reason is rule.reason
