"""Model subscriptions over HTTP: create, read, change, delete, and a model's signal fanned out by them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from .conftest import Service


def _http(service: Service, token: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=service.url, headers=service.headers(token))


def _model_signal(signal_id: str, model_id: str) -> dict[str, Any]:
    return {"id": signal_id, "model_id": model_id, "symbol": "BTCUSDT", "market": "crypto", "side": "buy",
            "quantity": "0.001", "confidence": "0.9", "created_at": datetime.now(UTC).isoformat()}


async def test_subscriptions_crud_round_trip_and_every_change_is_audited(service: Service) -> None:
    """POST 201, GET lists it, PATCH changes it, DELETE 204 removes it; each step is on the owner's chain."""
    binance = service.accounts["binance"]
    async with _http(service) as client:
        created = await client.post("/v1/subscriptions", json={
            "model_id": "crud-m", "account_id": binance, "sizing": "fixed_notional", "sizing_value": "25.50"})
        assert created.status_code == 201, created.text
        sub = created.json()
        assert sub["user_id"] == service.user_id
        assert (sub["model_id"], sub["account_id"], sub["sizing"], sub["sizing_value"], sub["active"]) == \
            ("crud-m", binance, "fixed_notional", "25.50", True)
        listed = (await client.get("/v1/subscriptions")).json()
        assert listed == {"items": [sub], "next_cursor": None}

        paused = await client.patch(f"/v1/subscriptions/{sub['id']}", json={"active": False})
        assert paused.status_code == 200
        assert paused.json()["active"] is False
        as_signal = await client.patch(f"/v1/subscriptions/{sub['id']}", json={"sizing": "signal"})
        assert (as_signal.json()["sizing"], as_signal.json()["sizing_value"]) == ("signal", None)
        by_market = await client.patch(f"/v1/subscriptions/{sub['id']}", json={"account_id": None})
        assert by_market.json()["account_id"] is None

        assert (await client.delete(f"/v1/subscriptions/{sub['id']}")).status_code == 204
        assert (await client.get("/v1/subscriptions")).json()["items"] == []
        assert (await client.delete(f"/v1/subscriptions/{sub['id']}")).status_code == 404
        trail = (await client.get("/v1/audit", params={"entity_id": sub["id"]})).json()["items"]
        assert [e["action"] for e in trail] == ["subscription.deleted", "subscription.updated",
                                                "subscription.updated", "subscription.updated",
                                                "subscription.created"]
        assert trail[-1]["payload"]["sizing_value"] == "25.50"


async def test_malformed_subscriptions_are_refused(service: Service) -> None:
    """A sizing without a positive value, an unknown field, a duplicate and a foreign account are refused."""
    async with _http(service) as client:
        def post(**body: Any) -> Any:
            return client.post("/v1/subscriptions", json={"model_id": "bad-m", "sizing": "signal"} | body)

        assert (await post(sizing="fixed_quantity")).status_code == 422
        assert (await post(sizing="fixed_notional", sizing_value="0")).status_code == 422
        assert (await post(sizing="fixed_quantity", sizing_value="-1")).status_code == 422
        assert (await post(sizing="percent_equity", sizing_value="150")).status_code == 422
        assert (await post(sizing="signal", sizing_value="5")).status_code == 422
        assert (await post(sizing="kelly")).status_code == 422
        assert (await post(user_id=service.other_user_id)).status_code == 422
        assert (await post(account_id=service.other_account)).status_code == 404
        assert (await post(account_id="0" * 32)).status_code == 404
        first = await post()
        assert first.status_code == 201
        assert (await post()).status_code == 409
        sub_id = first.json()["id"]
        assert (await client.patch(f"/v1/subscriptions/{sub_id}",
                                   json={"sizing": "fixed_quantity"})).status_code == 422
        assert (await client.patch(f"/v1/subscriptions/{sub_id}", json={"model_id": "x"})).status_code == 422
        assert (await client.patch(f"/v1/subscriptions/{sub_id}",
                                   json={"account_id": service.other_account})).status_code == 404
        assert len((await client.get("/v1/subscriptions")).json()["items"]) == 1


async def test_another_users_subscription_answers_404(service: Service) -> None:
    """Another user can neither see, change nor delete the trader's subscription; an admin can."""
    async with (_http(service) as client, _http(service, service.other_token) as other,
                _http(service, service.admin_token) as admin):
        sub = (await client.post("/v1/subscriptions", json={"model_id": "own-m", "sizing": "signal"})).json()
        assert (await other.get("/v1/subscriptions")).json()["items"] == []
        assert (await other.get(f"/v1/subscriptions/{sub['id']}")).status_code == 404
        assert (await client.get(f"/v1/subscriptions/{sub['id']}")).json() == sub
        path = f"/v1/subscriptions/{sub['id']}"
        assert (await other.patch(path, json={"active": False})).status_code == 404
        assert (await other.delete(f"/v1/subscriptions/{sub['id']}")).status_code == 404
        assert (await client.get("/v1/subscriptions")).json()["items"][0]["active"] is True
        paused = await admin.patch(f"/v1/subscriptions/{sub['id']}", json={"active": False})
        assert paused.status_code == 200
        trail = (await client.get("/v1/audit", params={"entity_id": sub["id"]})).json()["items"]
        assert trail[0]["actor"] != f"user:{service.user_id}"  # the admin's change names the admin


async def test_a_models_signal_fans_out_to_its_subscribers_only(service: Service) -> None:
    """An admin's signal naming only its model reaches the subscriber's account, sized by the subscription."""
    binance = service.accounts["binance"]
    async with _http(service) as client, _http(service, service.admin_token) as admin:
        sub = await client.post("/v1/subscriptions", json={"model_id": "fan-m", "sizing": "fixed_quantity",
                                                           "sizing_value": "0.002"})
        assert sub.status_code == 201
        sent = await admin.post("/v1/signals", json=_model_signal("fan-1", "fan-m"))
        assert sent.status_code == 201, sent.text
        [outcome] = sent.json()["outcomes"]
        assert outcome["account_id"] == binance
        assert outcome["status"] == "pending_submit"
        orders = (await admin.get("/v1/admin/orders", params={"user_id": service.user_id})).json()["items"]
        assert [(o["id"], Decimal(o["quantity"])) for o in orders] == [(outcome["order_id"],
                                                                        Decimal("0.002"))]

        await client.patch(f"/v1/subscriptions/{sub.json()['id']}", json={"active": False})
        paused = await admin.post("/v1/signals", json=_model_signal("fan-2", "fan-m"))
        assert paused.status_code == 201
        assert paused.json()["outcomes"] == []
