"""Wire fidelity of positions, holdings and margins, kept consistent with fills."""

from __future__ import annotations

from tests.paper.kite.conftest import KiteUser

POSITION_FIELDS = {
    "tradingsymbol", "exchange", "instrument_token", "product", "quantity", "overnight_quantity",
    "multiplier",
    "average_price", "close_price", "last_price", "value", "pnl", "m2m", "unrealised", "realised",
    "buy_quantity", "buy_price", "buy_value", "buy_m2m", "sell_quantity", "sell_price", "sell_value",
    "sell_m2m", "day_buy_quantity", "day_buy_price", "day_buy_value", "day_sell_quantity", "day_sell_price",
    "day_sell_value",
}


def test_positions_net_and_day_after_a_fill(user: KiteUser) -> None:
    """A filled CNC buy shows in net and day with its quantity, price and the cash-flow-signed value."""
    assert user.data("GET", "/portfolio/positions") == {"net": [], "day": []}
    user.place(price="1530", quantity=10)
    positions = user.data("GET", "/portfolio/positions")
    assert set(positions) == {"net", "day"}
    (net,) = positions["net"]
    assert set(net) == POSITION_FIELDS
    assert net["tradingsymbol"] == "INFY"
    assert net["product"] == "CNC"
    assert net["quantity"] == 10
    assert net["buy_quantity"] == 10
    assert net["sell_quantity"] == 0
    assert net["value"] == -net["buy_value"]
    assert net["value"] < 0
    assert positions["day"][0]["day_buy_quantity"] == 10


def test_positions_are_per_product_and_record_realised_pnl(user: KiteUser) -> None:
    """Buying and selling MIS closes the MIS row (quantity 0, still listed) with realised P&L."""
    user.place(product="MIS", price="1530", quantity=2)
    user.set_price("INFY", "1550")
    user.place(product="MIS", transaction_type="SELL", price="1540", quantity=2)
    (row,) = user.data("GET", "/portfolio/positions")["net"]
    assert row["product"] == "MIS"
    assert row["quantity"] == 0
    assert row["sell_quantity"] == 2
    assert row["realised"] > 0


def test_holdings_show_todays_cnc_buys_as_t1(user: KiteUser) -> None:
    """Today's CNC buy is a holding with t1_quantity (settlement pending), as Kite shows it."""
    assert user.data("GET", "/portfolio/holdings") == []
    user.place(tradingsymbol="SBIN", price="825", quantity=7)
    (holding,) = user.data("GET", "/portfolio/holdings")
    assert holding["tradingsymbol"] == "SBIN"
    assert holding["isin"] == "INE062A01020"
    assert holding["t1_quantity"] == 7
    assert holding["quantity"] == 0
    assert holding["instrument_token"] == 779521


def test_margins_follow_cash(user: KiteUser) -> None:
    """Margins start at the default cash; a resting buy and a fill reduce net by value plus charges."""
    margins = user.data("GET", "/user/margins")
    assert set(margins) == {"equity", "commodity"}
    equity = margins["equity"]
    assert equity["net"] == 1_000_000
    assert equity["available"]["opening_balance"] == 1_000_000
    assert set(equity["available"]) == {"adhoc_margin", "cash", "opening_balance", "live_balance",
                                        "collateral", "intraday_payin"}
    assert "debits" in equity["utilised"]
    user.place(price="1000", quantity=10)  # rests: 10,000 plus charges reserved
    equity = user.data("GET", "/user/margins/equity")
    assert 989_980 <= equity["net"] < 990_000
    assert equity["utilised"]["debits"] == 1_000_000 - equity["net"]
    assert user.request("GET", "/user/margins/forex").status_code == 400
