"""The paper engine: prices and quotes, validation, reservations, market and limit matching, queries."""

from __future__ import annotations

import pytest

from boltztrader.paper.engine import Engine, EngineConfig
from boltztrader.paper.model import (
    EventKind,
    Kind,
    NotCancelable,
    OrderRequest,
    Rejected,
    RejectReason,
    Side,
    State,
    UnknownOrder,
)

from .test_engine_fixtures import ALL, BTC, FLAT, D, at, limit, make, market, trigger

BUY, SELL = Side.BUY, Side.SELL


def reason_of(eng: Engine, request: OrderRequest) -> RejectReason:
    with pytest.raises(Rejected) as info:
        eng.submit("a", request, at(1))
    assert info.value.message
    return info.value.reason


# -- prices and quotes ---------------------------------------------------------------------------
def test_quote_spreads_around_last_and_rounds_to_tick() -> None:
    """The quote puts bid and ask half the spread around the last price, bid rounded down and ask up."""
    eng = make(EngineConfig(spread_bps=D(2)))
    eng.set_price("BTCUSDT", D("100.00"), at(5))
    q = eng.quote("BTCUSDT")
    assert (q.bid, q.ask, q.last, q.time) == (D("99.99"), D("100.01"), D("100.00"), at(5))


def test_quote_unknown_symbol_and_no_price_are_rejected() -> None:
    """Quoting an unknown symbol is UNKNOWN_SYMBOL; a known one with no price yet is INVALID_PRICE."""
    eng = make()
    with pytest.raises(Rejected) as unknown:
        eng.quote("NOPE")
    assert unknown.value.reason is RejectReason.UNKNOWN_SYMBOL
    with pytest.raises(Rejected) as no_price:
        eng.quote("BTCUSDT")
    assert no_price.value.reason is RejectReason.INVALID_PRICE


def test_instruments_mapping_and_lookup() -> None:
    """Instruments are listed by symbol and an unknown one raises UNKNOWN_SYMBOL."""
    eng = make()
    assert set(eng.instruments) == {i.symbol for i in ALL}
    assert eng.instrument("BTCUSDT") is BTC
    with pytest.raises(Rejected) as info:
        eng.instrument("ETHUSDT")
    assert info.value.reason is RejectReason.UNKNOWN_SYMBOL


# -- market orders -----------------------------------------------------------------------------------
def test_market_buy_fills_at_ask_with_taker_fee() -> None:
    """A market buy fills at the ask, pays notional plus taker fee in the quote asset, receives the base."""
    eng = make(EngineConfig(spread_bps=D(2)), USDT=D(10000))
    eng.set_price("BTCUSDT", D(50000), at(0))
    order, events = eng.submit("a", market("BTCUSDT", BUY, "0.1"), at(1))
    assert [e.kind for e in events] == [EventKind.NEW, EventKind.FILL]
    assert order.state is State.FILLED
    (fill,) = order.fills
    assert (fill.price, fill.fee, fill.fee_asset) == (D("50005.00"), D("5.0005"), "USDT")
    assert fill.is_maker is False
    bal = eng.account("a").balances
    assert bal["USDT"].free == D("4994.4995")
    assert bal["BTC"].free == D("0.1")


def test_market_prices_slip_against_the_taker_and_round_to_tick() -> None:
    """Slippage moves a buy above the ask (rounded up) and a sell below the bid (rounded down)."""
    eng = make(EngineConfig(spread_bps=D(2), slippage_bps=D(10)), USDT=D(1000), BTC=D(1))
    eng.set_price("BTCUSDT", D("100.00"), at(0))
    buy, _ = eng.submit("a", market("BTCUSDT", BUY, "1"), at(1))
    sell, _ = eng.submit("a", market("BTCUSDT", SELL, "1"), at(2))
    assert buy.fills[0].price == D("100.12")
    assert sell.fills[0].price == D("99.89")


def test_market_order_without_a_price_is_rejected() -> None:
    """A market order for a symbol that never had a price is INVALID_PRICE (no market price)."""
    eng = make(USDT=D(1000))
    with pytest.raises(Rejected) as info:
        eng.submit("a", market("BTCUSDT", BUY, "1"), at(1))
    assert info.value.reason is RejectReason.INVALID_PRICE
    assert "no market price" in info.value.message


