"""The accounts API end to end: linking, paper accounts, reads, changes, checks, unlinking, Kite's login."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from boltztrader.accounts.kite_login import kite_session_expiry
from boltztrader.db.tables import audit_ledger, broker_accounts, metadata

from ...contract.harness import admin
from .conftest import Service, until

PAPER_ACCOUNTS = "/_paper/accounts"


def _signal(signal_id: str, account_id: str, **extra: Any) -> dict[str, Any]:
    body = {"id": signal_id, "model_id": "m1", "symbol": "BTCUSDT", "market": "crypto", "side": "buy",
            "quantity": "0.001", "confidence": "0.9", "created_at": datetime.now(UTC).isoformat(),
            "account_id": account_id}
    return body | extra


async def _filled(client: httpx.AsyncClient, body: dict[str, Any]) -> bool:
    """Send the signal and wait until its one order is filled."""
    sent = await client.post("/v1/signals", json=body)
    assert sent.status_code == 201, sent.text
    assert [o["account_id"] for o in sent.json()["outcomes"]] == [body["account_id"]]

    async def filled() -> bool:
        got = (await client.get(f"/v1/signals/{body['id']}")).json()
        return [o["status"] for o in got["outcomes"]] == ["filled"]

    return bool(await until(filled))


def _binance_key(service: Service, **body: Any) -> dict[str, Any]:
    opened: dict[str, Any] = admin(service.papers["binance"], "POST", PAPER_ACCOUNTS, json=body)
    return opened


async def _count(service: Service, table: Any, *where: Any) -> int:
    async with service.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


async def test_a_linked_binance_key_trades_without_a_restart(service: Service) -> None:
    """POST /v1/accounts links a paper Binance key; a signal to it fills at that very paper account."""
    key = _binance_key(service)
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        linked = await client.post("/v1/accounts", json={
            "broker": "binance", "mode": "paper", "label": "second", "api_key": key["api_key"],
            "api_secret": key["api_secret"]})
        assert linked.status_code == 201, linked.text
        account = linked.json()
        assert account["api_key_hint"] == key["api_key"][-4:]
        assert (account["broker"], account["mode"], account["label"], account["region"]) == (
            "binance", "paper", "second", "crypto")
        assert (account["execution_mode"], account["trading_state"]) == ("automated", "active")
        assert account["session"] is None
        assert account["unlinked_at"] is None
        assert await _filled(client, _signal("link-1", account["id"]))
    at_paper = admin(service.papers["binance"], "GET", f"{PAPER_ACCOUNTS}/{key['account_id']}")
    assert at_paper["fills"] == 1


async def test_a_withdrawal_enabled_binance_key_is_refused_and_nothing_is_written(service: Service) -> None:
    """A key that may withdraw answers 422 naming the reason; no account row or audit entry is written."""
    key = _binance_key(service, restrictions={"enableWithdrawals": True})
    accounts_before = await _count(service, broker_accounts)
    audit_before = await _count(service, audit_ledger)
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        refused = await client.post("/v1/accounts", json={
            "broker": "binance", "mode": "paper", "label": "risky", "api_key": key["api_key"],
            "api_secret": key["api_secret"]})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["type"].endswith("invalid-account-link")
    assert "withdraw" in problem["detail"]
    assert problem["field"] == "api_key"
    assert await _count(service, broker_accounts) == accounts_before
    assert await _count(service, audit_ledger) == audit_before


async def test_bad_links_are_refused(service: Service) -> None:
    """Live in paper mode, a key Binance refuses, a taken label, server-set fields: all refused, none kept."""
    key = _binance_key(service)
    base = {"broker": "binance", "mode": "paper", "label": "x", "api_key": key["api_key"],
            "api_secret": key["api_secret"]}
    before = await _count(service, broker_accounts)
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        live = await client.post("/v1/accounts", json=base | {"mode": "live"})
        assert live.status_code == 422
        assert live.json()["field"] == "mode"
        wrong = await client.post("/v1/accounts", json=base | {"api_secret": "not-the-secret"})
        assert wrong.status_code == 422
        assert wrong.json()["field"] == "api_key"
        taken = await client.post("/v1/accounts", json=base | {"label": "main"})
        assert taken.status_code == 409
        for odd in ({"api_key": "has space"}, {"api_secret": "tab\there"}, {"label": "bell\u0007"},
                    {"label": "\udafb"}):
            refused = await client.post("/v1/accounts", content=json.dumps(base | odd),
                                        headers={"Content-Type": "application/json"})
            assert refused.status_code == 422, (odd, refused.text)
        odd_paper = json.dumps({"broker": "binance", "label": "\udafb"})
        assert (await client.post("/v1/accounts/paper", content=odd_paper,
                                  headers={"Content-Type": "application/json"})).status_code == 422
        for probe in ({"user_id": service.other_user_id}, {"trading_state": "active"}, {"unlinked_at": None},
                      {"id": "x"}):
            assert (await client.post("/v1/accounts", json=base | probe)).status_code == 422
        probe = {"broker": "binance", "user_id": service.other_user_id}
        assert (await client.post("/v1/accounts/paper", json=probe)).status_code == 422
    assert await _count(service, broker_accounts) == before


@pytest.mark.parametrize(("broker", "currency"), [("zerodha", "INR"), ("binance", "USDT"), ("alpaca", "USD")])
async def test_a_paper_account_opens_funded_and_linked_in_one_call(service: Service, broker: str,
                                                                   currency: str) -> None:
    """POST /v1/accounts/paper opens a funded paper account, links it (Kite logged in), and it checks ok."""
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        opened = await client.post("/v1/accounts/paper", json={"broker": broker})
        assert opened.status_code == 201, opened.text
        account = opened.json()
        assert (account["broker"], account["mode"], account["label"]) == (broker, "paper", "paper")
        if broker == "zerodha":
            assert account["session"]["valid"] is True
            expires = datetime.fromisoformat(account["session"]["expires_at"])
            assert expires == kite_session_expiry(datetime.now(UTC))
        else:
            assert account["session"] is None
        checked = (await client.post(f"/v1/accounts/{account['id']}/check")).json()
        assert checked["ok"] is True, checked
        assert checked["balance"]["currency"] == currency
        assert Decimal(checked["balance"]["equity"]) > 0
        again = await client.post("/v1/accounts/paper", json={"broker": broker})
        assert again.status_code == 409
        if broker == "binance":
            assert await _filled(client, _signal("paper-1", account["id"]))


async def test_list_get_patch_check_and_delete(service: Service) -> None:
    """The trader's accounts are listed and read; a patch is audited; a check reads the balance; a delete
    unlinks the account and takes it out of the runtime."""
    binance = service.accounts["binance"]
    runtime = service.container.runtime
    assert runtime is not None
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        listed = (await client.get("/v1/accounts")).json()
        assert {a["id"] for a in listed} == set(service.accounts.values())
        kite = (await client.get(f"/v1/accounts/{service.accounts['kite']}")).json()
        assert kite["session"]["valid"] is True
        patched = await client.patch(f"/v1/accounts/{binance}", json={"label": "spot",
                                                                       "execution_mode": "semi_manual"})
        assert patched.status_code == 200, patched.text
        assert (patched.json()["label"], patched.json()["execution_mode"]) == ("spot", "semi_manual")
        assert (await client.get(f"/v1/accounts/{binance}")).json()["label"] == "spot"
        assert (await client.patch(f"/v1/accounts/{binance}", json={"label": "main"})).status_code == 200
        assert (await client.patch(f"/v1/accounts/{binance}", json={"status": "x"})).status_code == 422
        checked = (await client.post(f"/v1/accounts/{binance}/check")).json()
        assert checked["ok"] is True
        assert checked["balance"]["currency"] == "USDT"
        assert binance in runtime.directory
        deleted = await client.delete(f"/v1/accounts/{binance}")
        assert deleted.status_code == 204
        assert binance not in runtime.directory
        assert binance not in {a["id"] for a in (await client.get("/v1/accounts")).json()}
        everything = (await client.get("/v1/accounts", params={"include_unlinked": "true"})).json()
        assert binance in {a["id"] for a in everything}
        assert (await client.get(f"/v1/accounts/{binance}")).json()["unlinked_at"] is not None
        assert (await client.delete(f"/v1/accounts/{binance}")).status_code == 404
        assert (await client.post(f"/v1/accounts/{binance}/check")).status_code == 404
    async with service.engine.connect() as conn:
        actions = [r.action for r in await conn.execute(
            select(audit_ledger.c.action).where(audit_ledger.c.entity_id == binance)
            .order_by(audit_ledger.c.seq))]
    assert actions.count("account.updated") == 2
    assert actions[-1] == "account.unlinked"


async def test_another_users_account_is_not_found_on_every_route(service: Service) -> None:
    """Every account route answers 404 for someone else's account; an admin reads it but cannot change it."""
    mine = service.accounts["binance"]
    routes = [("GET", f"/v1/accounts/{mine}", None), ("PATCH", f"/v1/accounts/{mine}", {"label": "x"}),
              ("POST", f"/v1/accounts/{mine}/check", None), ("DELETE", f"/v1/accounts/{mine}", None),
              ("GET", f"/v1/accounts/{service.accounts['kite']}/kite/login", None)]
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers(service.other_token)) as other:
        for method, path, body in routes:
            answer = await other.request(method, path, json=body)
            assert answer.status_code == 404, (method, path, answer.text)
        assert mine not in {a["id"] for a in (await other.get("/v1/accounts")).json()}
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        assert (await client.get(f"/v1/accounts/{service.other_account}")).status_code == 404
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers(service.admin_token)) as boss:
        assert (await boss.get(f"/v1/accounts/{mine}")).status_code == 200
        assert {mine, service.other_account} <= {a["id"] for a in (await boss.get("/v1/accounts")).json()}
        assert (await boss.patch(f"/v1/accounts/{mine}", json={"label": "x"})).status_code == 403
        assert (await boss.delete(f"/v1/accounts/{mine}")).status_code == 403
    async with httpx.AsyncClient(base_url=service.url) as anonymous:
        assert (await anonymous.get("/v1/accounts")).status_code == 401
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        assert (await client.get(f"/v1/accounts/{mine}")).json()["label"] == "main"


