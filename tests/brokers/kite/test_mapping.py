"""Pure mapping, error-table and login-helper tests of the Kite adapter (no server)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import pytest

from boltztrader.brokers.kite import errors, login, mapping, wire
from boltztrader.domain.enums import Market, OrderType, Product, Side, TimeInForce
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import PlaceOrder
from boltztrader.domain.secrets import Secret
from boltztrader.errors import (
    BrokerAuthError,
    BrokerDown,
    BrokerProtocolError,
    InsufficientFunds,
    InvalidOrder,
    MarketClosed,
    OrderNotFound,
    OutcomeUnknown,
    RateLimited,
)


def place(**overrides: Any) -> PlaceOrder:
    fields: dict[str, Any] = {"client_order_id": "bz" + "0" * 30, "symbol": "INFY", "market": Market.NSE,
                              "side": Side.BUY, "order_type": OrderType.MARKET, "quantity": Decimal(2)}
    fields.update(overrides)
    return PlaceOrder(**fields)


def form(order: PlaceOrder, tag: str = "bzTAG") -> dict[str, str]:
    parsed = parse_qs(mapping.order_form(order, tag), keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in parsed.values())
    return {key: values[0] for key, values in parsed.items()}


def test_market_order_form_defaults_to_cnc_day_and_automatic_protection() -> None:
    """A market order goes out with product CNC, validity DAY, our tag and market_protection -1."""
    assert form(place()) == {"exchange": "NSE", "tradingsymbol": "INFY", "transaction_type": "BUY",
                             "order_type": "MARKET", "quantity": "2", "product": "CNC", "validity": "DAY",
                             "tag": "bzTAG", "market_protection": "-1"}


def test_each_order_type_maps_to_kites_name_with_its_prices() -> None:
    """LIMIT carries price; SL carries price and trigger; SL-M carries trigger and protection."""
    limit = form(place(order_type=OrderType.LIMIT, limit_price=Decimal("1500.05"), side=Side.SELL))
    assert (limit["order_type"], limit["price"], limit["transaction_type"]) == ("LIMIT", "1500.05", "SELL")
    assert "market_protection" not in limit
    assert "trigger_price" not in limit
    sl = form(place(order_type=OrderType.STOP_LIMIT, limit_price=Decimal("1500"),
                    trigger_price=Decimal("1499.5")))
    assert (sl["order_type"], sl["price"], sl["trigger_price"]) == ("SL", "1500", "1499.5")
    slm = form(place(order_type=OrderType.STOP, trigger_price=Decimal("1E+3"),
                     market_protection=Decimal("2.5")))
    assert (slm["order_type"], slm["trigger_price"], slm["market_protection"]) == ("SL-M", "1000", "2.5")


def test_product_ioc_and_bse_are_passed_through() -> None:
    """MIS / NRML products, IOC validity and the BSE exchange reach the form unchanged."""
    sent = form(place(product=Product.MIS, time_in_force=TimeInForce.IOC, market=Market.BSE))
    assert (sent["product"], sent["validity"], sent["exchange"]) == ("MIS", "IOC", "BSE")
    assert form(place(product=Product.NRML))["product"] == "NRML"


def test_symbols_with_form_characters_are_escaped() -> None:
    """A symbol such as M&M is escaped, so it cannot split the form."""
    assert form(place(symbol="M&M"))["tradingsymbol"] == "M&M"
    assert "tradingsymbol=M%26M" in mapping.order_form(place(symbol="M&M"), "bzTAG")


@pytest.mark.parametrize("overrides", [
    {"quantity": None, "notional": Decimal(1000)},
    {"quantity": Decimal("1.5")},
    {"time_in_force": TimeInForce.GTC},
    {"market": Market.US},
])
def test_what_kite_cannot_take_is_refused_before_sending(overrides: dict[str, Any]) -> None:
    """Notional, fractional, GTC and non-Indian orders raise InvalidOrder locally."""
    with pytest.raises(InvalidOrder):
        mapping.order_form(place(**overrides), "bzTAG")


@pytest.mark.parametrize(("raw", "filled", "status"), [
    ("PUT ORDER REQ RECEIVED", 0, OrderStatus.OPEN),
    ("AMO REQ RECEIVED", 0, OrderStatus.OPEN),
    ("VALIDATION PENDING", 0, OrderStatus.OPEN),
    ("OPEN PENDING", 0, OrderStatus.OPEN),
    ("OPEN", 0, OrderStatus.OPEN),
    ("OPEN", 3, OrderStatus.PARTIALLY_FILLED),
    ("TRIGGER PENDING", 0, OrderStatus.OPEN),
    ("MODIFY VALIDATION PENDING", 0, OrderStatus.OPEN),
    ("MODIFIED", 1, OrderStatus.PARTIALLY_FILLED),
    ("UPDATE", 2, OrderStatus.PARTIALLY_FILLED),
    ("CANCEL PENDING", 0, OrderStatus.PENDING_CANCEL),
    ("COMPLETE", 5, OrderStatus.FILLED),
    ("CANCELLED", 2, OrderStatus.CANCELLED),
    ("CANCELLED AMO", 0, OrderStatus.CANCELLED),
    ("REJECTED", 0, OrderStatus.REJECTED),
])
def test_kite_statuses_map_onto_ours(raw: str, filled: int, status: OrderStatus) -> None:
    """Each Kite status (and a fill on a working order) maps to one of our statuses."""
    assert mapping.status_of(raw, Decimal(filled)) is status


def test_an_unknown_status_is_a_protocol_error() -> None:
    """A status outside Kite's documented set is not guessed at."""
    with pytest.raises(BrokerProtocolError):
        mapping.status_of("SOMETHING NEW", Decimal(0))


