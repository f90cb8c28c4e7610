"""The order repository: idempotent intents, table-driven transitions, optimistic locking, fills once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db import orders as repo
from boltztrader.db.tables import broker_orders, fills
from boltztrader.domain.enums import Side
from boltztrader.domain.order_states import OrderEvent, OrderStatus
from boltztrader.domain.reports import FillReport
from boltztrader.errors import InvalidTransition

from .helpers import assert_audited, audit_actions, intent, seed_account

E = OrderEvent


def fill(trade_id: str, quantity: str, price: str) -> FillReport:
    return FillReport(broker_trade_id=trade_id, broker_order_id="B1", client_order_id=None, symbol="BTCUSDT",
                      side=Side.BUY, quantity=Decimal(quantity), price=Decimal(price),
                      executed_at=datetime.now(UTC))


async def _open_order(engine: AsyncEngine, quantity: str = "3") -> str:
    async with engine.begin() as conn:
        user_id, account_id = await seed_account(conn)
        order_id = await repo.insert_intent(conn, intent(user_id, account_id, quantity=Decimal(quantity)),
                                            actor="test")
        await repo.transition(conn, order_id, E.SUBMIT_STARTED, actor="test")
        await repo.transition(conn, order_id, E.ACCEPTED, actor="test", broker_order_id="B1")
    return order_id


async def test_second_insert_of_an_intent_returns_the_first_row(engine: AsyncEngine) -> None:
    """Inserting the same intent twice leaves one row and returns its id both times."""
    async with engine.begin() as conn:
        user_id, account_id = await seed_account(conn)
        first = intent(user_id, account_id)
        order_id = await repo.insert_intent(conn, first, actor="test")
    async with engine.begin() as conn:
        again = await repo.insert_intent(conn, replace(first, id="other"), actor="test")
        count = (await conn.execute(select(func.count()).select_from(broker_orders))).scalar_one()
    assert again == order_id
    assert count == 1
    assert await audit_actions(engine, order_id) == ["order.created"]
    await assert_audited(engine, order_id)


async def test_transitions_follow_the_table_and_stale_echoes_are_no_ops(engine: AsyncEngine) -> None:
    """Accepted moves submitting to open; a second accepted changes nothing; a refused event raises."""
    order_id = await _open_order(engine)
    async with engine.begin() as conn:
        before = await repo.get(conn, order_id)
        echo = await repo.transition(conn, order_id, E.ACCEPTED, actor="test")
        assert echo == before
        with pytest.raises(InvalidTransition):
            await repo.transition(conn, order_id, E.SUBMIT_STARTED, actor="test")
    assert before.status is OrderStatus.OPEN
    assert before.broker_order_id == "B1"
    assert before.version == 3
    await assert_audited(engine, order_id)


async def test_a_stale_expected_version_is_refused(engine: AsyncEngine) -> None:
    """A transition that expects an older version raises VersionConflict and writes nothing."""
    order_id = await _open_order(engine)
    async with engine.begin() as conn:
        with pytest.raises(repo.VersionConflict):
            await repo.transition(conn, order_id, E.CANCELLED, actor="test", expected_version=1)
        assert (await repo.get(conn, order_id)).status is OrderStatus.OPEN


async def test_a_racing_writer_is_detected_and_the_event_reapplied(engine: AsyncEngine) -> None:
    """A write based on an outdated read re-reads the row and applies its event to the newer state."""
    order_id = await _open_order(engine)
    async with engine.begin() as conn:
        outdated = await repo.get(conn, order_id)
        await repo.transition(conn, order_id, E.PARTIAL_FILL, actor="test", filled_quantity=Decimal(1),
                              average_price=Decimal(10))
        after = await repo.transition(conn, order_id, E.CANCELLED, actor="test", current=outdated)
    assert after.status is OrderStatus.CANCELLED
    assert after.filled_quantity == Decimal(1)
    assert after.version == outdated.version + 2


async def test_each_fill_counts_once_whatever_the_order_of_reports(engine: AsyncEngine) -> None:
    """Duplicate fills are ignored, a cumulative report ahead of the fills is not double counted."""
    order_id = await _open_order(engine, quantity="3")
    async with engine.begin() as conn:
        assert await repo.record_fill(conn, order_id, fill("t1", "1", "100"), actor="test")
        assert not await repo.record_fill(conn, order_id, fill("t1", "1", "100"), actor="test")
        await repo.transition(conn, order_id, E.PARTIAL_FILL, actor="test", filled_quantity=Decimal(2),
                              average_price=Decimal(101))
        assert await repo.record_fill(conn, order_id, fill("t2", "1", "102"), actor="test")
        mid = await repo.get(conn, order_id)
        await repo.transition(conn, order_id, E.PARTIAL_FILL, actor="test", filled_quantity=Decimal(1),
                              average_price=Decimal(100))
        assert await repo.record_fill(conn, order_id, fill("t3", "1", "104"), actor="test")
        final = await repo.get(conn, order_id)
        stored = (await conn.execute(select(func.count()).select_from(fills))).scalar_one()
    assert mid.filled_quantity == Decimal(2)
    assert mid.status is OrderStatus.PARTIALLY_FILLED
    assert final.status is OrderStatus.FILLED
    assert final.filled_quantity == Decimal(3)
    assert final.average_price == Decimal(102)
    assert stored == 3
    await assert_audited(engine, order_id)


async def test_non_terminal_lists_only_live_orders_of_the_account(engine: AsyncEngine) -> None:
    """A cancelled order drops out of non_terminal; an open one stays."""
    order_id = await _open_order(engine)
    async with engine.begin() as conn:
        record = await repo.get(conn, order_id)
        assert [r.id for r in await repo.non_terminal(conn, record.account_id)] == [order_id]
        await repo.transition(conn, order_id, E.CANCELLED, actor="test")
        assert await repo.non_terminal(conn, record.account_id) == []
        assert (await repo.by_client_id(conn, record.client_order_id)) is not None
        assert (await repo.find_reported(conn, record.account_id, broker_order_id=None,
                                         client_order_id=record.client_order_id[:20])) is not None
