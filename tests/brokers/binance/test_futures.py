"""The USD-M futures mode against the paper Binance: leverage, reduce-only, positions, margin errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from boltztrader.brokers.binance import BinanceBroker
from boltztrader.domain.enums import Market, OrderType
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import PositionSide
from boltztrader.errors import ConfigError, DuplicateOrder, InsufficientFunds, InvalidOrder

from .conftest import SYMBOL, Paper, cid, futures_order

D = Decimal


def futures(paper: Paper, **kwargs: object) -> BinanceBroker:
    return paper.broker(market=Market.CRYPTO_FUTURES, **kwargs)


async def test_futures_capabilities_and_rules(paper: Paper) -> None:
    """Futures declare reduce-only and no notional orders; rules come from /fapi exchangeInfo."""
    broker = futures(paper)
    assert broker.capabilities.reduce_only
    assert not broker.capabilities.notional_orders
    assert broker.capabilities.markets == frozenset({Market.CRYPTO_FUTURES})
    inst = await broker.instrument_rules(SYMBOL)
    assert inst.market is Market.CRYPTO_FUTURES
    assert (inst.tick_size, inst.step_size, inst.min_notional) == (D("0.1"), D("0.001"), D(100))


async def test_set_leverage_is_confirmed(paper: Paper) -> None:
    """set_leverage returns the leverage Binance confirmed; an invalid one is InvalidOrder (-4028)."""
    broker = futures(paper)
    assert await broker.set_leverage(SYMBOL, 10) == 10
    with pytest.raises(InvalidOrder) as caught:
        await broker.set_leverage(SYMBOL, 500)
    assert caught.value.code == -4028


async def test_set_leverage_on_spot_is_a_config_error(paper: Paper) -> None:
    """Leverage is a futures notion: asking a spot adapter is a ConfigError, nothing is sent."""
    with pytest.raises(ConfigError):
        await paper.broker().set_leverage(SYMBOL, 5)


async def test_market_buy_opens_a_position_and_reduce_only_closes_it(paper: Paper) -> None:
    """A market buy opens a long; a reduce-only sell flattens it; positions and balance follow."""
    broker = futures(paper)
    before = await broker.get_balance()
    assert before.currency == "USDT"
    assert before.cash == D(100000)
    ack = await broker.place_order(futures_order(cid()))
    assert ack.status is OrderStatus.FILLED
    positions = await broker.get_positions()
    held = [(p.symbol, p.quantity, p.market) for p in positions]
    assert held == [(SYMBOL, D("0.01"), Market.CRYPTO_FUTURES)]
    assert positions[0].average_price is not None
    during = await broker.get_balance()
    assert during.buying_power < before.buying_power  # margin is in use
    assert "unrealized_pnl" in during.margins
    await broker.place_order(futures_order(cid(), "sell", reduce_only=True))
    assert await broker.get_positions() == []


async def test_reduce_only_without_a_position_is_invalid(paper: Paper) -> None:
    """A reduce-only order that would open a position is refused (-2022) as InvalidOrder."""
    with pytest.raises(InvalidOrder) as caught:
        await futures(paper).place_order(futures_order(cid(), "sell", reduce_only=True))
    assert caught.value.code == -2022


async def test_hedge_position_side_in_one_way_mode_is_invalid(paper: Paper) -> None:
    """positionSide LONG in one-way mode is refused (-4061) as InvalidOrder."""
    with pytest.raises(InvalidOrder) as caught:
        await futures(paper).place_order(futures_order(cid(), position_side=PositionSide.LONG))
    assert caught.value.code == -4061


async def test_futures_margin_shortfall_is_insufficient_funds(paper: Paper) -> None:
    """-2019 "Margin is insufficient." is InsufficientFunds."""
    poor = paper.new_account({"USDT": "10", "F:USDT": "1"})
    broker = futures(paper, key=poor["api_key"], secret=poor["api_secret"])
    with pytest.raises(InsufficientFunds) as caught:
        await broker.place_order(futures_order(cid(), quantity=D("0.1")))
    assert caught.value.code == -2019


async def test_futures_duplicate_client_id_is_duplicate_order(paper: Paper) -> None:
    """Reusing an open order's client id is DuplicateOrder (-4116)."""
    broker = futures(paper)
    order = futures_order(cid(), order_type=OrderType.LIMIT, limit_price=D("50000.0"))
    ack = await broker.place_order(order)
    assert ack.status is OrderStatus.OPEN
    with pytest.raises(DuplicateOrder) as caught:
        await broker.place_order(order)
    assert caught.value.code == -4116


async def test_futures_lookups_cancel_and_open_orders(paper: Paper) -> None:
    """A resting futures order is found by both ids, listed open, and cancelled by client id."""
    broker = futures(paper)
    client_id = cid("f:x/1")
    ack = await broker.place_order(futures_order(client_id, order_type=OrderType.LIMIT,
                                                 limit_price=D("50000.0")))
    by_client = await broker.get_order(SYMBOL, client_order_id=client_id)
    assert by_client.broker_order_id == ack.broker_order_id
    assert by_client.client_order_id == client_id  # ':' and '/' survived the percent-encoding
    assert [o.broker_order_id for o in await broker.list_open_orders(SYMBOL)] == [ack.broker_order_id]
    cancelled = await broker.cancel_order(SYMBOL, client_order_id=client_id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert await broker.list_open_orders() == []


async def test_futures_tick_failure_is_invalid_order(paper: Paper) -> None:
    """A futures price off the 0.1 tick is refused (-4014) as InvalidOrder."""
    with pytest.raises(InvalidOrder) as caught:
        await futures(paper).place_order(futures_order(cid(), order_type=OrderType.LIMIT,
                                                       limit_price=D("50000.05")))
    assert caught.value.code in (-4014, -1111)


async def test_futures_rate_budgets_use_the_minute_order_window(paper: Paper) -> None:
    """Futures order counts come from X-MBX-ORDER-COUNT-10S and -1M."""
    broker = futures(paper)
    await broker.place_order(futures_order(cid(), order_type=OrderType.LIMIT, limit_price=D("50000.0")))
    budgets = {b.name: b for b in broker.rate_budgets()}
    assert (budgets["orders_1m"].used, budgets["orders_1m"].window_seconds) == (1, 60)
    assert budgets["request_weight"].limit == 2400


async def test_futures_quote(paper: Paper) -> None:
    """The futures quote has bid <= last <= ask and a server time."""
    quote = await futures(paper).get_quote(SYMBOL)
    assert quote.bid is not None
    assert quote.ask is not None
    assert quote.bid <= quote.last <= quote.ask