MOCK_ROW = {  # the shape of Kite's orders.json mock (numbers as Kite sends them)
    "placed_by": "XXXXXX", "order_id": "1953341975595868160", "exchange_order_id": "1300000001887410",
    "status": "REJECTED", "status_message": "Insufficient funds. Required margin is 95417.84 but available "
    "margin is 74251.80. Check the orderbook for open orders.", "order_timestamp": "2022-03-03 09:24:25",
    "exchange_update_timestamp": "2022-03-03 09:24:26", "variety": "regular", "exchange": "NSE",
    "tradingsymbol": "INFY", "order_type": "SL", "transaction_type": "SELL", "validity": "DAY",
    "product": "MIS", "quantity": 10, "price": 1500.05, "trigger_price": 1500.1, "average_price": 0,
    "filled_quantity": 0, "pending_quantity": 0, "tag": "bz1234567890abcdef12",
    "tags": ["bz1234567890abcdef12"],
}


def test_an_order_row_becomes_a_report_with_exact_decimals_and_utc_times() -> None:
    """Prices stay exact, IST times become UTC, and a rejection keeps Kite's reason."""
    row = json.loads(json.dumps(MOCK_ROW), parse_float=Decimal)
    report = mapping.order_report(row, {"bz1234567890abcdef12": "bz1234567890abcdef1234567890ab"}.get)
    assert report.client_order_id == "bz1234567890abcdef1234567890ab"
    assert (report.order_type, report.side, report.quantity) == (OrderType.STOP_LIMIT, Side.SELL, Decimal(10))
    assert (report.limit_price, report.trigger_price) == (Decimal("1500.05"), Decimal("1500.1"))
    assert report.average_price is None
    assert report.status is OrderStatus.REJECTED
    assert report.raw_status == "REJECTED"
    assert report.updated_at == datetime(2022, 3, 3, 3, 54, 26, tzinfo=UTC)
    assert report.reject_reason is not None
    assert errors.rejection_class(report.reject_reason) is InsufficientFunds
    assert report.time_in_force is TimeInForce.DAY


def test_a_tag_we_do_not_know_is_reported_as_the_tag_and_no_tag_as_none() -> None:
    """Without our id for a tag the report carries the tag; an untagged order carries None."""
    assert mapping.order_report(dict(MOCK_ROW), lambda tag: None).client_order_id == "bz1234567890abcdef12"
    assert mapping.order_report({**MOCK_ROW, "tag": None}, lambda tag: None).client_order_id is None


def test_a_row_missing_fields_is_a_protocol_error() -> None:
    """An order row without its status or quantity does not map."""
    for key in ("status", "quantity", "order_id", "tradingsymbol"):
        with pytest.raises(BrokerProtocolError):
            mapping.order_report({k: v for k, v in MOCK_ROW.items() if k != key}, lambda tag: None)


