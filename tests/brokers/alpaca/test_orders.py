"""Orders through the adapter against the paper Alpaca: the wire mapping, look-ups, cancel, listing,
local validation, and the rejection classes Alpaca's answers map to."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from boltztrader.brokers.alpaca import AlpacaBroker
from boltztrader.brokers.base import Broker
from boltztrader.domain.enums import Market, OrderType, Side, TimeInForce
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import OrderReport, PlaceOrder
from boltztrader.errors import (
    BrokerAuthError,
    DuplicateOrder,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
)

from .conftest import SYMBOL, Paper, limit, market


def cid() -> str:
    return "bz" + uuid.uuid4().hex[:30]


async def until(broker: AlpacaBroker, client_order_id: str, *want: OrderStatus) -> OrderReport:
    for _ in range(100):
        report = await broker.get_order(SYMBOL, client_order_id=client_order_id)
        if report.status in want:
            return report
        await asyncio.sleep(0.05)
    raise AssertionError(f"order never reached {want}: {report}")


async def test_the_adapter_is_a_broker(alpaca_paper: Paper) -> None:
    """AlpacaBroker satisfies the Broker protocol and declares Alpaca's capabilities."""
    broker = alpaca_paper.broker()
    assert isinstance(broker, Broker)
    caps = broker.capabilities
    assert caps.markets == frozenset({Market.US})
    assert caps.notional_orders
    assert caps.fractional
    assert caps.duplicate_client_id_rejected == "always"
    assert caps.native_client_order_id
    assert not caps.reduce_only


async def test_market_order_ack_and_report_carry_the_wire_fields(alpaca_paper: Paper) -> None:
    """A market buy's ack has Alpaca's UUID and our client id; the filled report maps every field."""
    broker = alpaca_paper.broker()
    client_id = cid()
    before = datetime.now(UTC)
    ack = await broker.place_order(market(client_id, "2"))
    assert ack.client_order_id == client_id
    assert str(uuid.UUID(ack.broker_order_id)) == ack.broker_order_id
    assert ack.status is OrderStatus.OPEN
    assert ack.raw_status in ("pending_new", "new", "accepted")
    assert ack.received_at >= before
    report = await until(broker, client_id, OrderStatus.FILLED)
    assert (report.symbol, report.side, report.order_type) == (SYMBOL, Side.BUY, OrderType.MARKET)
    assert (report.quantity, report.filled_quantity) == (Decimal(2), Decimal(2))
    assert report.average_price is not None
    assert abs(report.average_price - alpaca_paper.price()) < alpaca_paper.price() * Decimal("0.01")
    assert report.limit_price is None
    assert report.raw_status == "filled"
    assert report.time_in_force is TimeInForce.DAY
    assert report.updated_at.tzinfo is not None


async def test_a_resting_limit_order_maps_its_price_and_is_listed_open(alpaca_paper: Paper) -> None:
    """A limit buy below the market is open with its limit price, in the symbol's open orders only."""
    broker = alpaca_paper.broker()
    client_id = cid()
    price = (alpaca_paper.price() * Decimal("0.9")).quantize(Decimal("0.01"))
    ack = await broker.place_order(limit(client_id, price, time_in_force=TimeInForce.GTC))
    report = await broker.get_order(SYMBOL, broker_order_id=ack.broker_order_id)
    assert report.status is OrderStatus.OPEN
    assert report.raw_status == "new"
    assert report.limit_price == price
    assert report.time_in_force is TimeInForce.GTC
    assert [o.client_order_id for o in await broker.list_open_orders(SYMBOL)] == [client_id]
    assert await broker.list_open_orders("MSFT") == []


async def test_a_notional_order_reports_the_quantity_it_bought(alpaca_paper: Paper) -> None:
    """A $500 notional market buy is sent as notional and reports the filled shares as its quantity."""
    broker = alpaca_paper.broker()
    client_id = cid()
    await broker.place_order(PlaceOrder(client_order_id=client_id, symbol=SYMBOL, market=Market.US,
                                        side=Side.BUY, order_type=OrderType.MARKET, notional=Decimal(500)))
    report = await until(broker, client_id, OrderStatus.FILLED)
    assert report.filled_quantity > 0
    assert report.quantity == report.filled_quantity
    assert report.average_price is not None
    assert abs(report.filled_quantity * report.average_price - Decimal(500)) < Decimal("0.01")


