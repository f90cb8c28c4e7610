"""An account's positions, balance and quote over HTTP: ours from our executions, the rest from its
paper broker, each only for the account's owner (or an admin); broker failures answer as problems."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from ...contract.harness import admin, price_of, set_faults
from .conftest import Service, until

SYMBOL = "BTCUSDT"
PROBLEM = "urn:boltztrader:problem:"


def _signal(signal_id: str, **extra: Any) -> dict[str, Any]:
    body = {"id": signal_id, "model_id": "m1", "symbol": SYMBOL, "market": "crypto", "side": "buy",
            "quantity": "0.002", "confidence": "0.9", "created_at": datetime.now(UTC).isoformat()}
    return body | extra


async def _filled(client: httpx.AsyncClient, signal_id: str, **extra: Any) -> dict[str, Any]:
    """Send a signal and wait for its order to fill; the order."""
    answer = await client.post("/v1/signals", json=_signal(signal_id, **extra))
    assert answer.status_code == 201, answer.text
    order_id = answer.json()["outcomes"][0]["order_id"]

    async def check() -> dict[str, Any] | None:
        got = (await client.get(f"/v1/orders/{order_id}")).json()
        return got if got["status"] == "filled" else None

    found = await until(check)
    assert found is not None, "the order never filled"
    return dict(found)


def _clients(service: Service) -> tuple[httpx.AsyncClient, httpx.AsyncClient, httpx.AsyncClient]:
    """The trader's, the other user's and the admin's clients."""
    trader, other, boss = (httpx.AsyncClient(base_url=service.url, headers=service.headers(token))
                           for token in (service.token, service.other_token, service.admin_token))
    return trader, other, boss


async def test_positions_follow_our_fills_and_are_the_owners_alone(service: Service) -> None:
    """Two buys then a sell of BTCUSDT leave the position the executions add up to, realised profit kept;
    the other user gets 404 for it, as for an unknown account; an admin sees it."""
    binance = service.accounts["binance"]
    trader, other, boss = _clients(service)
    async with trader, other, boss:
        assert (await trader.get(f"/v1/accounts/{binance}/positions")).json() == []
        first = await _filled(trader, "pos-1", account_id=binance)
        second = await _filled(trader, "pos-2", account_id=binance, quantity="0.003")
        sold = await _filled(trader, "pos-3", account_id=binance, side="sell", quantity="0.001")
        answer = await trader.get(f"/v1/accounts/{binance}/positions")
        assert answer.status_code == 200, answer.text
        (position,) = answer.json()
        fields = {"symbol", "market", "quantity", "average_price", "realized_pnl", "updated_at"}
        assert set(position) == fields
        assert position["symbol"] == SYMBOL
        assert position["market"] == "crypto"
        assert Decimal(position["quantity"]) == Decimal("0.004")
        cost = sum(Decimal(o["filled_quantity"]) * Decimal(o["average_price"]) for o in (first, second))
        assert Decimal(position["average_price"]) == cost / Decimal("0.005")
        realized = (Decimal(sold["average_price"]) - Decimal(position["average_price"])) * Decimal("0.001")
        assert Decimal(position["realized_pnl"]) == realized
        assert isinstance(position["realized_pnl"], str)

        for path in (f"/v1/accounts/{binance}/positions", "/v1/accounts/no-such-account/positions"):
            refused = await other.get(path)
            assert refused.status_code == 404, refused.text
            assert refused.json()["type"] == PROBLEM + "account-not-found"
        assert (await boss.get(f"/v1/accounts/{binance}/positions")).json() == [position]