def test_margins_become_a_balance_with_every_figure_named() -> None:
    """net is the buying power, live_balance the cash, and all numbers are kept by dotted name."""
    data = {"equity": {"enabled": True, "net": Decimal("99000.5"),
                       "available": {"cash": 100000, "live_balance": Decimal("99000.5")},
                       "utilised": {"debits": Decimal("999.5")}},
            "commodity": {"enabled": False, "net": 0, "available": {"cash": 0}}}
    balance = mapping.balance_report(data)
    assert (balance.currency, balance.cash) == ("INR", Decimal("99000.5"))
    assert balance.buying_power == Decimal("99000.5")
    assert balance.margins["equity.utilised.debits"] == Decimal("999.5")
    assert balance.margins["commodity.available.cash"] == 0
    assert "equity.enabled" not in balance.margins


def test_net_positions_skip_closed_and_foreign_rows() -> None:
    """Only open NSE/BSE net positions are reported, signed, with their product."""
    data = {"net": [
        {"tradingsymbol": "INFY", "exchange": "NSE", "product": "CNC", "quantity": -3,
         "average_price": Decimal("1500.5"), "unrealised": Decimal("-2.5")},
        {"tradingsymbol": "TCS", "exchange": "NSE", "product": "MIS", "quantity": 0, "average_price": 0},
        {"tradingsymbol": "NIFTY26MAYFUT", "exchange": "NFO", "product": "NRML", "quantity": 50},
    ], "day": []}
    [position] = mapping.position_reports(data)
    assert (position.symbol, position.quantity, position.product) == ("INFY", Decimal(-3), Product.CNC)
    assert (position.average_price, position.unrealized_pnl) == (Decimal("1500.5"), Decimal("-2.5"))


def test_a_quote_takes_best_bid_and_ask_from_the_depth() -> None:
    """The quote's last price, top of depth and timestamp are read; a missing key is InvalidOrder."""
    data = {"NSE:INFY": {"last_price": Decimal("1520.05"), "timestamp": "2026-05-11 10:00:00",
                         "depth": {"buy": [{"price": Decimal("1520"), "quantity": 5}],
                                   "sell": [{"price": Decimal("1520.1"), "quantity": 7}]}}}
    quote = mapping.quote_report("INFY", "NSE:INFY", data)
    assert (quote.last, quote.bid, quote.ask) == (Decimal("1520.05"), Decimal("1520"), Decimal("1520.1"))
    assert quote.time == datetime(2026, 5, 11, 4, 30, tzinfo=UTC)
    with pytest.raises(InvalidOrder):
        mapping.quote_report("TCS", "NSE:TCS", data)


DUMP = ("instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,"
        "instrument_type,segment,exchange,freeze_quantity\n"
        "408065,1594,INFY,INFOSYS,1520.0,,0.0,0.05,1,EQ,NSE,NSE,100000\n"
        "12073986,47164,NIFTY26MAYFUT,,0.0,2026-05-28,0.0,0.1,75,FUT,NFO-FUT,NFO,1800\n"
        "500209,1953,INFY,INFOSYS,1520.0,,0.0,0.05,1,EQ,BSE,BSE,\n"
        "256265,1001,NIFTY 50,,0.0,,0.0,0.0,0,EQ,INDICES,NSE,\n")


def test_the_instrument_dump_gives_tick_lot_and_freeze_for_our_markets() -> None:
    """Rows of NSE and BSE become Instruments; derivatives and untradable indices are left out."""
    table = mapping.instruments(wire.csv_text(gzip.compress(DUMP.encode())))
    assert set(table) == {("NSE", "INFY"), ("BSE", "INFY")}
    infy = table[("NSE", "INFY")]
    assert (infy.tick_size, infy.lot_size, infy.freeze_qty, infy.market) == (
        Decimal("0.05"), Decimal(1), Decimal(100000), Market.NSE)
    assert table[("BSE", "INFY")].freeze_qty is None
    with pytest.raises(BrokerProtocolError):
        mapping.instruments("not,a,dump\n1,2,3\n")


def _body(error_type: str | None, message: str) -> bytes:
    body = {"status": "error", "error_type": error_type, "message": message, "data": None}
    return json.dumps(body).encode()