async def test_a_fractional_quantity_is_accepted(alpaca_paper: Paper) -> None:
    """A fractional market DAY buy (0.5 shares) fills for exactly 0.5."""
    broker = alpaca_paper.broker()
    client_id = cid()
    await broker.place_order(market(client_id, "0.5"))
    assert (await until(broker, client_id, OrderStatus.FILLED)).filled_quantity == Decimal("0.5")


@pytest.mark.parametrize("order", [
    PlaceOrder(client_order_id="c1", symbol=SYMBOL, market=Market.US, side=Side.BUY,
               order_type=OrderType.LIMIT, notional=Decimal(100), limit_price=Decimal(100)),
    PlaceOrder(client_order_id="c2", symbol=SYMBOL, market=Market.US, side=Side.BUY,
               order_type=OrderType.MARKET, notional=Decimal(100), time_in_force=TimeInForce.GTC),
    PlaceOrder(client_order_id="c3", symbol=SYMBOL, market=Market.US, side=Side.BUY,
               order_type=OrderType.MARKET, notional=Decimal("10.001")),
    PlaceOrder(client_order_id="c4", symbol=SYMBOL, market=Market.US, side=Side.BUY,
               order_type=OrderType.MARKET, quantity=Decimal("0.5"), time_in_force=TimeInForce.GTC),
    PlaceOrder(client_order_id="c5", symbol=SYMBOL, market=Market.US, side=Side.BUY,
               order_type=OrderType.STOP, quantity=Decimal("0.5"), trigger_price=Decimal(300)),
    PlaceOrder(client_order_id="c6", symbol=SYMBOL, market=Market.US, side=Side.BUY,
               order_type=OrderType.MARKET, quantity=Decimal("0.0000000001")),
    PlaceOrder(client_order_id="c7", symbol=SYMBOL, market=Market.US, side=Side.BUY,
               order_type=OrderType.MARKET, quantity=Decimal(1), extended_hours=True),
    PlaceOrder(client_order_id="c8", symbol="BTCUSDT", market=Market.CRYPTO, side=Side.BUY,
               order_type=OrderType.MARKET, quantity=Decimal(1)),
    PlaceOrder(client_order_id="c" * 129, symbol=SYMBOL, market=Market.US, side=Side.BUY,
               order_type=OrderType.MARKET, quantity=Decimal(1)),
], ids=["notional-limit", "notional-gtc", "notional-3dp", "fractional-gtc", "fractional-stop", "qty-10dp",
        "extended-market", "crypto", "long-client-id"])
async def test_orders_alpaca_always_refuses_are_refused_before_sending(alpaca_paper: Paper,
                                                                       order: PlaceOrder) -> None:
    """Alpaca's fixed rules (notional, fractional, extended hours) raise InvalidOrder before any send."""
    broker = alpaca_paper.broker(alpaca_paper.config(base_url="http://127.0.0.1:9"))  # nothing listens there
    with pytest.raises(InvalidOrder) as caught:
        await broker.place_order(order)
    assert caught.value.code == "local"
    assert broker.rate_budgets() == []


async def test_cancel_by_client_id_ends_cancelled(alpaca_paper: Paper) -> None:
    """Cancelling by client id answers with the order (pending_cancel or canceled) and it ends cancelled."""
    broker = alpaca_paper.broker()
    client_id = cid()
    await broker.place_order(limit(client_id, "100.00"))
    answer = await broker.cancel_order(SYMBOL, client_order_id=client_id)
    assert answer.status in (OrderStatus.PENDING_CANCEL, OrderStatus.CANCELLED)
    final = await until(broker, client_id, OrderStatus.CANCELLED)
    assert final.raw_status == "canceled"
    assert await broker.list_open_orders() == []


