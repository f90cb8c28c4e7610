"""The orders and fills API end to end: lists and paging, one order with its events, cancel, approve and
decline, each only for the order's owner (or an admin), at the real service trading at paper brokers."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from boltztrader.audit import verify_ledger
from boltztrader.db import orders as repo
from boltztrader.db.tables import broker_accounts
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import FillReport, OrderReport
from boltztrader.errors import OrderNotFound

from ...contract.harness import price_of
from .conftest import Service, until

SYMBOL = "BTCUSDT"
PROBLEM = "urn:boltztrader:problem:"


def _signal(signal_id: str, **extra: Any) -> dict[str, Any]:
    body = {"id": signal_id, "model_id": "m1", "symbol": SYMBOL, "market": "crypto", "side": "buy",
            "quantity": "0.001", "confidence": "0.9", "created_at": datetime.now(UTC).isoformat()}
    return body | extra


async def _send(client: httpx.AsyncClient, signal_id: str, **extra: Any) -> str:
    """Send one signal for one account; the id of its order."""
    answer = await client.post("/v1/signals", json=_signal(signal_id, **extra))
    assert answer.status_code == 201, answer.text
    (outcome,) = answer.json()["outcomes"]
    return str(outcome["order_id"])


async def _settles(client: httpx.AsyncClient, order_id: str, *statuses: str) -> dict[str, Any]:
    """The order once its status is one of ``statuses`` (the test fails if it never gets there)."""

    async def check() -> dict[str, Any] | None:
        got = (await client.get(f"/v1/orders/{order_id}")).json()
        return got if got["status"] in statuses else None

    found = await until(check)
    assert found is not None, f"order {order_id} never reached {statuses}"
    return dict(found)


def _limit_under_market(service: Service, factor: str = "0.98") -> str:
    return str((price_of(service.papers["binance"], SYMBOL) * Decimal(factor)).quantize(Decimal("0.01")))


async def _at_broker(service: Service, account_id: str, client_order_id: str) -> OrderReport:
    assert service.container.runtime is not None
    broker = service.container.runtime.directory[account_id]
    return await broker.get_order(SYMBOL, client_order_id=client_order_id)


async def _pages(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, read two at a time by following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(50):
        query = {**params, "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await client.get(path, params=query)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("paging never ended")


async def test_orders_are_listed_newest_first_filtered_and_paged_without_gaps(service: Service) -> None:
    """Five orders (one denied) page through two at a time exactly once each, newest first; filters on
    status (repeated), symbol, signal and account narrow them; another user's order never shows."""
    binance = service.accounts["binance"]
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client, \
            httpx.AsyncClient(base_url=service.url, headers=service.headers(service.other_token)) as other:
        ids = [await _send(client, f"list-{n}", account_id=binance) for n in range(4)]
        ids.append(await _send(client, "list-denied", account_id=binance, confidence="0.5"))
        foreign = await _send(other, "list-other", account_id=service.other_account)
        for order_id in ids[:4]:
            await _settles(client, order_id, "filled")
        await _settles(other, foreign, "filled")

        listed = await _pages(client, "/v1/orders")
        assert [o["id"] for o in listed] == ids[::-1]
        keys = [(o["created_at"], o["id"]) for o in listed]
        assert keys == sorted(keys, reverse=True)
        assert listed[0]["status"] == "denied"
        first = listed[-1]
        assert first["account_id"] == binance
        assert Decimal(first["quantity"]) == Decimal("0.001")
        assert isinstance(first["filled_quantity"], str)
        assert Decimal(first["average_price"]) > 0
        assert first["client_order_id"]
        assert first["broker_order_id"]
        assert first["broker"] == "binance"
        assert first["mode"] == "paper"

        async def ids_of(**params: Any) -> list[str]:
            page = await client.get("/v1/orders", params=params)
            assert page.status_code == 200, page.text
            return [o["id"] for o in page.json()["items"]]

        assert await ids_of(status="denied") == [ids[4]]
        assert await ids_of(status="filled") == ids[3::-1]
        assert set(await ids_of(status=["filled", "denied"])) == set(ids)
        assert await ids_of(status="open") == []
        assert await ids_of(signal_id="list-2") == [ids[2]]
        assert await ids_of(symbol=SYMBOL, account_id=binance) == ids[::-1]
        assert await ids_of(symbol="ETHUSDT") == []
        assert await ids_of(account_id=service.other_account) == []  # not theirs: nothing, not a hint
        assert [o["id"] for o in await _pages(other, "/v1/orders")] == [foreign]
        assert (await client.get("/v1/orders", params={"status": "sideways"})).status_code == 422

    async with httpx.AsyncClient(base_url=service.url, headers=service.headers(service.admin_token)) as admin:
        every = [o["id"] for o in await _pages(admin, "/v1/orders")]
    assert sorted(every) == sorted([*ids, foreign])


