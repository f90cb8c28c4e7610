"""Risk limits and the kill switch over HTTP: stored, applied by the guard to the next signal, audited."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import httpx

from boltztrader.api.risk import LimitsIn
from boltztrader.risk import Limits

from .conftest import Service


def _http(service: Service, token: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=service.url, headers=service.headers(token))


def _signal(signal_id: str, account_id: str, **extra: Any) -> dict[str, Any]:
    body = {"id": signal_id, "model_id": "m1", "symbol": "BTCUSDT", "market": "crypto", "side": "buy",
            "quantity": "0.001", "confidence": "0.9", "created_at": datetime.now(UTC).isoformat(),
            "account_id": account_id}
    return body | extra


async def _outcome(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post("/v1/signals", json=body)
    assert answer.status_code == 201, answer.text
    [outcome] = answer.json()["outcomes"]
    return dict(outcome)


def _switch(scope: str, state: str) -> dict[str, str]:
    return {"scope": scope, "state": state, "reason": f"test: {scope} {state}"}


def test_the_request_body_offers_exactly_the_fields_of_the_limits() -> None:
    """Every field of Limits can be set over HTTP, and nothing else: a new limit cannot be forgotten."""
    assert set(LimitsIn.model_fields) == {f.name for f in fields(Limits)}


async def test_limits_round_trip_and_a_tighter_limit_denies_the_next_signal(service: Service) -> None:
    """PUT stores the fields, GET reads them back with the effective set, and the guard applies them."""
    binance = service.accounts["binance"]
    async with _http(service) as client:
        fresh = (await client.get("/v1/risk/limits")).json()
        assert fresh["scope"] == "user"
        assert fresh["stored"] == {}
        assert fresh["effective"] == Limits().to_mapping()
        assert (await _outcome(client, _signal("lim-0", binance)))["status"] == "pending_submit"

        put = await client.put(f"/v1/risk/limits?account_id={binance}",
                               json={"max_order_notional": "0.01", "max_signal_age": 20})
        assert put.status_code == 200, put.text
        assert put.json()["scope"] == "account"
        assert put.json()["stored"] == {"max_order_notional": "0.01", "max_signal_age": "20"}
        assert put.json()["effective"]["max_order_notional"] == "0.01"
        assert put.json()["effective"]["min_confidence"] == "0.7"
        again = (await client.get("/v1/risk/limits", params={"account_id": binance})).json()
        assert again == put.json()
        assert (await client.get("/v1/risk/limits")).json()["stored"] == {}  # the user's level is untouched

        denied = await _outcome(client, _signal("lim-1", binance))
        assert denied["status"] == "denied"
        assert "MAX_NOTIONAL" in denied["reasons"]

        audit = (await client.get("/v1/audit", params={"action": "risk.limits_set"})).json()["items"]
        assert [e["payload"]["limits"] for e in audit] == [put.json()["stored"]]
        assert audit[0]["actor"] == f"user:{service.user_id}"
        assert audit[0]["entity_id"] == f"account:{binance}"

        cleared = await client.put(f"/v1/risk/limits?account_id={binance}", json={})
        assert cleared.json()["stored"] == {}
        assert (await _outcome(client, _signal("lim-2", binance)))["status"] == "pending_submit"


async def test_bad_limits_are_refused_and_change_nothing(service: Service) -> None:
    """An unknown field, a value out of range and a pair at odds are 422; nothing is stored."""
    async with _http(service) as client:
        unknown = await client.put("/v1/risk/limits", json={"max_order_notional": "5", "user_id": "x"})
        assert unknown.status_code == 422
        out_of_range = await client.put("/v1/risk/limits", json={"min_confidence": "1.5"})
        assert out_of_range.status_code == 422
        assert out_of_range.json()["field"] == "min_confidence"
        not_null = await client.put("/v1/risk/limits", json={"max_exposure": None})
        assert not_null.status_code == 422
        at_odds = await client.put("/v1/risk/limits",
                                   json={"kite_orders_per_second": 9, "kite_orders_per_minute": 5})
        assert at_odds.status_code == 422
        assert (await client.get("/v1/risk/limits")).json()["stored"] == {}
        audit = (await client.get("/v1/audit", params={"action": "risk.limits_set"})).json()["items"]
        assert audit == []


async def test_the_global_policy_tightens_and_a_user_cannot_loosen_past_it(service: Service) -> None:
    """With a global cap a user's looser stored cap is kept but not applied; only admins see the policy."""
    binance = service.accounts["binance"]
    async with _http(service) as client, _http(service, service.admin_token) as admin:
        assert (await client.get("/v1/risk/limits/global")).status_code == 403
        tighter = {"max_order_notional": "1"}
        assert (await client.put("/v1/risk/limits/global", json=tighter)).status_code == 403
        assert (await admin.get("/v1/risk/limits/global")).json() == {"scope": "global", "stored": {},
                                                                       "effective": {}}
        policy = await admin.put("/v1/risk/limits/global", json={"max_order_notional": "0.01"})
        assert policy.status_code == 200, policy.text
        assert policy.json()["stored"] == {"max_order_notional": "0.01"}
        assert policy.json()["effective"]["max_order_notional"] == "0.01"

        looser = {"max_order_notional": "1000000", "max_exposure": "0.1"}
        loose = await client.put("/v1/risk/limits", json=looser)
        assert loose.status_code == 200
        assert loose.json()["stored"] == {"max_order_notional": "1000000", "max_exposure": "0.1"}
        assert loose.json()["effective"]["max_order_notional"] == "0.01"  # the policy wins
        assert loose.json()["effective"]["max_exposure"] == "0.1"  # the user's is stricter: it stands
        denied = await _outcome(client, _signal("glob-1", binance))
        assert denied["status"] == "denied"
        assert "MAX_NOTIONAL" in denied["reasons"]

        await admin.put("/v1/risk/limits/global", json={})
        assert (await client.get("/v1/risk/limits")).json()["effective"]["max_order_notional"] == "1000000"
        assert (await _outcome(client, _signal("glob-2", binance)))["status"] == "pending_submit"
        audit = (await admin.get("/v1/audit", params={"chain": "global", "action": "risk.limits_set"})).json()
        assert [e["payload"]["limits"] for e in audit["items"]] == [{}, {"max_order_notional": "0.01"}]


