"""Compliance views over HTTP (admins only): all users' orders, denials, kill-switch history, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from boltztrader.ledger import AuditEntry

from .conftest import Service


def _http(service: Service, token: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=service.url, headers=service.headers(token))


def _signal(signal_id: str, account_id: str) -> dict[str, Any]:
    return {"id": signal_id, "model_id": "m1", "symbol": "BTCUSDT", "market": "crypto", "side": "buy",
            "quantity": "0.001", "confidence": "0.9", "created_at": datetime.now(UTC).isoformat(),
            "account_id": account_id}


async def test_admin_routes_answer_403_to_users(service: Service) -> None:
    """Every /v1/admin route refuses a user's token with 403 and answers the admin's."""
    paths = ["/v1/admin/orders", "/v1/admin/denials", "/v1/admin/killswitch", "/v1/admin/audit/export.csv"]
    async with _http(service) as client, _http(service, service.admin_token) as admin:
        for path in paths:
            refused = await client.get(path)
            assert refused.status_code == 403, path
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert (await admin.get(path)).status_code == 200, path


async def test_admin_lists_every_users_orders_with_filters_and_pages(service: Service) -> None:
    """Orders of both users appear newest first; user_id and status filter; pages cover each order once."""
    async with (_http(service) as client, _http(service, service.other_token) as other,
                _http(service, service.admin_token) as admin):
        binance = service.accounts["binance"]
        mine = [(await client.post("/v1/signals", json=_signal(f"adm-{n}", binance))).json()
                for n in range(2)]
        theirs = (await other.post("/v1/signals", json=_signal("adm-o", service.other_account))).json()
        everything = (await admin.get("/v1/admin/orders")).json()
        ids = [o["id"] for o in everything["items"]]
        expected = [s["outcomes"][0]["order_id"] for s in (theirs, mine[1], mine[0])]
        assert ids == expected
        assert {o["user_id"] for o in everything["items"]} == {service.user_id, service.other_user_id}
        assert {Decimal(o["quantity"]) for o in everything["items"]} == {Decimal("0.001")}

        of_other = (await admin.get("/v1/admin/orders", params={"user_id": service.other_user_id})).json()
        assert [o["id"] for o in of_other["items"]] == expected[:1]
        walked, cursor = [], None
        while True:
            page = (await admin.get("/v1/admin/orders",
                                    params={"limit": 1} | ({"cursor": cursor} if cursor else {}))).json()
            walked += [o["id"] for o in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert walked == expected
        assert (await admin.get("/v1/admin/orders", params={"status": "denied"})).json()["items"] == []
        assert (await admin.get("/v1/admin/orders", params={"status": "nonsense"})).status_code == 422


async def test_denials_carry_reason_codes_and_the_guards_verdicts(service: Service) -> None:
    """A denied order is listed with MAX_NOTIONAL and the failing rule's verdict from the audit."""
    binance = service.accounts["binance"]
    async with _http(service) as client, _http(service, service.admin_token) as admin:
        tiny = {"max_order_notional": "0.01"}
        await client.put("/v1/risk/limits", params={"account_id": binance}, json=tiny)
        denied = (await client.post("/v1/signals", json=_signal("den-1", binance))).json()["outcomes"][0]
        await client.put("/v1/risk/limits", params={"account_id": binance}, json={})
        allowed = (await client.post("/v1/signals", json=_signal("den-2", binance))).json()["outcomes"][0]
        assert (denied["status"], allowed["status"]) == ("denied", "pending_submit")

        [denial] = (await admin.get("/v1/admin/denials")).json()["items"]
        assert (denial["order_id"], denial["user_id"], denial["signal_id"]) == \
            (denied["order_id"], service.user_id, "den-1")
        assert denial["reasons"] == denied["reasons"]
        assert "MAX_NOTIONAL" in denial["reasons"]
        assert denial["judged_by"] == "risk.decision"
        failing = [v for v in denial["verdicts"] if not v["passed"]]
        assert ("max_notional", "MAX_NOTIONAL") in [(v["rule"], v["reason"]) for v in failing]
        assert any(v["passed"] for v in denial["verdicts"])  # every rule's verdict, not only the failures


async def test_kill_switch_history_names_who_when_and_why(service: Service) -> None:
    """Each kill-switch change appears newest first with its actor, scope, level and reason."""
    async with _http(service) as client, _http(service, service.admin_token) as admin:
        await client.post("/v1/killswitch", json={"scope": "user", "state": "halted", "reason": "stop it"})
        await client.post("/v1/killswitch", json={"scope": "user", "state": "active", "reason": "go on"})
        await admin.post("/v1/killswitch", json={"scope": "global", "state": "reducing", "reason": "drill"})
        history = (await admin.get("/v1/admin/killswitch")).json()
        got = [(h["scope"], h["state"], h["previous"], h["reason"], h["actor"]) for h in history["items"]]
        assert got[1:] == [("user", "active", "halted", "go on", f"user:{service.user_id}"),
                           ("user", "halted", None, "stop it", f"user:{service.user_id}")]
        assert got[0][:4] == ("global", "reducing", None, "drill")
        assert history["items"][0]["chain"] == "global"
        assert history["items"][1]["action"] == "killswitch.released"
        times = [h["at"] for h in history["items"]]
        assert times == sorted(times, reverse=True)
        first = (await admin.get("/v1/admin/killswitch", params={"limit": 2})).json()
        rest = (await admin.get("/v1/admin/killswitch", params={"cursor": first["next_cursor"]})).json()
        assert first["items"] + rest["items"] == history["items"]


async def test_the_audit_export_is_a_csv_attachment_whose_rows_still_hash(service: Service) -> None:
    """The CSV has a header, one row per entry of the chain in seq order, and every row's hash recomputes."""
    chain = f"user:{service.user_id}"
    async with _http(service) as client, _http(service, service.admin_token) as admin:
        await client.put("/v1/risk/limits", json={"max_open_orders_symbol": 3})
        await client.post("/v1/subscriptions", json={"model_id": "csv-m", "sizing": "signal"})
        listed = (await client.get("/v1/audit", params={"limit": 200})).json()["items"]
        answer = await admin.get("/v1/admin/audit/export.csv", params={"chain": chain})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        disposition = answer.headers["content-disposition"]
        assert disposition.startswith("attachment;")
        assert "filename=" in disposition

        rows = list(csv.DictReader(io.StringIO(answer.text)))
        assert list(rows[0]) == ["chain", "seq", "recorded_at", "actor", "action", "entity", "entity_id",
                                 "payload", "prev_hash", "hash"]
        assert [int(r["seq"]) for r in rows] == list(range(1, len(listed) + 1))
        assert [r["hash"] for r in rows] == [e["hash"] for e in reversed(listed)]
        for row in rows:
            entry = AuditEntry(chain=row["chain"], seq=int(row["seq"]),
                               recorded_at=datetime.fromisoformat(row["recorded_at"]), actor=row["actor"],
                               action=row["action"], entity=row["entity"], entity_id=row["entity_id"],
                               payload=row["payload"], prev_hash=row["prev_hash"], hash=row["hash"])
            assert entry.computed_hash() == entry.hash

        everything = list(csv.DictReader(io.StringIO((await admin.get("/v1/admin/audit/export.csv")).text)))
        chains = {r["chain"] for r in everything}
        assert {f"user:{service.user_id}", f"user:{service.other_user_id}"} <= chains
        assert len(everything) > len(rows)
