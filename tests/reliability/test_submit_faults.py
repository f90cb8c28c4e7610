"""Submitting exactly once against each paper broker while it fails on purpose, on both databases."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from boltztrader.domain.order_states import OrderStatus
from boltztrader.orders.resolve import ABSENT_REASON

from ..contract.harness import set_faults
from ..integration.orders.helpers import audit_actions
from .conftest import READ_TIMEOUT, Rig
from .invariants import check, paper_orders, row

S = OrderStatus


def place_fault(action: str, count: int = 1, **extra: Any) -> dict[str, Any]:
    return {"rules": [{"op": "place_order", "action": action, "count": count, **extra}]}


async def test_a_clean_submit_fills_once_and_agrees_with_the_broker(rig: Rig) -> None:
    """Without faults a market order is sent once, fills, and the row matches the broker."""
    order_id = await rig.new_intent()
    record = await rig.manager.submit(order_id)
    assert record.status in (S.OPEN, S.FILLED)
    record = await rig.manager.refresh(order_id)
    assert record.status is S.FILLED
    await check(rig, order_id)
    assert (await audit_actions(rig.engine, order_id))[:2] == ["order.created", "order.submit_started"]


@pytest.mark.parametrize("status", [503, 500])
async def test_5xx_before_acting_is_resolved_absent_and_never_resent(rig: Rig, status: int) -> None:
    """A 5xx before the broker acted is unknown; look-ups prove absence, the intent ends rejected, unsent."""
    set_faults(rig.paper, place_fault("error_before", status=status))
    order_id = await rig.new_intent()
    record = await rig.manager.submit(order_id)
    assert record.status is S.REJECTED
    assert record.reject_reason == ABSENT_REASON
    assert paper_orders(rig, record.client_order_id) == []
    assert "order.outcome_unknown" in await audit_actions(rig.engine, order_id)
    await check(rig, order_id)


@pytest.mark.parametrize("fault", [
    place_fault("error_after", status=500),
    place_fault("hold_after", hold_ms=int(READ_TIMEOUT * 1000 * 2.5)),
    place_fault("drop_after"),
], ids=["5xx_after", "held_past_read_timeout", "dropped_after_accept"])
async def test_an_accepted_order_whose_answer_is_lost_is_found_not_resent(rig: Rig,
                                                                          fault: dict[str, Any]) -> None:
    """When the broker acted but its answer was lost, a look-up by client id settles the row; one order."""
    set_faults(rig.paper, fault)
    order_id = await rig.new_intent()
    record = await rig.manager.submit(order_id)
    assert record.status is S.FILLED
    assert len(paper_orders(rig, record.client_order_id)) == 1
    actions = await audit_actions(rig.engine, order_id)
    assert "order.outcome_unknown" in actions
    await check(rig, order_id)


async def test_look_ups_back_off_while_the_broker_is_down(rig: Rig) -> None:
    """A lost answer followed by failing look-ups still ends with the order found, once."""
    set_faults(rig.paper, {"rules": [
        {"op": "place_order", "action": "error_after", "count": 1},
        {"op": "get_order", "action": "error_before", "count": 3},
        {"op": "list_orders", "action": "error_before", "count": 3},
    ]})
    order_id = await rig.new_intent()
    record = await rig.manager.submit(order_id)
    assert record.status is S.FILLED
    await check(rig, order_id)


async def test_429_bursts_delay_the_order_but_never_drop_or_double_it(rig: Rig) -> None:
    """Rate limits send the intent back to pending_submit and it goes out after Retry-After, once."""
    set_faults(rig.paper, place_fault("rate_limit", count=3, retry_after_s=0))
    order_id = await rig.new_intent()
    record = await rig.manager.submit(order_id)
    assert record.status in (S.OPEN, S.FILLED)
    await rig.manager.refresh(order_id)
    actions = await audit_actions(rig.engine, order_id)
    assert actions.count("order.not_sent") == 3
    assert actions.count("order.submit_started") == 4
    await check(rig, order_id)


async def test_concurrent_submits_of_one_intent_send_one_order(rig: Rig) -> None:
    """Two workers racing on one intent: one sends, the other sees it taken and sends nothing."""
    order_id = await rig.new_intent()
    results = await asyncio.gather(*(rig.manager.submit(order_id) for _ in range(4)))
    assert {r.id for r in results} == {order_id}
    await rig.manager.refresh(order_id)
    record = await row(rig, order_id)
    assert len(paper_orders(rig, record.client_order_id)) == 1
    actions = await audit_actions(rig.engine, order_id)
    assert actions.count("order.submit_started") == 1
    await check(rig, order_id)


async def test_a_settled_intent_is_never_sent_again(rig: Rig) -> None:
    """Submitting an order that already filled changes nothing and sends nothing."""
    order_id = await rig.new_intent()
    await rig.manager.submit(order_id)
    before = await rig.manager.refresh(order_id)
    again = await rig.manager.submit(order_id)
    assert again == before
    assert len(paper_orders(rig, before.client_order_id)) == 1


async def test_a_batch_with_lost_answers_and_refusals_sends_each_intent_once(rig: Rig) -> None:
    """One batch of twelve intents meets a 5xx after acting, a dropped answer and 429s; each is sent once."""
    set_faults(rig.paper, {"rules": [
        {"op": "place_order", "action": "error_after", "status": 500, "count": 1},
        {"op": "place_order", "action": "drop_after", "count": 1},
        {"op": "place_order", "action": "rate_limit", "count": 2, "retry_after_s": 0},
    ]})
    order_ids = [await rig.new_intent() for _ in range(12)]
    records = await rig.manager.submit_many(order_ids)
    assert set(records) == set(order_ids)
    for order_id in order_ids:
        record = records[order_id]
        assert record.status in (S.OPEN, S.PARTIALLY_FILLED, S.FILLED), record
        assert len(paper_orders(rig, record.client_order_id)) == 1
        await rig.manager.refresh(order_id)  # Kite's and Alpaca's acks carry no fill: look it up
        await check(rig, order_id)
    actions = [a for order_id in order_ids for a in await audit_actions(rig.engine, order_id)]
    assert actions.count("order.outcome_unknown") == 2
    assert actions.count("order.not_sent") == 2