async def test_a_cursor_we_did_not_make_is_refused(service: Service) -> None:
    """Garbage, a cursor holding the wrong shape, and an oversized one all answer 422 problems."""

    def made(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    bad = ["not a cursor!", made({"a": 1}), made(["yesterday", "x"]), made(["2026-01-01T00:00:00", "x"]),
           made([1, 2]), "A" * 401]
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        for cursor in bad:
            for path in ("/v1/orders", "/v1/fills"):
                answer = await client.get(path, params={"cursor": cursor})
                assert answer.status_code == 422, (path, cursor, answer.text)
                assert answer.headers["content-type"].startswith("application/problem+json")


async def test_one_order_is_read_with_its_events_in_order(service: Service) -> None:
    """GET /v1/orders/{id} has every field and the events from created to filled, oldest first."""
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        order_id = await _send(client, "get-1", account_id=service.accounts["binance"])
        got = await _settles(client, order_id, "filled")
    assert got["id"] == order_id
    assert got["signal_id"] == "get-1"
    assert (got["symbol"], got["market"], got["side"]) == (SYMBOL, "crypto", "buy")
    assert Decimal(got["filled_quantity"]) == Decimal(got["quantity"])
    events = got["events"]
    assert events[0]["event"] == "created"
    assert events[0]["from_status"] is None
    assert events[0]["to_status"] == "pending_submit"
    assert events[-1]["to_status"] == "filled"
    assert [e["from_status"] for e in events[1:]] == [e["to_status"] for e in events[:-1]]
    assert [e["created_at"] for e in events] == sorted(e["created_at"] for e in events)
    assert {"event", "from_status", "to_status", "actor", "detail", "created_at"} == set(events[0])
    async with service.engine.connect() as conn:
        assert len(events) == await repo.count_events(conn, order_id)


async def test_another_users_order_is_not_found_for_every_action(service: Service) -> None:
    """The other user gets 404 on get, cancel, approve and decline of the trader's order, as for an
    unknown id; the order is untouched; an admin can read it."""
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        order_id = await _send(client, "own-1", account_id=service.accounts["binance"],
                               limit_price=_limit_under_market(service))
        await _settles(client, order_id, "open")
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers(service.other_token)) as other:
        answers = [await other.get(f"/v1/orders/{order_id}"),
                   *[await other.post(f"/v1/orders/{order_id}/{action}")
                     for action in ("cancel", "approve", "decline")],
                   await other.get("/v1/orders/no-such-order")]
    for answer in answers:
        assert answer.status_code == 404, answer.text
        assert answer.json()["type"] == PROBLEM + "order-not-found"
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers(service.admin_token)) as admin:
        seen = await admin.get(f"/v1/orders/{order_id}")
    assert seen.status_code == 200
    assert seen.json()["status"] == "open"


async def test_a_resting_limit_order_is_cancelled_here_and_at_the_broker(service: Service) -> None:
    """A limit buy 2 % under the market rests open; cancel answers it cancelled, the paper broker says
    CANCELLED, the events name the caller; a second cancel is 409."""
    binance = service.accounts["binance"]
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        limit = _limit_under_market(service)
        order_id = await _send(client, "cancel-1", account_id=binance, limit_price=limit)
        resting = await _settles(client, order_id, "open")
        assert (await _at_broker(service, binance, resting["client_order_id"])).status is OrderStatus.OPEN
        answer = await client.post(f"/v1/orders/{order_id}/cancel")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "cancelled"
        assert answer.json()["id"] == order_id
        at_broker = await _at_broker(service, binance, resting["client_order_id"])
        assert at_broker.status is OrderStatus.CANCELLED
        events = (await client.get(f"/v1/orders/{order_id}")).json()["events"]
        assert [e["event"] for e in events[-2:]] == ["cancel_requested", "cancelled"]
        assert events[-2]["actor"] == f"user:{service.user_id}"
        again = await client.post(f"/v1/orders/{order_id}/cancel")
        assert again.status_code == 409
        assert again.json()["type"] == PROBLEM + "invalid-transition"
    assert (await verify_ledger(service.engine)).ok


async def test_a_filled_order_cannot_be_cancelled(service: Service) -> None:
    """Cancel of a filled market order is 409 and the order stays filled."""
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        order_id = await _send(client, "cancel-filled", account_id=service.accounts["binance"])
        await _settles(client, order_id, "filled")
        answer = await client.post(f"/v1/orders/{order_id}/cancel")
        assert answer.status_code == 409, answer.text
        assert answer.json()["type"] == PROBLEM + "invalid-transition"
        assert (await client.get(f"/v1/orders/{order_id}")).json()["status"] == "filled"