# -- validation --------------------------------------------------------------------------------------
LIMIT = Kind.LIMIT
CASES = [
    (OrderRequest("NOPE", BUY, Kind.MARKET, quantity=D(1)), RejectReason.UNKNOWN_SYMBOL),
    (OrderRequest("BTCUSDT", BUY, LIMIT, quantity=D(0), price=D(100)), RejectReason.INVALID_QUANTITY),
    (OrderRequest("BTCUSDT", BUY, LIMIT, quantity=D(-1), price=D(100)), RejectReason.INVALID_QUANTITY),
    (OrderRequest("BTCUSDT", BUY, Kind.MARKET, quantity=D(1), quote_quantity=D(10)),
     RejectReason.INVALID_QUANTITY),
    (OrderRequest("BTCUSDT", BUY, Kind.MARKET), RejectReason.INVALID_QUANTITY),
    (OrderRequest("BTCUSDT", BUY, LIMIT, quote_quantity=D(10), price=D(100)), RejectReason.INVALID_QUANTITY),
    (OrderRequest("BTCUSDT", BUY, LIMIT, quantity=D(1)), RejectReason.INVALID_PRICE),
    (OrderRequest("BTCUSDT", BUY, LIMIT, quantity=D(1), price=D(0)), RejectReason.INVALID_PRICE),
    (OrderRequest("BTCUSDT", BUY, Kind.STOP_MARKET, quantity=D(1)), RejectReason.INVALID_PRICE),
    (OrderRequest("BTCUSDT", BUY, Kind.STOP_LIMIT, quantity=D(1), trigger_price=D(110)),
     RejectReason.INVALID_PRICE),
    (OrderRequest("BTCUSDT", BUY, LIMIT, quantity=D(1), price=D("100.001")), RejectReason.TICK_SIZE),
    (OrderRequest("BTCUSDT", BUY, LIMIT, quantity=D(1), price=D("2000000")), RejectReason.TICK_SIZE),
    (OrderRequest("BTCUSDT", BUY, Kind.STOP_MARKET, quantity=D(1), trigger_price=D("110.005")),
     RejectReason.TICK_SIZE),
    (OrderRequest("BTCUSDT", BUY, LIMIT, quantity=D("0.000001"), price=D(100)), RejectReason.LOT_SIZE),
    (OrderRequest("BTCUSDT", BUY, LIMIT, quantity=D(10000), price=D(100)), RejectReason.LOT_SIZE),
    (OrderRequest("BTCUSDT", BUY, LIMIT, quantity=D("0.01"), price=D(100)), RejectReason.MIN_NOTIONAL),
    (OrderRequest("BTCUSDT", BUY, Kind.MARKET, quantity=D("0.01")), RejectReason.MIN_NOTIONAL),
    (OrderRequest("INFY", BUY, LIMIT, quantity=D("1.5"), price=D(1500)), RejectReason.LOT_SIZE),
    (OrderRequest("INFY", BUY, Kind.MARKET, quote_quantity=D(5000)), RejectReason.NOT_FRACTIONABLE),
]


@pytest.mark.parametrize(("request_", "reason"), CASES)
def test_validation_rejects_with_the_right_reason(request_: OrderRequest, reason: RejectReason) -> None:
    """Each malformed order is refused with its specific reason and a message, and nothing is stored."""
    eng = make(USDT=D(1_000_000), INR=D(1_000_000))
    eng.set_price("BTCUSDT", D(100), at(0))
    eng.set_price("INFY", D(1500), at(0))
    assert reason_of(eng, request_) is reason
    assert eng.orders("a") == []


def test_funds_must_cover_notional_and_fee() -> None:
    """A limit buy needs price x qty plus the fee free; one unit short is INSUFFICIENT_FUNDS."""
    short = make(USDT=D("100.09"))
    assert reason_of(short, limit("BTCUSDT", BUY, "1", "100")) is RejectReason.INSUFFICIENT_FUNDS
    enough = make(USDT=D("100.10"))
    order, _ = enough.submit("a", limit("BTCUSDT", BUY, "1", "100"), at(1))
    assert order.locked == D("100.10")
    assert enough.account("a").balances["USDT"].free == 0


def test_resting_orders_reserve_funds_for_later_orders() -> None:
    """Funds locked by resting buys are not available to the next order."""
    eng = make(USDT=D("200.20"))
    eng.submit("a", limit("BTCUSDT", BUY, "1", "100"), at(1))
    eng.submit("a", limit("BTCUSDT", BUY, "1", "100"), at(2))
    assert reason_of(eng, limit("BTCUSDT", BUY, "0.1", "100")) is RejectReason.INSUFFICIENT_FUNDS
    usdt = eng.account("a").balances["USDT"]
    assert (usdt.free, usdt.locked) == (D(0), D("200.20"))


