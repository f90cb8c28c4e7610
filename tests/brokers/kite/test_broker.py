"""KiteBroker against the paper Kite over real sockets: orders, look-ups, portfolio, market data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from boltztrader.brokers.base import Broker
from boltztrader.brokers.kite import CAPABILITIES, KiteBroker, errors
from boltztrader.domain.enums import Market, OrderType, Product, Side, TimeInForce
from boltztrader.domain.ids import client_order_id, kite_tag
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import PlaceOrder
from boltztrader.errors import InsufficientFunds, InvalidOrder, MarketClosed, OrderNotFound
from boltztrader.paper.kite import SPEC
from boltztrader.paper.venue import VenueConfig
from tests.paper.conftest import RunningPaper

from .conftest import NO_LIMITS, Account, admin, eventually, open_account, set_clock

_n = iter(range(1, 10**6))
SATURDAY = datetime(2026, 5, 9, 4, 30, tzinfo=UTC)


def cid() -> str:
    return client_order_id(f"kite-test-{next(_n)}", "acct")


def order(coid: str, **overrides: Any) -> PlaceOrder:
    fields: dict[str, Any] = {"client_order_id": coid, "symbol": "INFY", "market": Market.NSE,
                              "side": Side.BUY, "order_type": OrderType.MARKET, "quantity": Decimal(1)}
    fields.update(overrides)
    return PlaceOrder(**fields)


def price(paper: RunningPaper, symbol: str = "INFY") -> Decimal:
    return Decimal(admin(paper, "GET", "/_paper/prices")["prices"][symbol])


def below(paper: RunningPaper, fraction: str) -> Decimal:
    return (price(paper) * (1 - Decimal(fraction)) / Decimal("0.05")).to_integral_value() * Decimal("0.05")


async def status_is(broker: KiteBroker, coid: str, want: OrderStatus) -> bool:
    return (await broker.get_order("INFY", client_order_id=coid)).status is want


def test_the_adapter_implements_the_broker_protocol(broker: KiteBroker) -> None:
    """KiteBroker satisfies the Broker protocol and declares Kite's capabilities."""
    assert isinstance(broker, Broker)
    assert broker.capabilities is CAPABILITIES
    assert (CAPABILITIES.native_client_order_id, CAPABILITIES.products, CAPABILITIES.after_market_orders) == (
        False, True, True)
    assert CAPABILITIES.markets == {Market.NSE, Market.BSE}


async def test_a_market_order_carries_tag_product_and_automatic_protection(broker: KiteBroker,
                                                                          account: Account) -> None:
    """A market buy reaches Kite tagged with our id's tag, CNC, market_protection -1, and fills."""
    coid = cid()
    ack = await broker.place_order(order(coid))
    assert (ack.client_order_id, ack.status) == (coid, OrderStatus.OPEN)
    assert ack.raw_status == "PUT ORDER REQ RECEIVED"
    row = account.row(ack.broker_order_id)
    assert (row["tag"], row["product"], row["market_protection"], row["variety"]) == (
        kite_tag(coid), "CNC", -1, "regular")
    assert await eventually(lambda: status_is(broker, coid, OrderStatus.FILLED))
    report = await broker.get_order("INFY", broker_order_id=ack.broker_order_id)
    assert report.client_order_id == coid
    assert report.filled_quantity == 1
    assert report.average_price is not None
    assert report.average_price > 0


async def test_lookups_by_client_id_and_by_order_id_agree(broker: KiteBroker) -> None:
    """get_order by our id (order book by tag) and by Kite's id find the same order; unknown ids raise."""
    coid = cid()
    ack = await broker.place_order(order(coid, order_type=OrderType.LIMIT, limit_price=Decimal("1000")))
    by_client = await broker.get_order("INFY", client_order_id=coid)
    by_id = await broker.get_order("INFY", broker_order_id=ack.broker_order_id)
    assert by_client.broker_order_id == by_id.broker_order_id == ack.broker_order_id
    assert by_client.limit_price == Decimal("1000")
    with pytest.raises(OrderNotFound):
        await broker.get_order("INFY", client_order_id=cid())
    with pytest.raises(OrderNotFound):
        await broker.get_order("INFY", broker_order_id="999999999999")
    with pytest.raises(OrderNotFound):  # the right tag on another symbol is not our order
        await broker.get_order("TCS", client_order_id=coid)


