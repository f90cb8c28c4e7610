"""The /_paper/ admin API that every paper broker shares, over a real socket."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import httpx
from aiohttp import web

from boltztrader.paper.http import admin_routes
from boltztrader.paper.model import Side, State
from boltztrader.paper.server import BrokerSpec
from boltztrader.paper.venue import Venue, VenueConfig

from .conftest import RunningPaper
from .test_engine_fixtures import BTC, FLAT, limit


def _make_venue(config: VenueConfig) -> Venue:
    return Venue("test", [BTC], {"BTCUSDT": Decimal("50000")}, {"USDT": Decimal("1000")}, config=config)


def _make_app(venue: Venue) -> web.Application:
    app = web.Application()
    app.add_routes(admin_routes(lambda account: {"api_key": account.api_key}, "USDT"))
    return app


SPEC = BrokerSpec("test", 0, _make_venue, _make_app)
CONFIG = VenueConfig(seed=3, engine=FLAT, tick_seconds=0)


def test_create_account_with_cash_and_read_it_back(paper_factory: Callable[..., RunningPaper]) -> None:
    """POST /_paper/accounts funds a new account as asked and GET shows its balances."""
    paper = paper_factory(SPEC, CONFIG)
    created = httpx.post(paper.url + "/_paper/accounts", json={"cash": {"USDT": "2500.5", "BTC": "1"}})
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"account_id", "api_key"}
    state = httpx.get(f"{paper.url}/_paper/accounts/{body['account_id']}").json()
    assert state["balances"] == {"BTC": {"free": "1", "locked": "0"},
                                 "USDT": {"free": "2500.5", "locked": "0"}}


def test_default_cash_and_plain_number_cash(paper_factory: Callable[..., RunningPaper]) -> None:
    """Without a body the venue's default cash is used; a bare number is cash in the default currency."""
    paper = paper_factory(SPEC, CONFIG)
    default = httpx.post(paper.url + "/_paper/accounts").json()
    plain = httpx.post(paper.url + "/_paper/accounts", json={"cash": "77"}).json()
    balances = [httpx.get(f"{paper.url}/_paper/accounts/{a['account_id']}").json()["balances"]
                for a in (default, plain)]
    assert balances[0]["USDT"]["free"] == "1000"
    assert balances[1]["USDT"]["free"] == "77"


def test_same_seed_ticks_to_the_same_prices(paper_factory: Callable[..., RunningPaper]) -> None:
    """Two servers with one seed reach the same prices after the same number of ticks."""
    first, second = paper_factory(SPEC, CONFIG), paper_factory(SPEC, CONFIG)
    after = [httpx.post(p.url + "/_paper/tick", json={"steps": 25}).json()["prices"] for p in (first, second)]
    assert after[0] == after[1]
    assert after[0]["BTCUSDT"] != "50000.00"


def test_set_price_and_replay(paper_factory: Callable[..., RunningPaper]) -> None:
    """Prices can be set by hand and replaced by a CSV replay that the next ticks follow."""
    paper = paper_factory(SPEC, CONFIG)
    set_ = httpx.post(paper.url + "/_paper/prices", json={"prices": {"BTCUSDT": "51234.567"}})
    assert set_.json() == {"prices": {"BTCUSDT": "51234.57"}}
    csv_text = "symbol,price\nBTCUSDT,40000\nBTCUSDT,40001.5\n"
    replay = httpx.post(paper.url + "/_paper/replay", content=csv_text)
    assert replay.json() == {"symbols": ["BTCUSDT"]}
    ticks = [httpx.post(paper.url + "/_paper/tick").json()["prices"]["BTCUSDT"] for _ in range(3)]
    assert ticks == ["40000.00", "40001.50", "40001.50"]


def test_fault_plan_is_set_shown_and_cleared(paper_factory: Callable[..., RunningPaper]) -> None:
    """PUT stores a valid plan, GET shows it, DELETE clears it, and a bad plan is a 400 naming the field."""
    paper = paper_factory(SPEC, CONFIG)
    plan = {"rules": [{"op": "place_order", "action": "error_after", "count": 1}]}
    assert httpx.put(paper.url + "/_paper/faults", json=plan).status_code == 200
    assert httpx.get(paper.url + "/_paper/faults").json()["rules"][0]["action"] == "error_after"
    bad = httpx.put(paper.url + "/_paper/faults", json={"rules": [{"action": "meteor"}]})
    assert bad.status_code == 400
    assert "rules[0].action" in bad.json()["error"]
    assert httpx.delete(paper.url + "/_paper/faults").json()["rules"] == []


def test_bad_admin_input_is_a_400_with_a_reason(paper_factory: Callable[..., RunningPaper]) -> None:
    """Unknown symbols, negative cash and malformed JSON are refused with 400 and a message."""
    paper = paper_factory(SPEC, CONFIG)
    cases = [
        httpx.post(paper.url + "/_paper/prices", json={"prices": {"DOGEUSDT": "1"}}),
        httpx.post(paper.url + "/_paper/accounts", json={"cash": "-5"}),
        httpx.post(paper.url + "/_paper/accounts", content=b"{nope",
                   headers={"Content-Type": "application/json"}),
        httpx.post(paper.url + "/_paper/tick", json={"steps": 0}),
    ]
    assert [r.status_code for r in cases] == [400, 400, 400, 400]
    assert all(r.json()["error"] for r in cases)
    assert httpx.get(paper.url + "/_paper/accounts/NOPE").status_code == 404


def test_reset_forgets_accounts(paper_factory: Callable[..., RunningPaper]) -> None:
    """After POST /_paper/reset an account created before is gone."""
    paper = paper_factory(SPEC, CONFIG)
    account = httpx.post(paper.url + "/_paper/accounts").json()
    assert httpx.post(paper.url + "/_paper/reset").json() == {"reset": True}
    assert httpx.get(f"{paper.url}/_paper/accounts/{account['account_id']}").status_code == 404


def test_revoked_key_is_no_longer_known(paper_factory: Callable[..., RunningPaper]) -> None:
    """Revoking an account's key removes it from the venue's key index; the account itself stays."""
    paper = paper_factory(SPEC, CONFIG)
    account = httpx.post(paper.url + "/_paper/accounts").json()
    assert httpx.post(f"{paper.url}/_paper/accounts/{account['account_id']}/revoke").status_code == 200
    assert paper.call(lambda: paper.venue.by_api_key(account["api_key"])) is None
    assert httpx.get(f"{paper.url}/_paper/accounts/{account['account_id']}").status_code == 200


def test_liquidity_caps_what_a_price_fills(paper_factory: Callable[..., RunningPaper]) -> None:
    """A price set with a liquidity cap fills a crossing resting order only up to that quantity."""
    paper = paper_factory(SPEC, CONFIG)
    account = httpx.post(paper.url + "/_paper/accounts", json={"cash": {"USDT": "100000"}}).json()
    request = limit("BTCUSDT", Side.BUY, "0.01", "49000")
    order_id = paper.call(lambda: paper.venue.engine.submit(account["account_id"], request,
                                                             paper.venue.now())[0].order_id)
    body = {"prices": {"BTCUSDT": "48000"}, "liquidity": {"BTCUSDT": "0.004"}}
    assert httpx.post(paper.url + "/_paper/prices", json=body).status_code == 200
    order = paper.call(lambda: paper.venue.engine.get(account["account_id"], order_id))
    assert order.filled_quantity == Decimal("0.004")
    assert order.state is State.PARTIALLY_FILLED
