"""Wire mapping without a network: order parameters out, order objects, events and filters in."""

from __future__ import annotations

from decimal import Decimal

import pytest

from boltztrader.brokers.binance import mapping
from boltztrader.brokers.binance.wire import enc
from boltztrader.domain.enums import Market, OrderType, Side, TimeInForce
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import PlaceOrder, PositionSide
from boltztrader.errors import InvalidOrder

from .conftest import futures_order, spot_order

D = Decimal


def test_spot_limit_order_parameters_are_exact() -> None:
    """A spot limit order becomes exactly these parameters, in this order, with RESULT answers."""
    order = spot_order("abc-1", order_type=OrderType.LIMIT, limit_price=D("59000.10"))
    assert mapping.order_params(order, Market.CRYPTO) == (
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=59000.10"
        "&newClientOrderId=abc-1&newOrderRespType=RESULT"
    )


def test_market_order_sends_no_time_in_force() -> None:
    """MARKET orders carry no timeInForce (Binance refuses it with -1106)."""
    params = mapping.order_params(spot_order("m-1", tif=TimeInForce.DAY), Market.CRYPTO)
    assert "timeInForce" not in params
    assert "type=MARKET" in params


def test_notional_market_order_uses_quote_order_qty() -> None:
    """A notional spot market order sends quoteOrderQty and no quantity."""
    params = mapping.order_params(spot_order("n-1", notional=D("25.5")), Market.CRYPTO)
    assert "quoteOrderQty=25.5" in params
    assert "quantity=" not in params


def test_decimals_never_use_scientific_notation() -> None:
    """1E-5 goes out as 0.00001 (Binance refuses 1e-05 with -1100)."""
    params = mapping.order_params(spot_order("d-1", quantity=D("1E-5")), Market.CRYPTO)
    assert "quantity=0.00001&" in params


def test_stop_orders_map_to_stop_loss_types_on_spot() -> None:
    """Our stop and stop-limit orders become STOP_LOSS and STOP_LOSS_LIMIT with stopPrice."""
    stop = PlaceOrder(client_order_id="s-1", symbol="BTCUSDT", market=Market.CRYPTO, side=Side.SELL,
                      order_type=OrderType.STOP, quantity=D("0.001"), trigger_price=D("55000"))
    assert "type=STOP_LOSS&quantity=0.001&stopPrice=55000&" in mapping.order_params(stop, Market.CRYPTO)
    stop_limit = PlaceOrder(client_order_id="s-2", symbol="BTCUSDT", market=Market.CRYPTO, side=Side.SELL,
                            order_type=OrderType.STOP_LIMIT, quantity=D("0.001"), limit_price=D("54900"),
                            trigger_price=D("55000"), time_in_force=TimeInForce.GTC)
    params = mapping.order_params(stop_limit, Market.CRYPTO)
    assert "type=STOP_LOSS_LIMIT&timeInForce=GTC&quantity=0.001&price=54900&stopPrice=55000" in params


def test_futures_order_carries_reduce_only_and_position_side() -> None:
    """Futures orders send reduceOnly and positionSide; client ids with ':' and '/' are percent-encoded."""
    order = futures_order("a:b/c", reduce_only=True, position_side=PositionSide.LONG)
    params = mapping.order_params(order, Market.CRYPTO_FUTURES)
    assert "&reduceOnly=true&positionSide=LONG&newClientOrderId=a%3Ab%2Fc&" in params


@pytest.mark.parametrize(("order", "market"), [
    (spot_order("x", order_type=OrderType.LIMIT, limit_price=D(1), tif=TimeInForce.DAY), Market.CRYPTO),
    (spot_order("x", reduce_only=True), Market.CRYPTO),
    (spot_order("x"), Market.CRYPTO_FUTURES),
    (PlaceOrder(client_order_id="x", symbol="BTCUSDT", market=Market.CRYPTO_FUTURES, side=Side.BUY,
                order_type=OrderType.MARKET, notional=D(100)), Market.CRYPTO_FUTURES),
    (PlaceOrder(client_order_id="x", symbol="BTCUSDT", market=Market.CRYPTO_FUTURES, side=Side.BUY,
                order_type=OrderType.STOP, quantity=D(1), trigger_price=D(1)), Market.CRYPTO_FUTURES),
])
def test_shapes_binance_refuses_are_refused_locally(order: PlaceOrder, market: Market) -> None:
    """DAY limits, spot reduce-only, the wrong market, futures notional and futures stops never leave."""
    with pytest.raises(InvalidOrder) as caught:
        mapping.order_params(order, market)
    assert caught.value.code is None