@pytest.mark.parametrize(("status", "error_type", "message", "changes", "expected"), [
    (429, "NetworkException", "Too many requests", True, RateLimited),
    (403, "TokenException", "Incorrect `api_key` or `access_token`.", False, errors.KiteAuthExpired),
    (403, "PermissionException", "IP (1.2.3.4) is not allowed to place orders for this app.", True,
     BrokerAuthError),
    (500, "GeneralException", "Something went wrong.", True, OutcomeUnknown),
    (503, "NetworkException", "Service unavailable.", False, BrokerDown),
    (504, "NetworkException", "Gateway timed out. Please try again.", True, OutcomeUnknown),
    (502, None, "<html>bad gateway</html>", False, BrokerDown),
    (400, "InputException", "Couldn't find that `order_id`.", False, OrderNotFound),
    (400, "MarginException", "Insufficient funds. Required margin is 1 but available margin is 0.", True,
     InsufficientFunds),
    (400, "InputException", "Markets are not open for trading today. Try placing an AMO order.", True,
     MarketClosed),
    (400, "InputException", "Tick size for this script is 0.05. Kindly enter price in the multiple", True,
     InvalidOrder),
    (400, "OrderException", "Order rejected.", True, InvalidOrder),
    (404, "GeneralException", "Route not found", False, BrokerProtocolError),
    (418, None, "teapot", False, BrokerProtocolError),
])
def test_the_error_table(status: int, error_type: str | None, message: str, changes: bool,
                         expected: type[Exception]) -> None:
    """Each row of errors.py's table gives its class, and the message names the path, not the query."""
    error = errors.classify(status, _body(error_type, message), None, where="POST /orders/regular",
                            changes_state=changes)
    assert type(error) is expected
    if isinstance(error, RateLimited):
        assert error.retry_after == Decimal(1)


def test_retry_after_and_the_day_cap_set_the_wait() -> None:
    """A Retry-After header wins; the daily order cap waits an hour."""
    sent = errors.classify(429, _body("NetworkException", "Too many requests"), Decimal(3), where="x",
                           changes_state=True)
    assert isinstance(sent, RateLimited)
    assert sent.retry_after == Decimal(3)
    day = errors.classify(429, _body("NetworkException", errors.DAY_CAP), None, where="x", changes_state=True)
    assert isinstance(day, RateLimited)
    assert day.retry_after == Decimal(3600)


def test_login_checksum_matches_the_reference_vector() -> None:
    """sha256(api_key + request_token + api_secret) for KEY/RT/SEC is the reference's value."""
    expected = "96583319e5d7bf77341d977df8069101ab3766eb1f1c2854d29e3fee163acc30"
    assert login.checksum("KEY", "RT", "SEC") == expected


def test_postback_checksum_is_verified() -> None:
    """The reference's postback vector verifies; a changed field or another secret does not."""
    payload = {"order_id": "220303000308932", "order_timestamp": "2022-03-03 09:24:25", "status": "COMPLETE",
               "checksum": "5c0e6066274c7a71537ecaa781a5db2e0921add89025b6ef28aa0717921763b5"}
    assert login.verify_postback(json.dumps(payload).encode(), Secret("SEC"))["status"] == "COMPLETE"
    with pytest.raises(login.InvalidPostback):
        login.verify_postback(json.dumps(payload).encode(), Secret("OTHER"))
    with pytest.raises(login.InvalidPostback):
        login.verify_postback(json.dumps({**payload, "order_id": "1"}).encode(), Secret("SEC"))
    with pytest.raises(login.InvalidPostback):
        login.verify_postback(b"not json", Secret("SEC"))


def test_login_url_and_expiry() -> None:
    """The login URL carries the key and v=3; a token expires at the next 06:00 IST (00:30 UTC)."""
    url = login.login_url("KEY", {"state": "a b"})
    assert url.startswith("https://kite.zerodha.com/connect/login?api_key=KEY&v=3&redirect_params=")
    six_ist = datetime(2026, 5, 11, 0, 30, tzinfo=UTC)
    assert login.next_expiry(six_ist - timedelta(minutes=1)) == six_ist
    assert login.next_expiry(six_ist) == six_ist + timedelta(days=1)