async def test_the_balance_is_the_brokers_own_figure(service: Service) -> None:
    """The balance answers the paper broker's cash and equity as decimal strings, falls after a buy, and
    is 404 for another user's account."""
    binance = service.accounts["binance"]
    assert service.container.runtime is not None
    broker = service.container.runtime.directory[binance]
    trader, other, boss = _clients(service)
    async with trader, other, boss:
        answer = await trader.get(f"/v1/accounts/{binance}/balance")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"currency", "cash", "equity", "buying_power", "as_of"}
        report = await broker.get_balance()
        assert body["currency"] == report.currency
        assert Decimal(body["cash"]) == report.cash
        assert Decimal(body["buying_power"]) == report.buying_power
        assert isinstance(body["equity"], str)
        as_of = datetime.fromisoformat(body["as_of"])
        assert abs(datetime.now(UTC) - as_of) < timedelta(minutes=1)

        await _filled(trader, "bal-1", account_id=binance)
        after = (await trader.get(f"/v1/accounts/{binance}/balance")).json()
        assert Decimal(after["cash"]) < Decimal(body["cash"])

        refused = await other.get(f"/v1/accounts/{binance}/balance")
        assert refused.status_code == 404
        assert refused.json()["type"] == PROBLEM + "account-not-found"
        assert (await boss.get(f"/v1/accounts/{binance}/balance")).status_code == 200
        assert (await other.get(f"/v1/accounts/{service.other_account}/balance")).status_code == 200


async def test_a_broker_failure_answers_as_its_problem(service: Service) -> None:
    """The paper broker down (503) answers 503 broker-unavailable; rate limited answers 429 with
    Retry-After; neither leaks the broker's host."""
    binance = service.accounts["binance"]
    paper = service.papers["binance"]
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as trader:
        try:
            set_faults(paper, {"rules": [{"op": "account", "action": "error_before", "status": 503}]})
            down = await trader.get(f"/v1/accounts/{binance}/balance")
            set_faults(paper, {"rules": [{"op": "account", "action": "rate_limit", "retry_after_s": 3}]})
            limited = await trader.get(f"/v1/accounts/{binance}/balance")
        finally:
            admin(paper, "PUT", "/_paper/faults", json={"rules": []})
        assert (await trader.get(f"/v1/accounts/{binance}/balance")).status_code == 200
    assert down.status_code == 503, down.text
    assert down.json()["type"] == PROBLEM + "broker-unavailable"
    assert limited.status_code == 429, limited.text
    assert limited.json()["type"] == PROBLEM + "rate-limited"
    assert int(limited.headers["Retry-After"]) >= 1
    for answer in (down, limited):
        assert paper.url.split("//")[1] not in answer.text


async def test_the_quote_is_the_brokers_price_of_the_symbol(service: Service) -> None:
    """The quote's last price is the paper market's (Binance and Kite); a missing or unknown symbol is 422;
    another user's account 404."""
    binance = service.accounts["binance"]
    trader, other, _boss = _clients(service)
    async with trader, other, _boss:
        answer = await trader.get(f"/v1/accounts/{binance}/quote", params={"symbol": SYMBOL})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"symbol", "bid", "ask", "last", "at"}
        assert body["symbol"] == SYMBOL
        assert Decimal(body["last"]) == price_of(service.papers["binance"], SYMBOL)
        if body["bid"] is not None and body["ask"] is not None:
            assert Decimal(body["bid"]) <= Decimal(body["last"]) <= Decimal(body["ask"])
        datetime.fromisoformat(body["at"])
        assert (await trader.get(f"/v1/accounts/{binance}/quote")).status_code == 422
        unknown = await trader.get(f"/v1/accounts/{binance}/quote", params={"symbol": "NOSUCHCOIN"})
        assert unknown.status_code == 422, unknown.text
        assert unknown.json()["type"] == PROBLEM + "broker-rejected"
        refused = await other.get(f"/v1/accounts/{binance}/quote", params={"symbol": SYMBOL})
        assert refused.status_code == 404
        kite = await trader.get(f"/v1/accounts/{service.accounts['kite']}/quote", params={"symbol": "INFY"})
        assert kite.status_code == 200, kite.text
        assert Decimal(kite.json()["last"]) == price_of(service.kite, "INFY")