def test_encoding_leaves_plain_values_and_encodes_the_rest() -> None:
    """Unreserved characters pass through; anything else is UTF-8 percent-encoded."""
    assert enc("BTCUSDT") == "BTCUSDT"
    assert enc("x-_.~") == "x-_.~"
    assert enc("这是") == "%E8%BF%99%E6%98%AF"
    assert enc("a b&c=d") == "a%20b%26c%3Dd"


SPOT_QUERY = {
    "symbol": "BTCUSDT", "orderId": 28, "orderListId": -1, "clientOrderId": "abc", "price": "59000.00000000",
    "origQty": "0.00200000", "executedQty": "0.00100000", "cummulativeQuoteQty": "59.00000000",
    "status": "PARTIALLY_FILLED", "timeInForce": "GTC", "type": "LIMIT", "side": "BUY",
    "stopPrice": "0.00000000", "time": 1499827319559, "updateTime": 1499827319560,
}


def test_spot_order_object_maps_to_report() -> None:
    """A spot order object gives status, quantities, the average price from quote/executed, and times."""
    report = mapping.order_report(SPOT_QUERY, futures=False)
    assert report.broker_order_id == "28"
    assert report.client_order_id == "abc"
    assert (report.status, report.raw_status) == (OrderStatus.PARTIALLY_FILLED, "PARTIALLY_FILLED")
    assert (report.quantity, report.filled_quantity) == (D("0.002"), D("0.001"))
    assert report.average_price == D(59000)
    assert report.limit_price == D(59000)
    assert report.trigger_price is None
    assert report.time_in_force is TimeInForce.GTC
    assert report.updated_at.timestamp() == pytest.approx(1499827319.560)


def test_spot_cancel_answer_uses_the_original_client_id() -> None:
    """In a spot cancel answer clientOrderId is the cancel's id; the order's is origClientOrderId."""
    cancel = {**SPOT_QUERY, "status": "CANCELED", "clientOrderId": "cancel-id", "origClientOrderId": "abc",
              "transactTime": 1499827319600}
    report = mapping.order_report(cancel, futures=False)
    assert report.client_order_id == "abc"
    assert report.status is OrderStatus.CANCELLED


@pytest.mark.parametrize(("raw", "status"), [
    ("NEW", OrderStatus.OPEN), ("FILLED", OrderStatus.FILLED), ("CANCELED", OrderStatus.CANCELLED),
    ("EXPIRED", OrderStatus.EXPIRED), ("EXPIRED_IN_MATCH", OrderStatus.EXPIRED),
    ("REJECTED", OrderStatus.REJECTED), ("PENDING_CANCEL", OrderStatus.PENDING_CANCEL),
])
def test_status_table(raw: str, status: OrderStatus) -> None:
    """Binance's statuses map onto ours; the raw word is kept."""
    report = mapping.order_report({**SPOT_QUERY, "status": raw}, futures=False)
    assert (report.status, report.raw_status) == (status, raw)


def test_unknown_status_is_refused() -> None:
    """A status outside the table is a schema mismatch, not a guess."""
    with pytest.raises(ValueError, match="unknown order status"):
        mapping.order_report({**SPOT_QUERY, "status": "WEIRD"}, futures=False)


def test_execution_report_trade_carries_a_fill_with_the_trade_id() -> None:
    """A TRADE executionReport gives an OrderUpdate with a FillReport keyed by trade id ``t``."""
    event = {"e": "executionReport", "E": 1700000000123, "s": "BTCUSDT", "c": "abc", "S": "SELL",
             "o": "MARKET", "f": "GTC", "q": "0.00200000", "p": "0.00000000", "P": "0.00000000",
             "C": "", "x": "TRADE", "X": "FILLED", "r": "NONE", "i": 7, "l": "0.00200000",
             "z": "0.00200000", "L": "60000.00000000", "n": "0.12000000", "N": "USDT",
             "T": 1700000000120, "t": 99, "Z": "120.00000000"}
    update = mapping.execution_report(event)
    assert update.order.status is OrderStatus.FILLED
    assert update.order.average_price == D(60000)
    assert update.fill is not None
    assert (update.fill.broker_trade_id, update.fill.broker_order_id) == ("99", "7")
    assert (update.fill.quantity, update.fill.price, update.fill.fee) == (D("0.002"), D(60000), D("0.12"))
    assert update.fill.fee_currency == "USDT"
    assert update.fill.side is Side.SELL


