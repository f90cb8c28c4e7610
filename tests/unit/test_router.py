"""Routing: a signal reaches the named account, the named user's account, or every subscriber."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from boltztrader.domain.enums import AccountMode, Broker, ExecutionMode, Market
from boltztrader.domain.signals import InvalidSignal, Signal
from boltztrader.domain.targets import AccountRef, Sizing, Subscription
from boltztrader.router import Router, broker_for

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
ROUTER = Router(default_broker=Broker.BINANCE)


def _account(account_id: str, user_id: str, broker: Broker, label: str = "main") -> AccountRef:
    return AccountRef(account_id, user_id, broker, AccountMode.PAPER, ExecutionMode.AUTOMATED, label)


ACCOUNTS = [
    _account("k1", "alice", Broker.ZERODHA),
    _account("b1", "alice", Broker.BINANCE),
    _account("a1", "bob", Broker.ALPACA),
    _account("b2", "bob", Broker.BINANCE, label="b"),
    _account("b3", "bob", Broker.BINANCE, label="a"),
]


def _signal(**overrides: Any) -> Signal:
    fields: dict[str, Any] = {"id": "s1", "model_id": "m1", "symbol": "BTCUSDT", "market": "crypto",
                              "side": "buy", "confidence": "0.9", "created_at": NOW, "quantity": "0.01"}
    fields.update(overrides)
    return Signal.create(**fields)


@pytest.mark.parametrize(("market", "broker"), [
    (Market.NSE, Broker.ZERODHA), (Market.BSE, Broker.ZERODHA), (Market.US, Broker.ALPACA),
    (Market.CRYPTO, Broker.BINANCE), (Market.CRYPTO_FUTURES, Broker.BINANCE),
])
def test_markets_route_to_their_broker(market: Market, broker: Broker) -> None:
    """NSE/BSE go to Zerodha, US to Alpaca, crypto to Binance, whatever the default."""
    assert broker_for(market, Broker.ALPACA if broker is not Broker.ALPACA else Broker.BINANCE) is broker


def test_a_named_account_gets_the_signal_alone() -> None:
    """A signal naming an account targets that account only, with the signal's own size."""
    targets = ROUTER.targets(_signal(account_id="b1"), ACCOUNTS)
    assert [(t.account.account_id, t.sizing) for t in targets] == [("b1", Sizing.SIGNAL)]


def test_unknown_or_mismatched_account_is_an_invalid_signal() -> None:
    """An unknown account, or one at another broker than the market's, is refused with a reason."""
    with pytest.raises(InvalidSignal, match="unknown account"):
        ROUTER.targets(_signal(account_id="nope"), ACCOUNTS)
    with pytest.raises(InvalidSignal, match="trades at binance"):
        ROUTER.targets(_signal(account_id="k1"), ACCOUNTS)


def test_a_named_user_gets_their_account_for_the_market() -> None:
    """A signal naming a user goes to that user's account at the market's broker (lowest label first)."""
    assert [t.account.account_id for t in ROUTER.targets(_signal(user_id="bob"), ACCOUNTS)] == ["b3"]
    with pytest.raises(InvalidSignal, match="no binance account"):
        ROUTER.targets(_signal(user_id="carol"), ACCOUNTS)


def test_a_model_signal_fans_out_to_subscribers_with_their_sizing() -> None:
    """Every subscriber with an account for the market gets one target with their own sizing rule."""
    subs = [
        Subscription("alice", "m1", Sizing.FIXED_NOTIONAL, Decimal("100")),
        Subscription("bob", "m1", Sizing.PERCENT_EQUITY, Decimal("2"), account_id="b2"),
        Subscription("carol", "m1", Sizing.SIGNAL),  # no account: skipped
        Subscription("alice", "m2", Sizing.SIGNAL),  # another model: skipped
    ]
    targets = ROUTER.targets(_signal(), ACCOUNTS, subs)
    assert [(t.account.account_id, t.sizing, t.sizing_value) for t in targets] == [
        ("b1", Sizing.FIXED_NOTIONAL, Decimal("100")), ("b2", Sizing.PERCENT_EQUITY, Decimal("2"))]


def test_an_nse_model_signal_skips_subscribers_pinned_to_other_markets() -> None:
    """A subscription pinned to a Binance account does not receive an NSE signal."""
    subs = [Subscription("alice", "m1", Sizing.SIGNAL),
            Subscription("bob", "m1", Sizing.SIGNAL, account_id="b2")]
    targets = ROUTER.targets(_signal(symbol="INFY", market="nse", quantity="1"), ACCOUNTS, subs)
    assert [t.account.account_id for t in targets] == ["k1"]


def test_sizing_rules_need_a_value() -> None:
    """A fixed or percent sizing without a positive value, or above 100 percent, is refused."""
    with pytest.raises(ValueError, match="positive sizing_value"):
        Subscription("u", "m", Sizing.FIXED_QUANTITY)
    with pytest.raises(ValueError, match="at most 100"):
        Subscription("u", "m", Sizing.PERCENT_EQUITY, Decimal("150"))