def test_spot_sell_beyond_free_base_is_insufficient_funds() -> None:
    """Selling more base than is free (held minus resting sells) is INSUFFICIENT_FUNDS, as Binance says."""
    eng = make(BTC=D(1))
    eng.set_price("BTCUSDT", D(100), at(0))
    assert reason_of(eng, market("BTCUSDT", SELL, "1.5")) is RejectReason.INSUFFICIENT_FUNDS
    eng.submit("a", limit("BTCUSDT", SELL, "0.8", "200"), at(1))
    assert eng.account("a").balances["BTC"].locked == D("0.8")
    assert reason_of(eng, market("BTCUSDT", SELL, "0.5")) is RejectReason.INSUFFICIENT_FUNDS


def test_equity_sells_are_limited_to_unreserved_holdings() -> None:
    """EQUITY sells beyond the holding, counting resting sells, are INSUFFICIENT_POSITION."""
    eng = make(INR=D(100000))
    eng.set_price("INFY", D(1500), at(0))
    assert reason_of(eng, market("INFY", SELL, "1")) is RejectReason.INSUFFICIENT_POSITION
    eng.submit("a", market("INFY", BUY, "10"), at(1))
    eng.submit("a", limit("INFY", SELL, "6", "1600"), at(2))
    assert reason_of(eng, limit("INFY", SELL, "5", "1600")) is RejectReason.INSUFFICIENT_POSITION
    order, _ = eng.submit("a", limit("INFY", SELL, "4", "1600"), at(3))
    assert order.state is State.OPEN


def test_equity_short_allowed_by_config() -> None:
    """With allow_short an EQUITY sell without holdings is accepted and the position goes negative."""
    eng = make(EngineConfig(spread_bps=D(0), allow_short=True), INR=D(100000))
    eng.set_price("INFY", D(1500), at(0))
    order, _ = eng.submit("a", market("INFY", SELL, "5"), at(1))
    assert order.state is State.FILLED
    pos = eng.account("a").positions["INFY"]
    assert (pos.quantity, pos.average_price) == (D(-5), D(1500))
    assert eng.account("a").balances["INR"].free == D(100000) + D(7500) - D("2.25")


def test_equity_positions_average_realise_and_track_day_totals() -> None:
    """EQUITY buys average in, sells realise P&L on the position, and cash moves by notional and fees."""
    eng = make(INR=D(100000))
    eng.set_price("INFY", D(1500), at(0))
    eng.submit("a", market("INFY", BUY, "10"), at(1))
    eng.set_price("INFY", D(1400), at(2))
    eng.submit("a", market("INFY", BUY, "10"), at(3))
    pos = eng.account("a").positions["INFY"]
    assert (pos.quantity, pos.average_price) == (D(20), D(1450))
    eng.submit("a", limit("INFY", SELL, "6", "1600"), at(4))
    eng.submit("a", limit("INFY", SELL, "4", "1600"), at(5))
    events = eng.set_price("INFY", D(1600), at(6))
    assert [e.kind for e in events] == [EventKind.FILL, EventKind.FILL]
    assert all(e.fill is not None and e.fill.is_maker for e in events)
    assert (pos.quantity, pos.average_price, pos.realized_pnl) == (D(10), D(1450), D(1500))
    assert (pos.bought_quantity, pos.bought_value) == (D(20), D(29000))
    assert (pos.sold_quantity, pos.sold_value) == (D(10), D(16000))
    fees = sum((f.fee for f in eng.fills("a")), D(0))
    assert fees == D("4.50") + D("4.20") + D("2.88") + D("1.92")
    assert eng.account("a").balances["INR"].free == D(100000) - D(29000) + D(16000) - fees


# -- limit orders -----------------------------------------------------------------------------------
def test_resting_limit_fills_as_maker_at_its_limit_when_crossed() -> None:
    """A limit buy below the market rests, then fills at its limit with the maker fee once crossed."""
    eng = make(USDT=D(1000))
    eng.set_price("BTCUSDT", D(100), at(0))
    order, events = eng.submit("a", limit("BTCUSDT", BUY, "1", "90"), at(1))
    assert [e.kind for e in events] == [EventKind.NEW]
    assert order.state is State.OPEN
    assert eng.set_price("BTCUSDT", D(95), at(2)) == []
    (fill_event,) = eng.set_price("BTCUSDT", D("89.5"), at(3))
    assert fill_event.fill is not None
    assert (fill_event.fill.price, fill_event.fill.fee, fill_event.fill.is_maker) == (D(90), D("0.09"), True)
    assert eng.get("a", order.order_id).state is State.FILLED
    assert order.final_at == at(3)
    usdt = eng.account("a").balances["USDT"]
    assert (usdt.free, usdt.locked) == (D("909.91"), D(0))


