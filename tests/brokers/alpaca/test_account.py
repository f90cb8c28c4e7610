"""Account, positions, quotes, instrument rules, rate budgets and market hours through the adapter."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.enums import Market, TimeInForce
from boltztrader.domain.order_states import OrderStatus
from boltztrader.errors import InvalidOrder, MarketClosed, RateLimited
from boltztrader.paper.venue import VenueConfig

from .conftest import SYMBOL, Paper, admin, market


def cid() -> str:
    return "bz" + uuid.uuid4().hex[:30]


async def test_balance_maps_cash_buying_power_and_equity(alpaca_paper: Paper) -> None:
    """A fresh $100,000 account reports USD cash, buying power and equity of 100000."""
    balance = await alpaca_paper.broker().get_balance()
    assert balance.currency == "USD"
    assert (balance.cash, balance.buying_power, balance.equity) == (Decimal(100000),) * 3


async def test_positions_follow_a_fill(alpaca_paper: Paper) -> None:
    """After buying 3 shares the position is +3 at the fill price, on the US market; cash fell by the cost."""
    broker = alpaca_paper.broker()
    assert await broker.get_positions() == []
    client_id = cid()
    await broker.place_order(market(client_id, "3"))
    for _ in range(100):
        report = await broker.get_order(SYMBOL, client_order_id=client_id)
        if report.status is OrderStatus.FILLED:
            break
        await asyncio.sleep(0.05)
    [position] = await broker.get_positions()
    assert (position.symbol, position.quantity, position.market) == (SYMBOL, Decimal(3), Market.US)
    assert position.average_price == report.average_price
    assert position.unrealized_pnl is not None
    balance = await broker.get_balance()
    assert report.average_price is not None
    assert balance.cash == Decimal(100000) - 3 * report.average_price


async def test_quote_comes_from_the_data_api(alpaca_paper: Paper) -> None:
    """The quote's last is the paper price, with a bid below and an ask above, and a recent time."""
    alpaca_paper.set_price(SYMBOL, "200.00")
    quote = await alpaca_paper.broker().get_quote(SYMBOL)
    assert quote.symbol == SYMBOL
    assert quote.last == Decimal("200.00")
    assert quote.bid is not None
    assert quote.ask is not None
    assert quote.bid <= quote.last <= quote.ask
    assert abs((datetime.now(UTC) - quote.time).total_seconds()) < 60


async def test_quote_for_an_unknown_symbol_is_invalid(alpaca_paper: Paper) -> None:
    """The data API's 404 for an unknown symbol is InvalidOrder (not OrderNotFound)."""
    with pytest.raises(InvalidOrder):
        await alpaca_paper.broker().get_quote("ZZZZ")


async def test_instrument_rules_for_a_fractionable_stock(alpaca_paper: Paper) -> None:
    """AAPL: a cent tick, nine-decimal quantity step, fractionable, $1 minimum notional, USD."""
    rules = await alpaca_paper.broker().instrument_rules(SYMBOL)
    assert rules.key == (BrokerName.ALPACA, Market.US, SYMBOL)
    assert rules.currency == "USD"
    assert rules.tick_size == Decimal("0.01")
    assert rules.step_size == Decimal("0.000000001")
    assert rules.fractionable
    assert rules.min_notional == Decimal(1)


async def test_a_sub_dollar_price_gets_the_sub_penny_tick(alpaca_paper: Paper) -> None:
    """Below $1 the tick is $0.0001 (Alpaca's sub-penny rule)."""
    alpaca_paper.set_price("NVDA", "0.50")
    rules = await alpaca_paper.broker().instrument_rules("NVDA")
    assert rules.tick_size == Decimal("0.0001")


async def test_instrument_rules_are_cached(alpaca_paper: Paper) -> None:
    """A second look-up is served from the cache: it works even after the key is revoked."""
    broker = alpaca_paper.broker()
    first = await broker.instrument_rules(SYMBOL)
    admin(alpaca_paper.paper, "POST", f"/_paper/accounts/{alpaca_paper.account['account_id']}/revoke")
    assert await broker.instrument_rules(SYMBOL) is first