async def test_an_order_placed_elsewhere_is_found_by_tag(paper: RunningPaper, account: Account) -> None:
    """A fresh adapter (after a restart) finds an order by client id and reports it with that id."""
    coid = cid()
    first = account.broker()
    ack = await first.place_order(order(coid, order_type=OrderType.LIMIT, limit_price=Decimal("1000")))
    await first.close()
    fresh = account.broker()
    try:
        open_orders = await fresh.list_open_orders("INFY")
        assert [o.client_order_id for o in open_orders] == [kite_tag(coid)]  # only the tag is known yet
        found = await fresh.get_order("INFY", client_order_id=coid)
        assert (found.broker_order_id, found.client_order_id) == (ack.broker_order_id, coid)
    finally:
        await fresh.close()


async def test_stop_orders_wait_for_their_trigger(broker: KiteBroker, paper: RunningPaper,
                                                  account: Account) -> None:
    """SL and SL-M orders are sent as Kite's SL and SL-M and rest open in TRIGGER PENDING."""
    last = price(paper)
    trigger = (last * Decimal("1.05") / Decimal("0.05")).to_integral_value() * Decimal("0.05")
    sl, slm = cid(), cid()
    await broker.place_order(order(sl, order_type=OrderType.STOP_LIMIT, trigger_price=trigger,
                                   limit_price=trigger + 1, product=Product.MIS))
    ack = await broker.place_order(order(slm, order_type=OrderType.STOP, trigger_price=trigger))
    stop_limit = await broker.get_order("INFY", client_order_id=sl)
    stop = await broker.get_order("INFY", client_order_id=slm)
    assert (stop_limit.order_type, stop_limit.raw_status, stop_limit.status) == (
        OrderType.STOP_LIMIT, "TRIGGER PENDING", OrderStatus.OPEN)
    assert (stop_limit.trigger_price, stop_limit.limit_price) == (trigger, trigger + 1)
    assert (stop.order_type, stop.trigger_price, stop.limit_price) == (OrderType.STOP, trigger, None)
    row = account.row(ack.broker_order_id)
    assert (row["order_type"], row["market_protection"]) == ("SL-M", -1)
    assert account.row(stop_limit.broker_order_id)["product"] == "MIS"


async def test_cancel_by_order_id_and_cancel_of_a_filled_order(broker: KiteBroker) -> None:
    """Cancel ends a resting order cancelled; cancelling a filled order returns it filled."""
    resting = cid()
    ack = await broker.place_order(order(resting, order_type=OrderType.LIMIT, limit_price=Decimal("1000")))
    cancelled = await broker.cancel_order("INFY", broker_order_id=ack.broker_order_id)
    assert cancelled.status in (OrderStatus.CANCELLED, OrderStatus.PENDING_CANCEL)
    assert await eventually(lambda: status_is(broker, resting, OrderStatus.CANCELLED))
    assert await broker.list_open_orders() == []
    done = cid()
    await broker.place_order(order(done))
    assert await eventually(lambda: status_is(broker, done, OrderStatus.FILLED))
    report = await broker.cancel_order("INFY", client_order_id=done)
    assert report.status is OrderStatus.FILLED


async def test_open_orders_filter_by_symbol(broker: KiteBroker, paper: RunningPaper) -> None:
    """list_open_orders returns working orders only, for one symbol when asked."""
    infy, tcs = cid(), cid()
    await broker.place_order(order(infy, order_type=OrderType.LIMIT, limit_price=Decimal("1000")))
    await broker.place_order(order(tcs, symbol="TCS", order_type=OrderType.LIMIT,
                                   limit_price=Decimal("2000")))
    await broker.place_order(order(cid()))  # fills at once
    assert {o.client_order_id for o in await broker.list_open_orders()} == {infy, tcs}
    assert [o.client_order_id for o in await broker.list_open_orders("TCS")] == [tcs]


