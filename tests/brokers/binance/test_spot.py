"""The spot adapter against the paper Binance over real sockets: orders, look-ups, rules, money."""

from __future__ import annotations

from decimal import Decimal

import pytest

from boltztrader.brokers.base import Broker
from boltztrader.brokers.binance.errors import TimestampRejected
from boltztrader.domain.enums import OrderType, Side
from boltztrader.domain.order_states import OrderStatus
from boltztrader.errors import (
    BrokerAuthError,
    BrokerUnavailable,
    DuplicateOrder,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
)

from .conftest import QTY, SYMBOL, Paper, cid, spot_order

D = Decimal


async def test_adapter_implements_the_broker_protocol(paper: Paper) -> None:
    """BinanceBroker satisfies the runtime-checkable Broker protocol and declares spot capabilities."""
    broker = paper.broker()
    assert isinstance(broker, Broker)
    assert broker.capabilities.notional_orders
    assert not broker.capabilities.reduce_only
    assert broker.capabilities.duplicate_client_id_rejected == "while_open"


async def test_limit_order_ack_and_lookups_by_both_ids(paper: Paper) -> None:
    """A resting limit order is acknowledged open; get_order by broker id and by client id agree."""
    broker = paper.broker()
    client_id = cid()
    ack = await broker.place_order(spot_order(client_id, order_type=OrderType.LIMIT, limit_price=D("50000")))
    assert (ack.client_order_id, ack.status, ack.raw_status) == (client_id, OrderStatus.OPEN, "NEW")
    by_id = await broker.get_order(SYMBOL, broker_order_id=ack.broker_order_id)
    by_client = await broker.get_order(SYMBOL, client_order_id=client_id)
    assert by_id == by_client
    assert by_id.limit_price == D(50000)
    assert by_id.quantity == QTY
    assert by_id.side is Side.BUY
    assert by_id.order_type is OrderType.LIMIT
    opened = await broker.list_open_orders()
    assert [o.client_order_id for o in opened] == [client_id]


async def test_market_order_ack_is_already_filled(paper: Paper) -> None:
    """With RESULT answers a market order's ack already says filled."""
    ack = await paper.broker().place_order(spot_order(cid()))
    assert ack.status is OrderStatus.FILLED


async def test_notional_market_order_spends_about_the_notional(paper: Paper) -> None:
    """A quoteOrderQty market buy fills for about that much quote currency."""
    broker = paper.broker()
    client_id = cid()
    await broker.place_order(spot_order(client_id, notional=D("100")))
    report = await broker.get_order(SYMBOL, client_order_id=client_id)
    assert report.status is OrderStatus.FILLED
    assert report.average_price is not None
    spent = report.filled_quantity * report.average_price
    assert D("99") <= spent <= D("100")


async def test_cancel_returns_cancelled_with_our_client_id(paper: Paper) -> None:
    """Cancelling by broker id returns the order cancelled, named by our client id (not the cancel's)."""
    broker = paper.broker()
    client_id = cid()
    ack = await broker.place_order(spot_order(client_id, order_type=OrderType.LIMIT, limit_price=D("50000")))
    report = await broker.cancel_order(SYMBOL, broker_order_id=ack.broker_order_id)
    assert report.status is OrderStatus.CANCELLED
    assert report.client_order_id == client_id
    assert await broker.list_open_orders(SYMBOL) == []


async def test_cancel_of_a_filled_order_returns_its_final_report(paper: Paper) -> None:
    """-2011 on cancel is resolved by a look-up: a filled order comes back filled."""
    broker = paper.broker()
    client_id = cid()
    await broker.place_order(spot_order(client_id))
    report = await broker.cancel_order(SYMBOL, client_order_id=client_id)
    assert report.status is OrderStatus.FILLED


async def test_unknown_orders_raise_order_not_found(paper: Paper) -> None:
    """get_order and cancel_order of an id the broker never saw raise OrderNotFound (-2013 / -2011)."""
    broker = paper.broker()
    with pytest.raises(OrderNotFound):
        await broker.get_order(SYMBOL, client_order_id="never-sent")
    with pytest.raises(OrderNotFound):
        await broker.cancel_order(SYMBOL, broker_order_id="999999")


async def test_filter_failures_are_invalid_orders(paper: Paper) -> None:
    """An off-step quantity (-1013 LOT_SIZE) and a too-small notional (-1013 NOTIONAL) are InvalidOrder."""
    broker = paper.broker()
    with pytest.raises(InvalidOrder) as lot:
        await broker.place_order(spot_order(cid(), quantity=D("0.000015")))
    assert (lot.value.code, lot.value.broker_message) == (-1013, "Filter failure: LOT_SIZE")
    with pytest.raises(InvalidOrder) as notional:
        await broker.place_order(spot_order(cid(), quantity=D("0.00001")))
    assert notional.value.broker_message == "Filter failure: NOTIONAL"


async def test_unknown_symbol_is_an_invalid_order(paper: Paper) -> None:
    """-1121 Invalid symbol is InvalidOrder."""
    with pytest.raises(InvalidOrder) as caught:
        await paper.broker().place_order(spot_order(cid(), symbol="NOPEUSDT"))
    assert caught.value.code == -1121


async def test_duplicate_open_client_id_is_duplicate_order(paper: Paper) -> None:
    """A second order with an open order's client id is DuplicateOrder (-2010 "Duplicate order sent.")."""
    broker = paper.broker()
    client_id = cid()
    order = spot_order(client_id, order_type=OrderType.LIMIT, limit_price=D("50000"))
    await broker.place_order(order)
    with pytest.raises(DuplicateOrder) as caught:
        await broker.place_order(order)
    assert caught.value.code == -2010