async def test_cancelling_a_filled_order_returns_its_final_report(alpaca_paper: Paper) -> None:
    """Alpaca's 422 'already in filled state' on cancel gives back the filled order, not an error."""
    broker = alpaca_paper.broker()
    client_id = cid()
    ack = await broker.place_order(market(client_id))
    await until(broker, client_id, OrderStatus.FILLED)
    report = await broker.cancel_order(SYMBOL, broker_order_id=ack.broker_order_id)
    assert report.status is OrderStatus.FILLED


async def test_unknown_orders_are_order_not_found(alpaca_paper: Paper) -> None:
    """An unknown UUID, an id that is not a UUID and an unknown client id are each OrderNotFound."""
    broker = alpaca_paper.broker()
    with pytest.raises(OrderNotFound):
        await broker.get_order(SYMBOL, broker_order_id=str(uuid.uuid4()))
    with pytest.raises(OrderNotFound):
        await broker.get_order(SYMBOL, broker_order_id="not-a-uuid")
    with pytest.raises(OrderNotFound):
        await broker.get_order(SYMBOL, client_order_id=cid())
    with pytest.raises(OrderNotFound):
        await broker.cancel_order(SYMBOL, broker_order_id=str(uuid.uuid4()))


async def test_client_ids_with_reserved_characters_are_looked_up_exactly(alpaca_paper: Paper) -> None:
    """A client id holding '&', '+' and '=' survives the query string of by_client_order_id."""
    broker = alpaca_paper.broker()
    client_id = "a&b+c=d " + uuid.uuid4().hex[:8]
    ack = await broker.place_order(market(client_id))
    assert (await broker.get_order(SYMBOL, client_order_id=client_id)).broker_order_id == ack.broker_order_id


async def test_a_reused_client_id_is_a_duplicate_even_after_the_order_ended(alpaca_paper: Paper) -> None:
    """Alpaca refuses a client id forever: reusing a filled order's id raises DuplicateOrder."""
    broker = alpaca_paper.broker()
    client_id = cid()
    await broker.place_order(market(client_id))
    await until(broker, client_id, OrderStatus.FILLED)
    with pytest.raises(DuplicateOrder) as caught:
        await broker.place_order(market(client_id))
    assert caught.value.code == 40010001


async def test_insufficient_buying_power_is_insufficient_funds(alpaca_paper: Paper) -> None:
    """A buy above the account's buying power raises InsufficientFunds with Alpaca's code."""
    poor = alpaca_paper.new_account(cash="10")
    broker = alpaca_paper.broker(key_id=poor["key_id"], secret=poor["secret_key"])
    with pytest.raises(InsufficientFunds) as caught:
        await broker.place_order(market(cid(), "5"))
    assert caught.value.code == 40310000
    assert "buying power" in caught.value.broker_message


async def test_selling_what_is_not_held_is_insufficient_funds(alpaca_paper: Paper) -> None:
    """A sell with no position (a short in a cash account) raises InsufficientFunds."""
    broker = alpaca_paper.broker()
    with pytest.raises(InsufficientFunds):
        await broker.place_order(market(cid(), "1", side="sell"))


async def test_sub_penny_prices_and_unknown_symbols_are_invalid_orders(alpaca_paper: Paper) -> None:
    """A sub-penny limit price (42210000) and an unknown symbol (40010001) raise InvalidOrder."""
    broker = alpaca_paper.broker()
    with pytest.raises(InvalidOrder) as sub_penny:
        await broker.place_order(limit(cid(), "100.123"))
    assert sub_penny.value.code == 42210000
    with pytest.raises(InvalidOrder) as unknown:
        await broker.place_order(market(cid(), symbol="ZZZZ"))
    assert unknown.value.code == 40010001


async def test_a_bad_secret_is_an_auth_error(alpaca_paper: Paper) -> None:
    """A wrong secret (401 40110000) raises BrokerAuthError on placement as on reads."""
    broker = alpaca_paper.broker(secret="0" * 48)
    with pytest.raises(BrokerAuthError):
        await broker.place_order(market(cid()))
    with pytest.raises(BrokerAuthError):
        await broker.list_open_orders()