def test_execution_report_cancel_uses_original_client_id_and_has_no_fill() -> None:
    """A CANCELED executionReport names our order by ``C`` and carries no fill."""
    event = {"e": "executionReport", "E": 1700000000123, "s": "BTCUSDT", "c": "cancel-x", "C": "ours",
             "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "1", "p": "5", "P": "0", "x": "CANCELED",
             "X": "CANCELED", "i": 8, "l": "0", "z": "0", "L": "0", "n": "0", "N": None, "T": 1, "t": -1,
             "Z": "0"}
    update = mapping.execution_report(event)
    assert update.order.client_order_id == "ours"
    assert update.fill is None
    assert update.order.average_price is None


def test_order_trade_update_maps_futures_fill() -> None:
    """A futures ORDER_TRADE_UPDATE TRADE gives the order and the fill from ``o``."""
    event = {"e": "ORDER_TRADE_UPDATE", "E": 1700000000500, "T": 1700000000499,
             "o": {"s": "BTCUSDT", "c": "f-1", "S": "BUY", "o": "MARKET", "f": "GTC", "q": "0.010",
                   "p": "0.00", "ap": "60000.00", "sp": "0", "x": "TRADE", "X": "FILLED", "i": 3,
                   "l": "0.010", "z": "0.010", "L": "60000.00", "N": "USDT", "n": "0.30000000",
                   "T": 1700000000499, "t": 12, "ot": "MARKET"}}
    update = mapping.order_trade_update(event)
    assert update.order.status is OrderStatus.FILLED
    assert update.order.average_price == D(60000)
    assert update.fill is not None
    assert update.fill.broker_trade_id == "12"
    assert update.fill.quantity == D("0.01")


def test_spot_filters_become_instrument_rules() -> None:
    """PRICE_FILTER gives the tick, LOT_SIZE step/min/max, NOTIONAL the minimum notional."""
    symbol = {"symbol": "BTCUSDT", "quoteAsset": "USDT", "filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000",
         "tickSize": "0.01000000"},
        {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000",
         "stepSize": "0.00001000"},
        {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True},
    ]}
    inst = mapping.instrument(symbol, Market.CRYPTO)
    assert (inst.tick_size, inst.step_size, inst.min_qty) == (D("0.01"), D("0.00001"), D("0.00001"))
    assert (inst.max_qty, inst.min_notional, inst.currency) == (D(9000), D(5), "USDT")


def test_futures_min_notional_and_disabled_tick_fall_back() -> None:
    """Futures MIN_NOTIONAL uses ``notional``; a zero tick falls back to pricePrecision."""
    symbol = {"symbol": "BTCUSDT", "quoteAsset": "USDT", "marginAsset": "USDT", "pricePrecision": 2,
              "quantityPrecision": 3, "filters": [
                  {"filterType": "PRICE_FILTER", "tickSize": "0"},
                  {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
                  {"filterType": "MIN_NOTIONAL", "notional": "100"}]}
    inst = mapping.instrument(symbol, Market.CRYPTO_FUTURES)
    assert (inst.tick_size, inst.step_size, inst.min_notional) == (D("0.01"), D("0.001"), D(100))


def test_spot_balance_values_other_assets_at_last_prices() -> None:
    """Cash is the quote asset; equity adds other assets at their <asset><quote> price."""
    account = {"balances": [{"asset": "USDT", "free": "900", "locked": "100"},
                            {"asset": "BTC", "free": "0.5", "locked": "0"},
                            {"asset": "XYZ", "free": "3", "locked": "0"}]}
    report = mapping.spot_balance(account, {"BTCUSDT": D(60000)}, "USDT")
    assert (report.cash, report.buying_power, report.equity) == (D(1000), D(900), D(31000))
    positions = mapping.spot_positions(account, "USDT")
    assert {p.symbol: p.quantity for p in positions} == {"BTCUSDT": D("0.5"), "XYZUSDT": D(3)}
