"""The audit trail over HTTP: a user reads and verifies only their own chain; admins any chain."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from ..ledger.helpers import tamper
from .conftest import Service


def _http(service: Service, token: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=service.url, headers=service.headers(token))


async def _make_history(client: httpx.AsyncClient, service: Service) -> None:
    """A few audited changes of the trader's: limits, subscriptions, a kill switch."""
    for n in range(3):
        stored = await client.put("/v1/risk/limits", json={"max_open_orders_symbol": n + 2})
        assert stored.status_code == 200
    sub = await client.post("/v1/subscriptions", json={"model_id": "audit-m", "sizing": "signal"})
    assert sub.status_code == 201
    await client.post("/v1/killswitch", json={"scope": "user", "state": "reducing", "reason": "audit test"})


async def test_a_user_reads_only_their_own_chain_newest_first(service: Service) -> None:
    """Every entry listed is on the caller's chain, newest first; other chains answer 404 to a user."""
    async with _http(service) as client, _http(service, service.other_token) as other:
        await _make_history(client, service)
        mine = (await client.get("/v1/audit", params={"limit": 200})).json()
        assert mine["next_cursor"] is None
        assert {e["chain"] for e in mine["items"]} == {f"user:{service.user_id}"}
        seqs = [e["seq"] for e in mine["items"]]
        assert seqs == sorted(seqs, reverse=True)
        assert seqs[-1] == 1
        actions = [e["action"] for e in mine["items"]]
        assert actions[:5] == ["killswitch.engaged", "subscription.created", "risk.limits_set",
                               "risk.limits_set", "risk.limits_set"]
        assert "account.linked" in actions
        assert mine["items"][2]["payload"]["limits"] == {"max_open_orders_symbol": 4}
        assert all(len(e["hash"]) == 64 for e in mine["items"])

        theirs = (await other.get("/v1/audit", params={"limit": 200})).json()["items"]
        assert {e["chain"] for e in theirs} == {f"user:{service.other_user_id}"}
        assert not {e["hash"] for e in theirs} & {e["hash"] for e in mine["items"]}
        for chain in (f"user:{service.user_id}", "global", "signals"):
            assert (await other.get("/v1/audit", params={"chain": chain})).status_code == 404
        own = await other.get("/v1/audit", params={"chain": f"user:{service.other_user_id}"})
        assert own.json()["items"] == theirs[:50]


async def test_pages_walk_the_chain_without_gaps_and_filters_narrow_it(service: Service) -> None:
    """limit and cursor page through every entry once; action and entity_id filter; bad cursors are 422."""
    async with _http(service) as client:
        await _make_history(client, service)
        full = (await client.get("/v1/audit", params={"limit": 200})).json()
        everything = [e["seq"] for e in full["items"]]
        walked: list[int] = []
        cursor = None
        while True:
            params: dict[str, str | int] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/v1/audit", params=params)).json()
            assert len(page["items"]) <= 2
            walked += [e["seq"] for e in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert walked == everything

        limits = (await client.get("/v1/audit", params={"action": "risk.limits_set", "limit": 2})).json()
        assert [e["payload"]["limits"]["max_open_orders_symbol"] for e in limits["items"]] == [4, 3]
        rest = (await client.get("/v1/audit", params={"action": "risk.limits_set",
                                                      "cursor": limits["next_cursor"]})).json()
        assert [e["payload"]["limits"]["max_open_orders_symbol"] for e in rest["items"]] == [2]
        assert rest["next_cursor"] is None
        about_me = (await client.get("/v1/audit", params={"entity_id": f"user:{service.user_id}"})).json()
        assert [e["action"] for e in about_me["items"]] == ["killswitch.engaged"] + ["risk.limits_set"] * 3
        assert (await client.get("/v1/audit", params={"cursor": "not-ours"})).status_code == 422
        assert (await client.get("/v1/audit", params={"limit": 0})).status_code == 422


async def test_admins_read_any_chain(service: Service) -> None:
    """An admin lists the trader's chain, the signals chain and the global one."""
    signal = {"id": "audit-sig", "model_id": "m1", "symbol": "BTCUSDT", "market": "crypto", "side": "buy",
              "quantity": "0.001", "confidence": "0.9", "created_at": datetime.now(UTC).isoformat(),
              "account_id": service.accounts["binance"]}
    async with _http(service) as client, _http(service, service.admin_token) as admin:
        await _make_history(client, service)
        assert (await client.post("/v1/signals", json=signal)).status_code == 201
        chain = f"user:{service.user_id}"
        trader = (await admin.get("/v1/audit", params={"chain": chain, "limit": 200})).json()
        mine = (await client.get("/v1/audit", params={"limit": 200})).json()
        assert [e["hash"] for e in trader["items"]] == [e["hash"] for e in mine["items"]]
        signals = (await admin.get("/v1/audit", params={"chain": "signals"})).json()["items"]
        assert [(e["action"], e["entity_id"]) for e in signals] == [("signal.received", "audit-sig")]
        assert signals[0]["payload"]["targets"] == 1
        assert (await admin.get("/v1/audit", params={"chain": "no-such-chain"})).json()["items"] == []


async def test_verify_checks_the_callers_chain_and_finds_tampering(service: Service) -> None:
    """A user's verify covers their own chain and fails once an entry is altered; an admin's covers all."""
    async with (_http(service) as client, _http(service, service.other_token) as other,
                _http(service, service.admin_token) as admin):
        await _make_history(client, service)
        count = len((await client.get("/v1/audit", params={"limit": 200})).json()["items"])
        verified = (await client.get("/v1/audit/verify")).json()
        assert verified == {"ok": True, "chains": [{"chain": f"user:{service.user_id}", "entries": count,
                                                     "ok": True, "problem": None}]}
        everyone = (await admin.get("/v1/audit/verify")).json()
        assert everyone["ok"] is True
        chains = {c["chain"] for c in everyone["chains"]}
        assert {f"user:{service.user_id}", f"user:{service.other_user_id}"} <= chains

        await tamper(service.engine, ("UPDATE audit_ledger SET actor = 'someone-else' WHERE chain = :chain "
                                      "AND seq = 2", {"chain": f"user:{service.user_id}"}))
        tampered = (await client.get("/v1/audit/verify")).json()
        assert tampered["ok"] is False
        assert "seq 2" in tampered["chains"][0]["problem"]
        assert (await other.get("/v1/audit/verify")).json()["ok"] is True
        overall = (await admin.get("/v1/audit/verify")).json()
        assert overall["ok"] is False
        bad = [c["chain"] for c in overall["chains"] if not c["ok"]]
        assert bad == [f"user:{service.user_id}"]
