"""Signal intake end to end: validated, routed, sized, risk-checked, written before any send, sent once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.audit import verify_ledger
from boltztrader.db.tables import broker_accounts, broker_orders, model_subscriptions, signals
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.signals import InvalidSignal
from boltztrader.errors import SignalConflict

from .conftest import World, now, signal


async def _count(engine: AsyncEngine, table: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_a_signal_becomes_one_filled_order(world: World) -> None:
    """A valid signal is written as a pending_submit intent, sent once, and fills; the ledger verifies."""
    result = await world.intake.process_signal(signal())
    assert [o.status for o in result.outcomes] == [OrderStatus.PENDING_SUBMIT]
    for order_id in result.to_submit:
        await world.manager.submit(order_id)
    async with world.engine.connect() as conn:
        row = (await conn.execute(select(broker_orders))).one()
    assert row.status in (OrderStatus.FILLED, OrderStatus.OPEN)
    assert world.broker_orders_at_paper("acct-alice", row.client_order_id) == 1
    assert (await verify_ledger(world.engine)).ok


async def test_the_same_signal_again_is_answered_as_before_and_sends_nothing(world: World) -> None:
    """Replaying a signal returns the first result, marked as a replay, and creates no second order."""
    body = signal()
    first = await world.intake.process_signal(body)
    for order_id in first.to_submit:
        await world.manager.submit(order_id)
    again = await world.intake.process_signal(body)
    assert again.replay
    assert [o.order_id for o in again.outcomes] == [o.order_id for o in first.outcomes]
    assert await _count(world.engine, broker_orders) == 1


async def test_the_same_id_with_other_content_is_refused(world: World) -> None:
    """A signal id reused with a different quantity raises SignalConflict and writes nothing."""
    await world.intake.process_signal(signal())
    with pytest.raises(SignalConflict):
        await world.intake.process_signal(signal(quantity="0.02"))
    assert await _count(world.engine, broker_orders) == 1


@pytest.mark.parametrize(("overrides", "field"), [
    ({"confidence": "1.5"}, "confidence"),
    ({"quantity": "0"}, "quantity"),
    ({"quantity": "NaN"}, "quantity"),
    ({"notional": "100"}, "quantity"),  # both quantity and notional
    ({"account_id": "acct-nobody"}, "account_id"),
    ({"symbol": "DOGEUSDT"}, "symbol"),
    ({"market": "moon"}, "market"),
])
async def test_malformed_signals_are_refused_with_nothing_written(world: World, overrides: dict[str, Any],
                                                                  field: str) -> None:
    """Each kind of malformed signal raises InvalidSignal naming its field; no signal or order row exists."""
    with pytest.raises(InvalidSignal) as caught:
        await world.intake.process_signal(signal(**overrides))
    assert caught.value.field == field
    assert await _count(world.engine, signals) == 0
    assert await _count(world.engine, broker_orders) == 0


async def test_low_confidence_is_denied_with_its_reason_and_never_sent(world: World) -> None:
    """A signal under the confidence floor is a denied order with LOW_CONFIDENCE, nothing at the broker."""
    result = await world.intake.process_signal(signal(confidence="0.5"))
    (outcome,) = result.outcomes
    assert outcome.status is OrderStatus.DENIED
    assert "LOW_CONFIDENCE" in outcome.reasons
    assert result.to_submit == []
    assert (await verify_ledger(world.engine)).ok


async def test_a_model_signal_fans_out_to_subscribers_with_their_sizing(world: World) -> None:
    """Every subscriber gets one intent sized by their own rule; a semi-manual account waits for approval."""
    async with world.engine.begin() as conn:
        rules = (("alice", "fixed_quantity", "0.002"), ("bob", "signal", None),
                 ("carol", "fixed_quantity", "0.003"))
        for i, (user, sizing, value) in enumerate(rules):
            await conn.execute(insert(model_subscriptions).values(
                id=f"sub-{i}", user_id=user, model_id="trend-v1", sizing=sizing,
                sizing_value=None if value is None else Decimal(value), active=True, created_at=now()))
    result = await world.intake.process_signal(signal(account_id=None))
    async with world.engine.connect() as conn:
        rows = {r.account_id: (r.quantity, r.status) for r in await conn.execute(select(broker_orders))}
    assert rows == {
        "acct-alice": (Decimal("0.002"), "pending_submit"),
        "acct-bob": (Decimal("0.01"), "pending_submit"),
        "acct-carol": (Decimal("0.003"), "pending_approval"),
    }
    assert len(result.to_submit) == 2


async def test_an_expired_broker_session_denies_the_order(world: World) -> None:
    """An account whose stored session (Kite's daily token) has expired is denied ACCOUNT_UNAVAILABLE."""
    async with world.engine.begin() as conn:
        await conn.execute(update(broker_accounts).where(broker_accounts.c.id == "acct-alice")
                           .values(access_token_expires_at=now() - timedelta(minutes=1)))
    expired = await world.intake.process_signal(signal(id="session-1"))
    assert expired.outcomes[0].status is OrderStatus.DENIED
    assert "ACCOUNT_UNAVAILABLE" in expired.outcomes[0].reasons
    async with world.engine.begin() as conn:
        await conn.execute(update(broker_accounts).where(broker_accounts.c.id == "acct-alice")
                           .values(access_token_expires_at=now() + timedelta(hours=5)))
    renewed = await world.intake.process_signal(signal(id="session-2"))
    assert renewed.outcomes[0].status is OrderStatus.PENDING_SUBMIT