async def test_instrument_rules_for_an_unknown_symbol_are_invalid(alpaca_paper: Paper) -> None:
    """An unknown asset (404) raises InvalidOrder."""
    with pytest.raises(InvalidOrder):
        await alpaca_paper.broker().instrument_rules("ZZZZ")


async def test_rate_budget_tracks_the_ratelimit_headers(alpaca_paper: Paper) -> None:
    """No budget before any call; after three calls, 3 of 200 used in a 60 s window."""
    broker = alpaca_paper.broker()
    assert broker.rate_budgets() == []
    for _ in range(3):
        await broker.get_balance()
    [budget] = broker.rate_budgets()
    assert (budget.used, budget.limit, budget.window_seconds, budget.remaining) == (3, 200, 60, 197)
    assert budget.used_fraction == Decimal(3) / Decimal(200)


async def test_exceeding_the_rate_limit_is_rate_limited_until_the_reset(alpaca_paper: Paper) -> None:
    """Past the per-minute limit, Alpaca's 429 raises RateLimited waiting until X-Ratelimit-Reset."""
    admin(alpaca_paper.paper, "PUT", "/_paper/rate_limit", json={"per_minute": 2})
    broker = alpaca_paper.broker()
    await broker.get_balance()
    await broker.get_balance()
    with pytest.raises(RateLimited) as caught:
        await broker.get_balance()
    assert caught.value.retry_after is not None
    assert Decimal(50) <= caught.value.retry_after <= Decimal(61)  # the window began seconds ago
    [budget] = broker.rate_budgets()
    assert (budget.used, budget.limit) == (2, 2)


async def test_a_closed_market_queues_a_market_order_instead_of_refusing_it(
        start_paper: Callable[[VenueConfig], Paper]) -> None:
    """On a weekend Alpaca accepts a market DAY order as 'accepted' (open), so MarketClosed is not raised."""
    world = start_paper(VenueConfig(real_hours=True, tick_seconds=0))
    saturday = datetime(2026, 7, 25, 16, 0, tzinfo=UTC)  # noon in New York, a Saturday
    world.paper.call(lambda: setattr(world.paper.venue, "clock", lambda: saturday))
    broker = world.broker()
    try:
        ack = await broker.place_order(market(cid()))  # no MarketClosed: queued for Monday's open
        assert (ack.status, ack.raw_status) == (OrderStatus.OPEN, "accepted")
        [queued] = await broker.list_open_orders(SYMBOL)
        assert queued.raw_status == "accepted"
        assert queued.filled_quantity == 0
    finally:
        await broker.close()


async def test_an_opg_order_outside_its_window_is_market_closed(
        start_paper: Callable[[VenueConfig], Paper]) -> None:
    """The one closed-hours refusal Alpaca has for simple orders: OPG after 09:28 ET is MarketClosed."""
    world = start_paper(VenueConfig(real_hours=True, tick_seconds=0))
    midday = datetime(2026, 7, 22, 16, 0, tzinfo=UTC)  # Wednesday, noon in New York
    world.paper.call(lambda: setattr(world.paper.venue, "clock", lambda: midday))
    broker = world.broker()
    try:
        with pytest.raises(MarketClosed):
            await broker.place_order(market(cid(), time_in_force=TimeInForce.OPG))
    finally:
        await broker.close()


async def test_a_separate_data_host_has_its_own_budget(alpaca_paper: Paper) -> None:
    """With the data API on another origin, quotes go there and its budget is reported on its own."""
    data_origin = alpaca_paper.url.replace("127.0.0.1", "localhost")
    broker = alpaca_paper.broker(data_url=data_origin)
    await broker.get_balance()
    await broker.get_quote(SYMBOL)
    budgets = {budget.name: budget for budget in broker.rate_budgets()}
    assert set(budgets) == {"requests", "data_requests"}
    assert budgets["data_requests"].limit == 200