async def test_a_user_halt_denies_the_next_signal_and_releasing_restores_trading(service: Service) -> None:
    """HALTED at the user's scope denies with TRADING_HALTED on every account; active releases it."""
    binance, kite = service.accounts["binance"], service.accounts["kite"]
    async with _http(service) as client:
        before = (await client.get("/v1/killswitch")).json()
        both_active = {binance: "active", kite: "active"}
        assert before == {"global": "active", "user": "active", "accounts": both_active,
                          "effective": both_active}
        halt = await client.post("/v1/killswitch", json=_switch("user", "halted"))
        assert halt.status_code == 200, halt.text
        assert halt.json()["scope_id"] == service.user_id
        assert halt.json()["states"]["user"] == "halted"
        assert halt.json()["states"]["effective"] == {binance: "halted", kite: "halted"}

        denied = await _outcome(client, _signal("halt-1", binance))
        assert denied["status"] == "denied"
        assert "TRADING_HALTED" in denied["reasons"]

        release = await client.post("/v1/killswitch", json=_switch("user", "active"))
        assert release.json()["states"]["effective"] == {binance: "active", kite: "active"}
        assert (await _outcome(client, _signal("halt-2", binance)))["status"] == "pending_submit"

        account = await client.post("/v1/killswitch", json={"scope": "account", "account_id": kite,
                                                             "state": "reducing", "reason": "one account"})
        assert account.status_code == 200
        assert account.json()["states"]["accounts"] == {binance: "active", kite: "reducing"}
        assert (await client.get("/v1/killswitch")).json()["effective"] == {binance: "active",
                                                                            kite: "reducing"}
        about_me = await client.get("/v1/audit", params={"entity_id": f"user:{service.user_id}"})
        actions = [e["action"] for e in about_me.json()["items"]]
        assert actions == ["killswitch.released", "killswitch.engaged"]


async def test_the_global_switch_is_for_admins_and_halts_everyone(service: Service) -> None:
    """A user's global switch is 403; the admin's halts another user's account too, until released."""
    async with (_http(service) as client, _http(service, service.other_token) as other,
                _http(service, service.admin_token) as admin):
        refused = await client.post("/v1/killswitch", json=_switch("global", "halted"))
        assert refused.status_code == 403
        assert (await client.get("/v1/killswitch")).json()["global"] == "active"

        halt = await admin.post("/v1/killswitch", json=_switch("global", "halted"))
        assert halt.status_code == 200, halt.text
        assert halt.json()["states"]["global"] == "halted"
        seen = (await other.get("/v1/killswitch")).json()
        assert seen["global"] == "halted"
        assert seen["effective"] == {service.other_account: "halted"}
        denied = await _outcome(other, _signal("ghalt-1", service.other_account))
        assert "TRADING_HALTED" in denied["reasons"]

        await admin.post("/v1/killswitch", json=_switch("global", "active"))
        assert (await other.get("/v1/killswitch")).json()["effective"] == {service.other_account: "active"}
        restored = await _outcome(other, _signal("ghalt-2", service.other_account))
        assert restored["status"] == "pending_submit"


async def test_another_users_account_answers_404_everywhere(service: Service) -> None:
    """Limits and kill switch of someone else's account read exactly like an account that does not exist."""
    foreign, missing = service.other_account, "0" * 32
    async with _http(service) as client:
        for account_id in (foreign, missing):
            got = await client.get("/v1/risk/limits", params={"account_id": account_id})
            assert got.status_code == 404
            assert (await client.put("/v1/risk/limits", params={"account_id": account_id},
                                     json={"max_order_notional": "1"})).status_code == 404
            switch = await client.post("/v1/killswitch", json={"scope": "account", "account_id": account_id,
                                                               "state": "halted", "reason": "x"})
            assert switch.status_code == 404
        assert (await client.post("/v1/killswitch", json={"scope": "account", "state": "halted",
                                                          "reason": "x"})).status_code == 422
    async with _http(service, service.other_token) as other:
        assert (await other.get("/v1/risk/limits", params={"account_id": foreign})).json()["stored"] == {}
        assert (await other.get("/v1/killswitch")).json()["accounts"] == {foreign: "active"}
    async with _http(service, service.admin_token) as admin:
        assert (await admin.get("/v1/risk/limits", params={"account_id": foreign})).status_code == 200