async def test_semi_manual_orders_wait_then_are_approved_once_or_declined(service: Service) -> None:
    """With the account semi-manual, signals wait as pending_approval with nothing sent; approve sends one
    and it fills (a second approve is 409); decline ends another declined with its reason, never sent."""
    binance = service.accounts["binance"]
    async with service.engine.begin() as conn:
        await conn.execute(update(broker_accounts).where(broker_accounts.c.id == binance)
                           .values(execution_mode="semi_manual"))
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client:
        approved = await _send(client, "semi-1", account_id=binance)
        declined = await _send(client, "semi-2", account_id=binance)
        waiting = await _settles(client, approved, "pending_approval")
        with pytest.raises(OrderNotFound):  # nothing was sent
            await _at_broker(service, binance, waiting["client_order_id"])

        answer = await client.post(f"/v1/orders/{approved}/approve")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "filled"
        again = await client.post(f"/v1/orders/{approved}/approve")
        assert again.status_code == 409
        events = (await client.get(f"/v1/orders/{approved}")).json()["events"]
        assert [e["event"] for e in events].count("submit_started") == 1
        assert events[1]["event"] == "approve"
        assert events[1]["actor"] == f"user:{service.user_id}"
        assert (await _at_broker(service, binance, waiting["client_order_id"])).status is OrderStatus.FILLED

        refused = await client.post(f"/v1/orders/{declined}/decline", json={"reason": "not today",
                                                                            "status": "filled"})
        assert refused.status_code == 422  # no field the server derives is taken from the client
        answer = await client.post(f"/v1/orders/{declined}/decline", json={"reason": "not today"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "declined"
        assert answer.json()["reject_reason"] == "not today"
        assert (await client.post(f"/v1/orders/{declined}/approve")).status_code == 409
        gone = (await client.get(f"/v1/orders/{declined}")).json()
        with pytest.raises(OrderNotFound):
            await _at_broker(service, binance, gone["client_order_id"])
    assert (await verify_ledger(service.engine)).ok


async def test_fills_are_listed_newest_first_for_their_owner_only(service: Service) -> None:
    """Fills of the trader's orders page through one at a time in executed_at order, filter by symbol
    and account; the other user sees only their own."""
    binance = service.accounts["binance"]
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers()) as client, \
            httpx.AsyncClient(base_url=service.url, headers=service.headers(service.other_token)) as other:
        mine = [await _send(client, f"fill-{n}", account_id=binance) for n in range(3)]
        theirs = await _send(other, "fill-other", account_id=service.other_account)
        rows = [await _settles(client, order_id, "filled") for order_id in mine]
        rows.append(await _settles(other, theirs, "filled"))
        # The service runs without broker streams here, so the executions are stored as the
        # stream's handler stores them: one fill per order, through the repository.
        async with service.engine.begin() as conn:
            for n, got in enumerate(rows):
                report = FillReport(broker_trade_id=f"trade-{n}", broker_order_id=got["broker_order_id"],
                                    client_order_id=got["client_order_id"], symbol=SYMBOL, side=got["side"],
                                    quantity=Decimal(got["filled_quantity"]),
                                    price=Decimal(got["average_price"]),
                                    executed_at=datetime(2026, 1, 1, 0, 0, n, tzinfo=UTC),
                                    fee=Decimal("0.01"), fee_currency="USDT")
                assert await repo.record_fill(conn, got["id"], report, actor="test")
        listed = await _pages(client, "/v1/fills")
        assert [f["order_id"] for f in listed] == mine[::-1]
        assert listed[0]["executed_at"].startswith("2026-01-01T00:00:02")
        assert (listed[0]["fee"], listed[0]["fee_currency"]) == ("0.01", "USDT")
        assert Decimal(listed[0]["quantity"]) == Decimal(rows[2]["filled_quantity"])
        assert set(listed[0]) == {"id", "order_id", "account_id", "symbol", "side", "quantity", "price",
                                  "fee", "fee_currency", "executed_at"}
        one = (await client.get("/v1/fills", params={"limit": 1})).json()
        assert [f["order_id"] for f in one["items"]] == [mine[2]]
        assert one["next_cursor"]
        assert len((await client.get("/v1/fills", params={"symbol": "ETHUSDT"})).json()["items"]) == 0
        assert len((await client.get("/v1/fills", params={"account_id": binance})).json()["items"]) == 3
        assert [f["order_id"] for f in await _pages(other, "/v1/fills")] == [theirs]