async def test_insufficient_funds_is_a_rejected_order_whose_reason_classifies(paper: RunningPaper) -> None:
    """Kite's RMS rejects an unaffordable order after acknowledging it; the reason is InsufficientFunds."""
    poor = await open_account(paper, cash="1000")
    broker = poor.broker()
    try:
        coid = cid()
        await broker.place_order(order(coid, quantity=Decimal(100)))
        assert await eventually(lambda: status_is(broker, coid, OrderStatus.REJECTED))
        report = await broker.get_order("INFY", client_order_id=coid)
        assert report.reject_reason
        assert report.reject_reason.startswith("Insufficient funds")
        assert errors.rejection_class(report.reject_reason) is InsufficientFunds
    finally:
        await broker.close()


async def test_input_errors_are_invalid_orders(broker: KiteBroker) -> None:
    """An off-tick price and an explicit market_protection of 0 are refused as InvalidOrder."""
    with pytest.raises(InvalidOrder) as off_tick:
        await broker.place_order(order(cid(), order_type=OrderType.LIMIT, limit_price=Decimal("1000.01")))
    assert off_tick.value.code == "InputException"
    assert "Tick size" in off_tick.value.broker_message
    with pytest.raises(InvalidOrder):
        await broker.place_order(order(cid(), market_protection=Decimal(0)))
    with pytest.raises(InvalidOrder):
        await broker.place_order(order(cid(), time_in_force=TimeInForce.GTC))


async def test_positions_and_balance_follow_a_fill(broker: KiteBroker) -> None:
    """A filled buy shows as a net CNC position and lowers the buying power by about its cost."""
    before = await broker.get_balance()
    coid = cid()
    await broker.place_order(order(coid, quantity=Decimal(3)))
    assert await eventually(lambda: status_is(broker, coid, OrderStatus.FILLED))
    filled = await broker.get_order("INFY", client_order_id=coid)
    after = await broker.get_balance()
    [position] = await broker.get_positions()
    assert (position.symbol, position.quantity, position.product, position.market) == (
        "INFY", Decimal(3), Product.CNC, Market.NSE)
    assert filled.average_price is not None
    cost = filled.average_price * 3
    assert cost * Decimal("0.99") <= before.buying_power - after.buying_power <= cost * Decimal("1.01")
    assert after.currency == "INR"
    assert after.margins["equity.net"] == after.buying_power


async def test_quote_and_instrument_rules(broker: KiteBroker, paper: RunningPaper) -> None:
    """The quote's last price is the paper's; rules come from the dump, fetched once."""
    quote = await broker.get_quote("INFY")
    assert quote.last == price(paper)
    assert quote.bid is not None
    assert quote.ask is not None
    assert quote.bid < quote.ask
    rules = await broker.instrument_rules("INFY")
    assert (rules.tick_size, rules.lot_size, rules.market, rules.fractionable) == (
        Decimal("0.05"), Decimal(1), Market.NSE, False)
    admin(paper, "PUT", "/_paper/faults", json={"rules": [{"op": "market_data", "action": "error_before"}]})
    assert (await broker.instrument_rules("NSE:TCS")).symbol == "TCS"  # cached: no second download
    with pytest.raises(InvalidOrder):
        await broker.instrument_rules("NOSUCH")


async def test_closed_market_refuses_regular_orders_and_takes_amo(paper_factory: Callable[..., RunningPaper],
                                                                 ) -> None:
    """On a Saturday a regular order is MarketClosed; an AMO waits in AMO REQ RECEIVED and cancels."""
    paper = paper_factory(SPEC, VenueConfig(tick_seconds=0, real_hours=True))
    set_clock(paper, SATURDAY)
    admin(paper, "PUT", "/_paper/limits", json=NO_LIMITS)
    account = await open_account(paper)
    broker = account.broker()
    try:
        with pytest.raises(MarketClosed):
            await broker.place_order(order(cid()))
        coid = cid()
        ack = await broker.place_order(order(coid, order_type=OrderType.LIMIT, limit_price=Decimal("1500"),
                                             after_market=True))
        assert ack.raw_status == "AMO REQ RECEIVED"
        assert account.row(ack.broker_order_id)["variety"] == "amo"
        waiting = await broker.get_order("INFY", client_order_id=coid)
        assert (waiting.status, waiting.raw_status) == (OrderStatus.OPEN, "AMO REQ RECEIVED")
        cancelled = await broker.cancel_order("INFY", broker_order_id=ack.broker_order_id)
        assert cancelled.status is OrderStatus.CANCELLED
    finally:
        await broker.close()
