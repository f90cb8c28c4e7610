"""The UNMODIFIED official kiteconnect client (5.2.x) against the paper Kite server."""

from __future__ import annotations

import datetime as dt

import pytest
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from boltztrader.paper.kite.session import next_expiry
from tests.paper.conftest import RunningPaper
from tests.paper.kite.conftest import admin


def _client(paper: RunningPaper, cash: str | None = None) -> tuple[KiteConnect, dict[str, str]]:
    created = admin(paper, "POST", "/_paper/accounts", json={} if cash is None else {"cash": cash})
    kite = KiteConnect(api_key=created["api_key"], root=paper.url)
    session = kite.generate_session(created["request_token"], api_secret=created["api_secret"])
    assert session["access_token"] == kite.access_token
    assert isinstance(session["login_time"], dt.datetime)
    return kite, created


def test_official_client_full_round(paper: RunningPaper) -> None:
    """Session, orders, history, trades, modify, cancel, positions, holdings, margins and profile all work."""
    kite, created = _client(paper)
    assert kite.profile()["user_id"] == created["user_id"]

    filled = kite.place_order(variety=kite.VARIETY_REGULAR, exchange=kite.EXCHANGE_NSE,
                              tradingsymbol="INFY", transaction_type=kite.TRANSACTION_TYPE_BUY, quantity=5,
                              product=kite.PRODUCT_CNC, order_type=kite.ORDER_TYPE_MARKET,
                              market_protection=kite.MARKET_PROTECTION_AUTO, tag="conform1")
    resting = kite.place_order(variety=kite.VARIETY_REGULAR, exchange=kite.EXCHANGE_NSE,
                               tradingsymbol="TCS", transaction_type=kite.TRANSACTION_TYPE_BUY, quantity=2,
                               product=kite.PRODUCT_MIS, order_type=kite.ORDER_TYPE_LIMIT, price=3000.05)
    assert isinstance(filled, str)
    assert isinstance(resting, str)

    orders = {order["order_id"]: order for order in kite.orders()}
    assert orders[filled]["status"] == kite.STATUS_COMPLETE
    assert orders[filled]["tag"] == "conform1"
    assert isinstance(orders[filled]["order_timestamp"], dt.datetime)
    assert orders[resting]["status"] == "OPEN"
    assert orders[resting]["price"] == 3000.05

    history = kite.order_history(filled)
    assert [h["status"] for h in history][-1] == "COMPLETE"
    assert history[0]["status"] == "PUT ORDER REQ RECEIVED"

    trades = kite.trades()
    assert [t["order_id"] for t in trades] == [filled]
    assert isinstance(trades[0]["fill_timestamp"], dt.datetime)
    assert kite.order_trades(filled)[0]["quantity"] == 5

    assert kite.modify_order(kite.VARIETY_REGULAR, resting, price=3001.5, quantity=3) == resting
    assert kite.cancel_order(kite.VARIETY_REGULAR, resting) == resting
    assert kite.order_history(resting)[-1]["status"] == kite.STATUS_CANCELLED
    with pytest.raises(kex.InputException):
        kite.cancel_order(kite.VARIETY_REGULAR, resting)

    positions = kite.positions()
    assert [(p["tradingsymbol"], p["quantity"]) for p in positions["net"]] == [("INFY", 5)]
    assert kite.holdings()[0]["t1_quantity"] == 5
    margins = kite.margins()
    assert margins["equity"]["net"] < 1_000_000
    assert kite.margins("equity")["net"] == margins["equity"]["net"]


def test_official_client_market_data(paper: RunningPaper) -> None:
    """instruments() parses the CSV; ltp(), ohlc() and quote() accept several instruments."""
    kite, _ = _client(paper)
    instruments = kite.instruments()
    assert {row["tradingsymbol"] for row in instruments} == {"INFY", "RELIANCE", "TCS", "HDFCBANK", "SBIN"}
    assert all(row["tick_size"] == 0.05 and row["lot_size"] == 1 for row in instruments)
    assert kite.instruments("NSE") == instruments
    ltp = kite.ltp("NSE:INFY", "NSE:RELIANCE")
    assert ltp["NSE:RELIANCE"]["instrument_token"] == 738561
    assert kite.ohlc("NSE:SBIN")["NSE:SBIN"]["ohlc"]["close"] == 820
    quote = kite.quote(["NSE:HDFCBANK"])
    assert isinstance(quote["NSE:HDFCBANK"]["timestamp"], dt.datetime)


def test_official_client_sees_rejected_order_for_insufficient_funds(paper: RunningPaper) -> None:
    """An order beyond the cash still returns an order_id; orders() shows it REJECTED with the reason."""
    kite, _ = _client(paper, cash="10000")
    order_id = kite.place_order(variety="regular", exchange="NSE", tradingsymbol="RELIANCE",
                                transaction_type="BUY", quantity=10, product="CNC", order_type="LIMIT",
                                price=1410)
    (order,) = kite.orders()
    assert order["order_id"] == order_id
    assert order["status"] == kite.STATUS_REJECTED
    assert order["status_message"].startswith("Insufficient funds. Required margin is 14100.00 but available "
                                              "margin is 10000.00.")


def test_official_client_input_error_is_an_exception(paper: RunningPaper) -> None:
    """A price off the tick raises InputException with Kite's message and code 400."""
    kite, _ = _client(paper)
    with pytest.raises(kex.InputException) as raised:
        kite.place_order(variety="regular", exchange="NSE", tradingsymbol="INFY", transaction_type="BUY",
                         quantity=1, product="CNC", order_type="LIMIT", price=0.1 + 0.2)
    assert raised.value.code == 400
    assert "Tick size" in str(raised.value)


def test_official_client_token_exception_after_expiry(paper: RunningPaper) -> None:
    """Past 06:00 IST the client raises TokenException (403) and calls its session-expiry hook."""
    kite, _ = _client(paper)
    expired: list[bool] = []
    kite.set_session_expiry_hook(lambda: expired.append(True))
    assert kite.orders() == []
    venue = paper.venue
    later = next_expiry(dt.datetime.now(dt.UTC)) + dt.timedelta(minutes=1)
    paper.call(lambda: setattr(venue, "clock", lambda: later))
    with pytest.raises(kex.TokenException) as raised:
        kite.orders()
    assert raised.value.code == 403
    assert expired == [True]


def test_official_client_logout(paper: RunningPaper) -> None:
    """invalidate_access_token() logs out; the next call raises TokenException."""
    kite, _ = _client(paper)
    assert kite.invalidate_access_token() is True
    with pytest.raises(kex.TokenException):
        kite.profile()
