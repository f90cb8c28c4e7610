"""Cancelling one order: withdrawn here if never sent, cancelled at the paper broker if working, and
whatever the broker says (a racing fill, a refusal, no answer) is what the row ends up saying."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from boltztrader.audit import verify_ledger
from boltztrader.db import orders as repo
from boltztrader.db.tables import order_events, positions
from boltztrader.domain.clock import SystemClock
from boltztrader.domain.order_states import OrderEvent, OrderStatus
from boltztrader.errors import InvalidTransition, OrderNotFound, OutcomeUnknown, RateLimited
from boltztrader.orders.cancel import cancel_order

from ...contract.harness import admin, price_of, set_faults, set_price
from .conftest import World, audit_actions, row, signal

S = OrderStatus
SYMBOL = "BTCUSDT"


async def cancel(world: World, order_id: str, actor: str = "alice") -> repo.OrderRecord:
    return await cancel_order(world.engine, world.brokers, SystemClock(), order_id, actor=actor)


def price(world: World, factor: str) -> str:
    return str((price_of(world.paper, SYMBOL) * Decimal(factor)).quantize(Decimal("0.01")))


async def intent(world: World, sig: str, account: str = "acct-alice", **overrides: Any) -> str:
    result = await world.intake.process_signal(signal(id=sig, account_id=account, **overrides))
    (outcome,) = result.outcomes
    assert outcome.status in (S.PENDING_SUBMIT, S.PENDING_APPROVAL), outcome
    return outcome.order_id


async def resting(world: World, sig: str, **overrides: Any) -> repo.OrderRecord:
    """A limit buy 2 % under the market, sent and resting (open) at the paper broker."""
    order_id = await intent(world, sig, limit_price=price(world, "0.98"), **overrides)
    record = await world.manager.submit(order_id)
    assert record.status is S.OPEN
    return record


async def events(world: World, order_id: str) -> list[tuple[str, str]]:
    async with world.engine.connect() as conn:
        rows = await conn.execute(select(order_events.c.event, order_events.c.actor)
                                  .where(order_events.c.order_id == order_id).order_by(order_events.c.id))
        return [(r.event, r.actor) for r in rows]


async def test_an_unsent_intent_is_cancelled_here_and_never_reaches_the_broker(world: World) -> None:
    """pending_submit -> cancelled by the caller, with its reason and audit entry; nothing is sent later."""
    order_id = await intent(world, "sig-1")
    done = await cancel(world, order_id)
    assert done.status is S.CANCELLED
    assert done.reject_reason == "cancelled on request"
    assert (await world.manager.submit(order_id)).status is S.CANCELLED
    assert world.broker_orders_at_paper("acct-alice", done.client_order_id) == 0
    assert (await audit_actions(world, order_id))["order.cancelled"]["actor"] == "alice"
    assert (await verify_ledger(world.engine)).ok


async def test_an_order_awaiting_approval_is_declined_when_cancelled(world: World) -> None:
    """pending_approval (carol is semi-manual) -> declined, with no broker call."""
    order_id = await intent(world, "sig-1", "acct-carol")
    done = await cancel(world, order_id, actor="carol")
    assert done.status is S.DECLINED
    assert world.broker_orders_at_paper("acct-carol", done.client_order_id) == 0
    assert (await events(world, order_id))[-1] == (str(OrderEvent.DECLINE), "carol")


async def test_a_resting_order_is_cancelled_at_the_broker_after_pending_cancel(world: World) -> None:
    """open -> pending_cancel (its own event first) -> cancelled; the paper broker's order is CANCELLED."""
    record = await resting(world, "sig-1")
    done = await cancel(world, record.id)
    assert done.status is S.CANCELLED
    assert done.filled_quantity == 0
    assert world.paper_states("acct-alice", record.client_order_id) == ["CANCELLED"]
    steps = [event for event, _actor in await events(world, record.id)]
    assert steps[-2:] == [str(OrderEvent.CANCEL_REQUESTED), str(OrderEvent.CANCELLED)]
    assert (await audit_actions(world, record.id))["order.cancel_requested"]["actor"] == "alice"
    with pytest.raises(InvalidTransition):
        await cancel(world, record.id)
    assert (await verify_ledger(world.engine)).ok