async def test_a_secret_never_appears_in_answers_logs_or_the_database(
        service: Service, caplog: pytest.LogCaptureFixture) -> None:
    """Linked, refused and checked secrets show in no response body, no log line, and no table's rows."""
    caplog.set_level(logging.DEBUG)
    key = _binance_key(service)
    fake = "SENTINEL-alpaca-secret-5b1e9c"
    wrong = "SENTINEL-binance-wrong-7d2f4a"
    sentinels = [key["api_secret"], fake, wrong]
    bodies: list[str] = []
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        linked = await client.post("/v1/accounts", json={
            "broker": "binance", "mode": "paper", "label": "secret", "api_key": key["api_key"],
            "api_secret": key["api_secret"]})
        assert linked.status_code == 201
        refused = await client.post("/v1/accounts", json={
            "broker": "binance", "mode": "paper", "label": "wrong", "api_key": key["api_key"],
            "api_secret": wrong})
        assert refused.status_code == 422
        alpaca = await client.post("/v1/accounts", json={
            "broker": "alpaca", "mode": "paper", "label": "fake", "api_key": "PKFAKEKEY123",
            "api_secret": fake})
        assert alpaca.status_code == 201
        checked = await client.post(f"/v1/accounts/{alpaca.json()['id']}/check")
        assert checked.json()["ok"] is False
        assert checked.json()["detail"]
        malformed = await client.post("/v1/accounts", json={"broker": "nope", "mode": "paper",
                                                            "api_key": "k", "api_secret": fake})
        assert malformed.status_code == 422
        bodies += [r.text for r in (linked, refused, alpaca, checked, malformed)]
        bodies.append((await client.get("/v1/accounts", params={"include_unlinked": "true"})).text)
        bodies.append((await client.get("/openapi.json")).text)
    dump: list[str] = []
    async with service.engine.connect() as conn:
        for table in metadata.sorted_tables:
            dump += [repr(tuple(row)) for row in await conn.execute(select(table))]
    assert any(key["api_key"] in line for line in dump)  # the dump does hold the accounts
    for secret in sentinels:
        assert all(secret not in body for body in bodies)
        assert secret not in caplog.text
        assert all(secret not in line for line in dump)
        assert all(secret.encode() not in line.encode() for line in dump)


