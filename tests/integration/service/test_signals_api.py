"""The service end to end: signals over HTTP become orders at the paper brokers; Kite postbacks land."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

from boltztrader.audit import verify_ledger
from boltztrader.db.tables import audit_ledger, broker_orders

from .conftest import Service, until


def _signal(signal_id: str, **extra: Any) -> dict[str, Any]:
    body = {"id": signal_id, "model_id": "m1", "symbol": "BTCUSDT", "market": "crypto", "side": "buy",
            "quantity": "0.001", "confidence": "0.9", "created_at": datetime.now(UTC).isoformat()}
    return body | extra


async def test_a_signal_over_http_is_acknowledged_then_filled_once(service: Service) -> None:
    """POST answers 201 with the intent written; the order then fills; the same POST replays with 200."""
    body = _signal("http-1", account_id=service.accounts["binance"])
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        first = await client.post("/v1/signals", json=body)
        assert first.status_code == 201, first.text
        assert [o["status"] for o in first.json()["outcomes"]] == ["pending_submit"]

        async def filled() -> bool:
            got = (await client.get("/v1/signals/http-1")).json()
            return [o["status"] for o in got["outcomes"]] == ["filled"]

        assert await until(filled)
        again = await client.post("/v1/signals", json=body)
        assert again.status_code == 200
        assert again.json()["replay"] is True
        assert again.json()["outcomes"][0]["order_id"] == first.json()["outcomes"][0]["order_id"]
    async with service.engine.connect() as conn:
        assert len((await conn.execute(select(broker_orders))).all()) == 1
    assert (await verify_ledger(service.engine)).ok


async def test_bad_signals_are_refused_with_problems_and_write_nothing(service: Service) -> None:
    """A reused id with new content is 409, a malformed one 422, a foreign account 404, no token 401."""
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        binance = service.accounts["binance"]
        assert (await client.post("/v1/signals", json=_signal("bad-1", account_id=binance,
                                                               confidence="0.8"))).status_code == 201
        changed = _signal("bad-1", account_id=binance, confidence="0.95")
        conflict = await client.post("/v1/signals", json=changed)
        assert conflict.status_code == 409
        assert conflict.headers["content-type"].startswith("application/problem+json")
        malformed = await client.post("/v1/signals", json=_signal("bad-2", confidence="1.5"))
        assert malformed.status_code == 422
        assert "confidence" in malformed.text
        unknown_field = await client.post("/v1/signals", json=_signal("bad-3", user_id_override="x"))
        assert unknown_field.status_code == 422
        anonymous = await client.post("/v1/signals", json=_signal("bad-4"), headers={"Authorization": ""})
        assert anonymous.status_code == 401
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers(service.other_token)) as other:
        foreign = await other.post("/v1/signals",
                                   json=_signal("bad-5", account_id=service.accounts["binance"]))
        assert foreign.status_code == 404
        assert (await other.get("/v1/signals/bad-1")).status_code == 404
    async with service.engine.connect() as conn:
        ids = {r.signal_id for r in await conn.execute(select(broker_orders.c.signal_id))}
    assert ids == {"bad-1"}


async def test_a_kite_order_learns_its_fill_from_the_postback(service: Service) -> None:
    """With no stream running, Kite's postback to our endpoint fills the row; a forged one is 400."""
    body = _signal("kite-1", symbol="INFY", market="nse", quantity="1", account_id=service.accounts["kite"])
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        assert (await client.post("/v1/signals", json=body)).status_code == 201

        async def filled() -> bool:
            got = (await client.get("/v1/signals/kite-1")).json()
            return [o["status"] for o in got["outcomes"]] == ["filled"]

        assert await until(filled)
        order_id = (await client.get("/v1/signals/kite-1")).json()["outcomes"][0]["order_id"]
        forged = json.dumps({"order_id": "1", "order_timestamp": "2026-01-01 09:15:00", "checksum": "0" * 64,
                             "status": "COMPLETE"}).encode()
        refused = await client.post(f"/v1/postbacks/kite/{service.accounts['kite']}", content=forged)
        assert refused.status_code == 400
    async with service.engine.connect() as conn:
        actors = {r.actor for r in await conn.execute(select(audit_ledger.c.actor).where(
            audit_ledger.c.entity_id == order_id, audit_ledger.c.action.like("order.%fill%")))}
    assert "postback" in actors