async def test_a_finished_order_cannot_be_cancelled_and_is_left_as_it_was(world: World) -> None:
    """A filled market order raises InvalidTransition; its row and event count do not move."""
    order_id = await intent(world, "sig-1")
    filled = await world.manager.submit(order_id)
    assert filled.status is S.FILLED
    before = len(await events(world, order_id))
    with pytest.raises(InvalidTransition):
        await cancel(world, order_id)
    assert (await row(world, order_id)).status is S.FILLED
    assert len(await events(world, order_id)) == before


async def test_an_order_being_sent_cannot_be_cancelled_yet(world: World) -> None:
    """submitting (the broker may not have it yet) raises InvalidTransition and stays submitting."""
    order_id = await intent(world, "sig-1")
    async with world.engine.begin() as conn:
        await repo.transition(conn, order_id, OrderEvent.SUBMIT_STARTED, actor="order-manager")
    with pytest.raises(InvalidTransition, match="being sent"):
        await cancel(world, order_id)
    assert (await row(world, order_id)).status is S.SUBMITTING


async def test_an_unknown_order_id_is_order_not_found(world: World) -> None:
    """No such row: OrderNotFound, as the API's 404."""
    with pytest.raises(OrderNotFound):
        await cancel(world, "no-such-order")


async def test_a_fill_that_raced_the_cancel_is_kept(world: World) -> None:
    """The resting buy fills at the broker before our cancel: the row ends filled, the position moves."""
    record = await resting(world, "sig-1")
    set_price(world.paper, SYMBOL, Decimal(price(world, "0.97")))  # the market falls through the limit
    assert world.paper_states("acct-alice", record.client_order_id) == ["FILLED"]
    assert (await row(world, record.id)).status is S.OPEN  # no stream in this world: we do not know yet
    done = await cancel(world, record.id)
    assert done.status is S.FILLED
    assert done.filled_quantity == record.quantity
    async with world.engine.connect() as conn:
        held = (await conn.execute(select(positions.c.quantity).where(
            positions.c.account_id == "acct-alice", positions.c.symbol == SYMBOL))).scalar_one()
    assert held == record.quantity
    assert (await verify_ledger(world.engine)).ok


async def test_a_cancel_the_broker_refused_leaves_the_order_working_here_and_there(world: World) -> None:
    """Rate limited at the cancel: RateLimited is raised, the row goes back to open; a later cancel works."""
    record = await resting(world, "sig-1")
    set_faults(world.paper, {"rules": [{"op": "cancel_order", "action": "rate_limit", "count": 1}]})
    with pytest.raises(RateLimited):
        await cancel(world, record.id)
    after = await row(world, record.id)
    assert after.status is S.OPEN
    assert world.paper_states("acct-alice", record.client_order_id) == ["OPEN"]
    assert str(OrderEvent.CANCEL_REJECTED) in [e for e, _ in await events(world, record.id)]
    assert (await cancel(world, record.id)).status is S.CANCELLED
    assert world.paper_states("acct-alice", record.client_order_id) == ["CANCELLED"]


async def test_a_cancel_without_an_answer_stays_pending_cancel_until_asked_again(world: World) -> None:
    """The broker cancels but its answer is lost: OutcomeUnknown, the row stays pending_cancel; the next
    cancel finds the order cancelled at the broker and settles the row."""
    record = await resting(world, "sig-1")
    set_faults(world.paper, {"rules": [{"op": "cancel_order", "action": "error_after", "count": 1,
                                        "status": 500}]})
    with pytest.raises(OutcomeUnknown):
        await cancel(world, record.id)
    assert (await row(world, record.id)).status is S.PENDING_CANCEL
    assert world.paper_states("acct-alice", record.client_order_id) == ["CANCELLED"]
    admin(world.paper, "PUT", "/_paper/faults", json={"rules": []})
    assert (await cancel(world, record.id)).status is S.CANCELLED
    assert (await verify_ledger(world.engine)).ok