def test_resting_sell_fills_when_price_rises_to_it() -> None:
    """A resting sell fills at its limit once the price is at or above it, releasing the locked base."""
    eng = make(BTC=D(1))
    eng.set_price("BTCUSDT", D(100), at(0))
    order, _ = eng.submit("a", limit("BTCUSDT", SELL, "1", "110"), at(1))
    assert eng.account("a").balances["BTC"].locked == D(1)
    eng.set_price("BTCUSDT", D(110), at(2))
    assert order.state is State.FILLED
    bal = eng.account("a").balances
    assert (bal["BTC"].free, bal["BTC"].locked) == (D(0), D(0))
    assert bal["USDT"].free == D(110) - D("0.11")


@pytest.mark.parametrize(("side", "price", "fill_price"), [
    (BUY, "100.50", "100.01"),  # limit above the ask: fills at the ask
    (BUY, "100.00", "100.00"),  # limit between last and ask: fills at its limit
    (SELL, "99.00", "99.99"),  # limit below the bid: fills at the bid
])
def test_crossing_limit_fills_on_arrival_as_taker_at_the_better_price(side: Side, price: str,
                                                                       fill_price: str) -> None:
    """A limit that crosses on arrival fills at once as taker, at the better of its limit and the quote."""
    eng = make(EngineConfig(spread_bps=D(2)), USDT=D(1000), BTC=D(1))
    eng.set_price("BTCUSDT", D(100), at(0))
    order, events = eng.submit("a", limit("BTCUSDT", side, "1", price), at(1))
    assert [e.kind for e in events] == [EventKind.NEW, EventKind.FILL]
    assert order.fills[0].price == D(fill_price)
    assert order.fills[0].is_maker is False


def test_limit_that_does_not_cross_rests() -> None:
    """A buy limit below the last price rests without a fill."""
    eng = make(EngineConfig(spread_bps=D(2)), USDT=D(1000))
    eng.set_price("BTCUSDT", D(100), at(0))
    order, _ = eng.submit("a", limit("BTCUSDT", BUY, "1", "99.99"), at(1))
    assert order.state is State.OPEN
    assert order.fills == []


def test_limit_orders_rest_without_any_price() -> None:
    """A limit order for a symbol without a price yet rests and fills when a price crosses it."""
    eng = make(USDT=D(1000))
    order, _ = eng.submit("a", limit("BTCUSDT", BUY, "1", "100"), at(1))
    assert order.state is State.OPEN
    eng.set_price("BTCUSDT", D(100), at(2))
    assert eng.get("a", order.order_id).state is State.FILLED


def test_best_price_then_oldest_fill_first_under_limited_liquidity() -> None:
    """With limited liquidity the best-priced resting order fills first, then the oldest at a price."""
    eng = make(USDT=D(10000))
    eng.set_price("BTCUSDT", D(100), at(0))
    low, _ = eng.submit("a", limit("BTCUSDT", BUY, "1", "90"), at(1))
    first, _ = eng.submit("a", limit("BTCUSDT", BUY, "1", "95"), at(2))
    second, _ = eng.submit("a", limit("BTCUSDT", BUY, "1", "95"), at(3))
    events = eng.set_price("BTCUSDT", D(89), at(4), liquidity=D("1.5"))
    assert [e.order.order_id for e in events] == [first.order_id, second.order_id]
    assert (first.state, second.state, low.state) == (State.FILLED, State.PARTIALLY_FILLED, State.OPEN)
    assert second.filled_quantity == D("0.5")


def test_partial_fill_releases_the_reservation_proportionally() -> None:
    """A partial fill spends its share and keeps exactly the remainder's reservation locked."""
    eng = make(USDT=D(1000))
    eng.set_price("BTCUSDT", D(100), at(0))
    order, _ = eng.submit("a", limit("BTCUSDT", BUY, "1", "90"), at(1))
    (event,) = eng.set_price("BTCUSDT", D(89), at(2), liquidity=D("0.4"))
    assert event.state is State.PARTIALLY_FILLED
    assert (event.filled_quantity, event.filled_quote) == (D("0.4"), D(36))
    usdt = eng.account("a").balances["USDT"]
    assert order.locked == usdt.locked == D("54.054")
    assert usdt.free == D(1000) - D(36) - D("0.036") - D("54.054")
    eng.cancel("a", order.order_id, at(3))
    assert (usdt.free, usdt.locked) == (D("963.964"), D(0))
    assert order.state is State.CANCELLED
    assert order.filled_quantity == D("0.4")