async def test_insufficient_balance_is_insufficient_funds(paper: Paper) -> None:
    """A buy the account cannot pay for is InsufficientFunds (-2010 insufficient balance)."""
    poor = paper.new_account({"USDT": "1"})
    broker = paper.broker(key=poor["api_key"], secret=poor["api_secret"])
    with pytest.raises(InsufficientFunds) as caught:
        await broker.place_order(spot_order(cid()))
    assert caught.value.code == -2010


@pytest.mark.parametrize(("key", "secret"), [("unknownKey123", None), (None, "0" * 48), ("bad key!", None)])
async def test_bad_credentials_are_auth_errors(paper: Paper, key: str | None, secret: str | None) -> None:
    """An unknown key (-2015), a wrong secret (-1022) and a malformed key (-2014) are BrokerAuthError."""
    broker = paper.broker(key=key, secret=secret)
    with pytest.raises(BrokerAuthError):
        await broker.get_order(SYMBOL, client_order_id="x")


async def test_revoked_key_is_an_auth_error(paper: Paper) -> None:
    """After the key is revoked every signed call is BrokerAuthError."""
    broker = paper.broker()
    await broker.get_balance()
    paper.revoke()
    with pytest.raises(BrokerAuthError):
        await broker.place_order(spot_order(cid()))


async def test_instrument_rules_come_from_exchange_info_and_are_cached(paper: Paper) -> None:
    """BTCUSDT's filters become the Instrument; a second call is served from the cache."""
    broker = paper.broker()
    inst = await broker.instrument_rules(SYMBOL)
    assert (inst.tick_size, inst.step_size, inst.min_qty) == (D("0.01"), D("0.00001"), D("0.00001"))
    assert (inst.max_qty, inst.min_notional, inst.currency) == (D(9000), D(5), "USDT")
    used = broker.rate_budgets()[0].used
    assert await broker.instrument_rules(SYMBOL) is inst
    assert broker.rate_budgets()[0].used == used  # no request was sent
    with pytest.raises(InvalidOrder):
        await broker.instrument_rules("NOPEUSDT")


async def test_quote_has_bid_last_ask_around_the_price(paper: Paper) -> None:
    """get_quote gives bid <= last <= ask around the paper price."""
    paper.price(SYMBOL, D("61000"))
    quote = await paper.broker().get_quote(SYMBOL)
    assert quote.bid is not None
    assert quote.ask is not None
    assert quote.bid <= quote.last <= quote.ask
    assert quote.last == D(61000)


async def test_balance_and_positions_follow_a_fill(paper: Paper) -> None:
    """A filled buy lowers USDT cash by about its cost and raises the BTCUSDT position by its quantity."""
    broker = paper.broker()
    before = await broker.get_balance()
    held = {p.symbol: p.quantity for p in await broker.get_positions()}
    assert held["BTCUSDT"] == D(1)  # the paper account's default 1 BTC
    assert before.currency == "USDT"
    assert before.equity > before.cash  # the BTC and other coins are valued too
    await broker.place_order(spot_order(cid(), quantity=D("0.01")))
    after = await broker.get_balance()
    held_after = {p.symbol: p.quantity for p in await broker.get_positions()}
    assert held_after["BTCUSDT"] == D("1.01")
    assert D(600) <= before.cash - after.cash <= D(602)


async def test_rate_budgets_track_weight_and_order_count_headers(paper: Paper) -> None:
    """Before any call there are no budgets; after a placement weight and order counts are tracked."""
    broker = paper.broker()
    assert broker.rate_budgets() == []
    await broker.instrument_rules(SYMBOL)  # reads the limits from exchangeInfo
    await broker.place_order(spot_order(cid(), order_type=OrderType.LIMIT, limit_price=D("50000")))
    budgets = {b.name: b for b in broker.rate_budgets()}
    assert budgets["request_weight"].used >= 20
    assert (budgets["request_weight"].limit, budgets["request_weight"].window_seconds) == (6000, 60)
    assert (budgets["orders_10s"].used, budgets["orders_10s"].limit) == (1, 100)
    assert (budgets["orders_1d"].used, budgets["orders_1d"].window_seconds) == (1, 86400)


async def test_clock_skew_is_a_retryable_rejection_and_resyncs(paper: Paper) -> None:
    """A -1021 on placement raises TimestampRejected (nothing placed), re-syncs, and the next send works."""
    broker = paper.broker()
    assert abs(await broker.sync_time()) < 1000
    paper.skew_server_clock(30)
    client_id = cid()
    with pytest.raises(TimestampRejected) as caught:
        await broker.place_order(spot_order(client_id))
    assert isinstance(caught.value, BrokerUnavailable)
    with pytest.raises(OrderNotFound):
        await broker.get_order(SYMBOL, client_order_id=client_id)  # nothing was placed
    assert 29000 < broker._client.offset_ms < 31000
    ack = await broker.place_order(spot_order(client_id))
    assert ack.status is OrderStatus.FILLED


async def test_first_signed_call_syncs_the_clock_lazily(paper: Paper) -> None:
    """A server clock 30 s ahead is measured before the first signed call, so the call succeeds."""
    paper.skew_server_clock(30)
    broker = paper.broker()
    balance = await broker.get_balance()
    assert balance.cash > 0
    assert broker._client.offset_ms > 29000
