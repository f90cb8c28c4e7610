"""Semi-manual approval end to end: judged again with fresh prices, then sent; declined; expired."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert

from boltztrader.audit import verify_ledger
from boltztrader.db import orders as repo
from boltztrader.db.tables import risk_limits
from boltztrader.domain.clock import ManualClock, SystemClock
from boltztrader.domain.order_states import OrderStatus
from boltztrader.errors import InvalidTransition
from boltztrader.orders.approvals import Approvals

from ...contract.harness import price_of, set_price
from .conftest import World, audit_actions, now, row, signal


def approvals(world: World, clock: Any = None) -> Approvals:
    return Approvals(world.engine, world.intake, world.manager, clock or SystemClock())


async def pending(world: World, **overrides: Any) -> repo.OrderRecord:
    """A signal for carol (semi-manual): her intent waits for approval."""
    result = await world.intake.process_signal(signal(account_id="acct-carol", **overrides))
    (outcome,) = result.outcomes
    assert outcome.status is OrderStatus.PENDING_APPROVAL, outcome
    return await row(world, outcome.order_id)


async def test_an_approved_order_is_checked_again_sent_once_and_filled(world: World) -> None:
    """Approval re-runs every check (each verdict audited in order.approved), then the order fills."""
    record = await pending(world)
    assert world.broker_orders_at_paper("acct-carol", record.client_order_id) == 0
    done = await approvals(world).approve(record.id, actor="carol")
    assert done.status is OrderStatus.FILLED
    assert world.broker_orders_at_paper("acct-carol", record.client_order_id) == 1
    audit = await audit_actions(world, record.id)
    assert audit["order.approved"]["actor"] == "carol"
    rules = {v["rule"] for v in audit["order.approved"]["verdicts"]}
    assert len(rules) >= 15
    assert all(v["passed"] for v in audit["order.approved"]["verdicts"])
    assert "order.approve" in audit  # the transition's own entry
    assert audit["order.approved"]["changed"] == {}  # same price: the stored order is the one judged
    assert (await verify_ledger(world.engine)).ok


async def test_a_collared_market_order_is_collared_again_around_the_fresh_price(world: World) -> None:
    """After a 2 % rise the approved market order carries the new collar (written and audited), and fills."""
    record = await pending(world)
    old = price_of(world.paper, "BTCUSDT")
    set_price(world.paper, "BTCUSDT", old * Decimal("1.02"))
    done = await approvals(world).approve(record.id, actor="carol")
    assert done.status is OrderStatus.FILLED
    assert done.price is not None
    assert record.price is not None
    assert done.price > record.price
    changed = (await audit_actions(world, record.id))["order.approved"]["changed"]
    assert set(changed) == {"price"}
    assert Decimal(changed["price"]["to"]) == done.price
    assert (await verify_ledger(world.engine)).ok


async def test_an_approval_after_the_price_left_the_collar_is_denied_and_never_sent(world: World) -> None:
    """A limit 10 % off the fresh reference is denied PRICE_COLLAR at approval; nothing is sent."""
    price = price_of(world.paper, "BTCUSDT")
    record = await pending(world, limit_price=str(price))
    set_price(world.paper, "BTCUSDT", price * Decimal("1.10"))
    done = await approvals(world).approve(record.id, actor="carol")
    assert done.status is OrderStatus.DENIED
    assert done.reject_reason is not None
    assert "PRICE_COLLAR" in done.reject_reason
    assert world.broker_orders_at_paper("acct-carol", record.client_order_id) == 0
    audit = await audit_actions(world, record.id)
    assert "PRICE_COLLAR" in audit["order.approval_denied"]["reasons"]
    assert audit["order.approval_denied"]["approver"] == "carol"
    assert len(audit["order.approval_denied"]["verdicts"]) >= 15
    assert (await verify_ledger(world.engine)).ok


async def test_a_declined_order_is_never_sent_and_cannot_be_approved_later(world: World) -> None:
    """Decline -> declined with its reason and audit entry; a later approval raises InvalidTransition."""
    record = await pending(world)
    gate = approvals(world)
    declined = await gate.decline(record.id, actor="carol", reason="not today")
    assert declined.status is OrderStatus.DECLINED
    assert declined.reject_reason == "not today"
    assert (await gate.decline(record.id, actor="carol")).status is OrderStatus.DECLINED  # twice: no-op
    with pytest.raises(InvalidTransition):
        await gate.approve(record.id, actor="carol")
    assert world.broker_orders_at_paper("acct-carol", record.client_order_id) == 0
    assert (await audit_actions(world, record.id))["order.declined"]["reason"] == "not today"
    assert (await verify_ledger(world.engine)).ok


async def test_approving_an_order_that_is_not_awaiting_approval_is_refused(world: World) -> None:
    """An automated account's pending_submit intent cannot be approved: InvalidTransition, nothing sent."""
    result = await world.intake.process_signal(signal())
    (order_id,) = result.to_submit
    with pytest.raises(InvalidTransition):
        await approvals(world).approve(order_id, actor="alice")
    assert (await row(world, order_id)).status is OrderStatus.PENDING_SUBMIT
    assert world.broker_orders_at_paper("acct-alice", (await row(world, order_id)).client_order_id) == 0


async def test_expire_declines_only_approvals_older_than_the_ttl(world: World) -> None:
    """With the default 5 min TTL, expire() at +4 min declines nothing; at +5 min 1 s it declines."""
    record = await pending(world)
    gate = approvals(world)
    assert await gate.expire(record.created_at + timedelta(minutes=4)) == []
    assert await gate.expire(record.created_at + timedelta(minutes=5, seconds=1)) == [record.id]
    expired = await row(world, record.id)
    assert expired.status is OrderStatus.DECLINED
    assert expired.reject_reason == "approval expired after 300 s"
    assert (await audit_actions(world, record.id))["order.approval_expired"]["actor"] == "system"
    assert await gate.expire(record.created_at + timedelta(minutes=10)) == []
    assert (await verify_ledger(world.engine)).ok


async def test_a_stored_ttl_applies_and_a_late_approval_declines_instead_of_sending(world: World) -> None:
    """With carol's approval_ttl at 1 s, approving 2 s later declines the order; nothing is sent."""
    async with world.engine.begin() as conn:
        await conn.execute(insert(risk_limits).values(scope="user", scope_id="carol",
                                                      limits={"approval_ttl": "1"}, updated_at=now(),
                                                      updated_by="carol"))
    record = await pending(world)
    clock = ManualClock(record.created_at)
    clock.advance(timedelta(seconds=2))
    done = await approvals(world, clock).approve(record.id, actor="carol")
    assert done.status is OrderStatus.DECLINED
    assert done.reject_reason == "approval expired after 1 s"
    assert world.broker_orders_at_paper("acct-carol", record.client_order_id) == 0
    assert (await verify_ledger(world.engine)).ok