# -- cancel, queries ---------------------------------------------------------------------------------
def test_cancel_releases_the_reservation_and_keeps_the_order_queryable() -> None:
    """Cancel frees the locked funds, emits CANCELLED, and the order stays readable but not open."""
    eng = make(USDT=D(1000))
    order, _ = eng.submit("a", limit("BTCUSDT", BUY, "1", "90"), at(1))
    assert eng.orders("a", open_only=True) == [order]
    same, events = eng.cancel("a", order.order_id, at(2))
    assert same is order
    assert [(e.kind, e.state) for e in events] == [(EventKind.CANCELLED, State.CANCELLED)]
    usdt = eng.account("a").balances["USDT"]
    assert (usdt.free, usdt.locked) == (D(1000), D(0))
    assert eng.get("a", order.order_id) is order
    assert eng.orders("a", open_only=True) == []
    assert eng.orders("a") == [order]
    eng.set_price("BTCUSDT", D(80), at(3))
    assert order.fills == []


def test_cancel_errors() -> None:
    """Cancelling a final order is NotCancelable; an unknown id or another account's order is UnknownOrder."""
    eng = make(USDT=D(1000))
    eng.open_account("b", {"USDT": D(1000)})
    order, _ = eng.submit("a", limit("BTCUSDT", BUY, "1", "90"), at(1))
    with pytest.raises(UnknownOrder):
        eng.cancel("b", order.order_id, at(2))
    with pytest.raises(UnknownOrder):
        eng.cancel("a", 999, at(2))
    with pytest.raises(UnknownOrder):
        eng.get("nobody", order.order_id)
    eng.cancel("a", order.order_id, at(3))
    with pytest.raises(NotCancelable):
        eng.cancel("a", order.order_id, at(4))


def test_queries_filter_by_symbol_and_client_id_finds_the_newest() -> None:
    """orders/fills filter by symbol, oldest first; find_by_client_id returns the newest with that id."""
    eng = make(USDT=D(10000), INR=D(100000))
    eng.set_price("BTCUSDT", D(100), at(0))
    eng.set_price("INFY", D(1500), at(0))
    first, _ = eng.submit("a", market("BTCUSDT", BUY, "1", cid="x"), at(1))
    infy, _ = eng.submit("a", market("INFY", BUY, "2"), at(2))
    second, _ = eng.submit("a", limit("BTCUSDT", BUY, "1", "50", cid="x"), at(3))
    assert eng.orders("a") == [first, infy, second]
    assert eng.orders("a", symbol="BTCUSDT") == [first, second]
    assert eng.orders("a", open_only=True, symbol="INFY") == []
    assert [f.order_id for f in eng.fills("a", symbol="INFY")] == [infy.order_id]
    assert [f.order_id for f in eng.fills("a")] == [first.order_id, infy.order_id]
    assert eng.find_by_client_id("a", "x") is second
    assert eng.find_by_client_id("a", "y") is None


def test_ids_and_sequence_are_counters() -> None:
    """Order ids and trade ids count from 1, event seq strictly increases, NEW comes before FILL."""
    eng = make(USDT=D(10000))
    eng.set_price("BTCUSDT", D(100), at(0))
    o1, e1 = eng.submit("a", market("BTCUSDT", BUY, "1"), at(1))
    o2, e2 = eng.submit("a", market("BTCUSDT", BUY, "1"), at(2))
    assert (o1.order_id, o2.order_id) == (1, 2)
    assert [f.trade_id for f in eng.fills("a")] == [1, 2]
    seqs = [e.seq for e in e1 + e2]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 4
    new, fill = e1
    assert (new.kind, new.state, new.filled_quantity) == (EventKind.NEW, State.OPEN, D(0))
    assert (fill.kind, fill.state, fill.filled_quantity, fill.filled_quote) == (
        EventKind.FILL, State.FILLED, D(1), D(100))