async def test_kite_daily_login_end_to_end(service: Service) -> None:
    """A Kite account linked without a token logs in through Kite's redirect; then it trades; the state
    works once and an unknown one is refused."""
    kite_paper = service.papers["kite"]
    opened = admin(kite_paper, "POST", PAPER_ACCOUNTS, json={})
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        linked = await client.post("/v1/accounts", json={
            "broker": "zerodha", "mode": "paper", "label": "daily", "api_key": opened["api_key"],
            "api_secret": opened["api_secret"]})
        assert linked.status_code == 201, linked.text
        account_id = linked.json()["id"]
        assert linked.json()["session"] == {"expires_at": None, "valid": False}
        assert (await client.post(f"/v1/accounts/{account_id}/check")).json()["ok"] is False
        admin(kite_paper, "PUT", f"{PAPER_ACCOUNTS}/{opened['api_key']}/postback",
              json={"url": f"{service.url}/v1/postbacks/kite/{account_id}"})

        started = await client.get(f"/v1/accounts/{account_id}/kite/login")
        assert started.status_code == 200, started.text
        url = urlsplit(started.json()["login_url"])
        assert f"{url.scheme}://{url.netloc}{url.path}" == "https://kite.zerodha.com/connect/login"
        query = parse_qs(url.query)
        assert (query["v"], query["api_key"]) == (["3"], [opened["api_key"]])
        echoed = {k: v[0] for k, v in parse_qs(query["redirect_params"][0]).items()}
        assert echoed["account_id"] == account_id
        # What the user's browser does at Kite: log in, then come back with a fresh request token.
        token = admin(kite_paper, "POST", f"{PAPER_ACCOUNTS}/{opened['api_key']}/request_token")
        callback = {"request_token": token["request_token"], "status": "success", **echoed}

    async with httpx.AsyncClient(base_url=service.url) as browser:  # no API token on the callback
        page = await browser.get("/v1/kite/callback", params=callback)
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        expiry = kite_session_expiry(datetime.now(UTC))
        assert "valid until" in page.text
        assert expiry.isoformat() in page.text
        reused = await browser.get("/v1/kite/callback", params=callback)
        assert reused.status_code == 400
        assert reused.json()["type"].endswith("invalid-login-state")
        unknown = await browser.get("/v1/kite/callback", params=callback | {"state": "made-up"})
        assert unknown.status_code == 400
        assert (await browser.get("/v1/kite/callback")).status_code == 400

    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        session = (await client.get(f"/v1/accounts/{account_id}")).json()["session"]
        assert session["valid"] is True
        assert datetime.fromisoformat(session["expires_at"]) == expiry
        assert (await client.post(f"/v1/accounts/{account_id}/check")).json()["ok"] is True
        assert await _filled(client, _signal("kite-login-1", account_id, symbol="INFY", market="nse",
                                             quantity="1"))
        not_kite = await client.get(f"/v1/accounts/{service.accounts['binance']}/kite/login")
        assert not_kite.status_code == 422
    renewed = await _count(service, audit_ledger, audit_ledger.c.entity_id == account_id,
                           audit_ledger.c.action == "account.session_renewed")
    assert renewed == 1


async def test_a_login_state_is_bound_to_its_account(service: Service) -> None:
    """A state issued for one account does not log in another, and is spent by the attempt."""
    kite = service.accounts["kite"]
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        started = (await client.get(f"/v1/accounts/{kite}/kite/login")).json()
    query = parse_qs(urlsplit(started["login_url"]).query)
    echoed = {k: v[0] for k, v in parse_qs(query["redirect_params"][0]).items()}
    token = admin(service.kite, "POST", f"{PAPER_ACCOUNTS}/{query['api_key'][0]}/request_token")
    async with httpx.AsyncClient(base_url=service.url) as browser:
        swapped = await browser.get("/v1/kite/callback", params={
            "request_token": token["request_token"], "status": "success", "state": echoed["state"],
            "account_id": service.accounts["binance"]})
        assert swapped.status_code == 400
        spent = await browser.get("/v1/kite/callback", params={
            "request_token": token["request_token"], "status": "success", **echoed})
        assert spent.status_code == 400