def test_recorded_rejection_is_stored_with_a_rejected_event() -> None:
    """With record_rejection a refused order is kept as REJECTED with its reason and one REJECTED event."""
    eng = make(USDT=D(10))
    order, events = eng.submit("a", limit("BTCUSDT", BUY, "1", "100", cid="r1"), at(1), record_rejection=True)
    assert order.state is State.REJECTED
    assert order.state.is_final
    assert order.reject_reason is RejectReason.INSUFFICIENT_FUNDS
    assert order.reject_message
    assert [(e.kind, e.state) for e in events] == [(EventKind.REJECTED, State.REJECTED)]
    assert eng.get("a", order.order_id) is order
    assert eng.find_by_client_id("a", "r1") is order
    assert eng.orders("a", open_only=True) == []
    assert eng.account("a").balances["USDT"].free == D(10)
    with pytest.raises(NotCancelable):
        eng.cancel("a", order.order_id, at(2))


def test_accounts_and_buying_power() -> None:
    """open_account seeds free balances, buying_power reports free, and unknown accounts are KeyError."""
    eng = Engine(ALL, FLAT)
    account = eng.open_account("z", {"USDT": D(500)})
    assert eng.account("z") is account
    assert eng.buying_power("z", "USDT") == D(500)
    assert eng.buying_power("z", "BTC") == 0
    eng.submit("z", limit("BTCUSDT", BUY, "1", "100"), at(1))
    assert eng.buying_power("z", "USDT") == D("399.90")
    with pytest.raises(KeyError):
        eng.account("missing")
    with pytest.raises(ValueError, match="exists"):
        eng.open_account("z", {})


# -- quote quantity ---------------------------------------------------------------------------------
def test_quote_quantity_buy_converts_rounding_down_to_the_step() -> None:
    """A quote_quantity market buy buys quote / price rounded down to the step size."""
    eng = make(USDT=D(100))
    eng.set_price("BTCUSDT", D("3.00"), at(0))
    order, _ = eng.submit("a", market("BTCUSDT", BUY, quote="10"), at(1))
    assert order.quantity == order.filled_quantity == D("3.33333")
    assert order.filled_quote == D("9.99999")


def test_quote_quantity_sell_and_fractional_equity() -> None:
    """quote_quantity works for sells and for fractionable equities (Alpaca notional)."""
    eng = make(BTC=D(1), USD=D(1000))
    eng.set_price("BTCUSDT", D(100), at(0))
    eng.set_price("AAPL", D("187.50"), at(0))
    sell, _ = eng.submit("a", market("BTCUSDT", SELL, quote="50"), at(1))
    assert sell.filled_quantity == D("0.5")
    aapl, _ = eng.submit("a", market("AAPL", BUY, quote="100"), at(2))
    assert aapl.filled_quantity == D("0.533333333")


def test_quote_quantity_too_small_is_rejected() -> None:
    """A quote_quantity below one step is LOT_SIZE; one below the minimum notional is MIN_NOTIONAL."""
    eng = make(USDT=D(100))
    eng.set_price("BTCUSDT", D(100), at(0))
    assert reason_of(eng, market("BTCUSDT", BUY, quote="0.0001")) is RejectReason.LOT_SIZE
    assert reason_of(eng, market("BTCUSDT", BUY, quote="4")) is RejectReason.MIN_NOTIONAL


def test_stop_market_reserves_at_its_trigger() -> None:
    """A waiting stop buy locks trigger x qty plus fee, and INSUFFICIENT_FUNDS applies to it too."""
    eng = make(USDT=D(200))
    eng.set_price("BTCUSDT", D(100), at(0))
    order, _ = eng.submit("a", trigger("BTCUSDT", BUY, Kind.STOP_MARKET, "1", "110"), at(1))
    assert order.state is State.PENDING_TRIGGER
    assert order.locked == D("110.11")
    req = trigger("BTCUSDT", BUY, Kind.STOP_MARKET, "1", "100")
    assert reason_of(eng, req) is RejectReason.INSUFFICIENT_FUNDS


def test_fees_are_truncated_to_the_money_unit() -> None:
    """Fees are cut (not rounded) to 8 decimals for SPOT and to 2 for EQUITY."""
    eng = make(USDT=D(1000), INR=D(10000))
    eng.set_price("BTCUSDT", D("100.09"), at(0))
    eng.set_price("INFY", D("1666.65"), at(0))
    btc, _ = eng.submit("a", market("BTCUSDT", BUY, "0.05555"), at(1))
    infy, _ = eng.submit("a", market("INFY", BUY, "1"), at(2))
    assert btc.fills[0].fee == D("0.00555999")  # 0.0055599995 exactly
    assert infy.fills[0].fee == D("0.49")  # 0.499995 exactly
