"""The invariants of reliability.md that the fault tests check after the faults stop."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from boltztrader.db import orders as repo
from boltztrader.db.tables import fills
from boltztrader.domain.ids import kite_tag
from boltztrader.domain.order_states import OrderStatus
from boltztrader.errors import OrderNotFound

from ..integration.orders.helpers import assert_audited
from .conftest import Rig

UNSETTLED = {OrderStatus.PENDING_SUBMIT, OrderStatus.SUBMITTING, OrderStatus.UNKNOWN}


def paper_orders(rig: Rig, client_order_id: str) -> list[Any]:
    """The paper engine's orders that carry this client order id (Kite: its tag)."""
    venue = rig.paper.venue
    account = rig.paper_account
    tag = kite_tag(client_order_id)

    def ours(order: Any) -> bool:
        if rig.harness.name == "kite":
            return bool(order.request.tags.get("tag") == tag)
        return bool(order.request.client_order_id == client_order_id)

    found = rig.paper.call(lambda: [o for o in venue.engine.orders(account) if ours(o)])
    assert isinstance(found, list)
    return found


async def row(rig: Rig, order_id: str) -> repo.OrderRecord:
    async with rig.engine.connect() as conn:
        return await repo.get(conn, order_id)


async def settled(rig: Rig, order_id: str, *, want: set[OrderStatus] | None = None,
                  seconds: float = 20) -> repo.OrderRecord:
    """Poll the row until it leaves the unsettled statuses (or reaches ``want``); fail at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        record = await row(rig, order_id)
        done = record.status in want if want else record.status not in UNSETTLED
        if done:
            return record
        assert loop.time() < deadline, f"order {order_id} stuck in {record.status}"
        await asyncio.sleep(0.05)


async def check(rig: Rig, order_id: str, *, fills_complete: bool = False) -> repo.OrderRecord:
    """Invariants 2-6 for one intent: settled, at most one broker order, DB == broker, fills once, audited."""
    record = await row(rig, order_id)
    assert record.status not in UNSETTLED, record.status  # 2: never stuck
    at_broker = paper_orders(rig, record.client_order_id)
    assert len(at_broker) <= 1, f"{len(at_broker)} broker orders for one intent"  # 3
    if not at_broker:
        assert record.status is OrderStatus.REJECTED, record.status
        assert record.filled_quantity == 0
    else:
        paper_order = at_broker[0]
        report = await rig.broker.get_order(record.symbol, client_order_id=record.client_order_id)
        assert record.status is report.status, (record.status, report.status)  # 4
        assert record.filled_quantity == report.filled_quantity == paper_order.filled_quantity
        assert record.broker_order_id == report.broker_order_id
        if report.average_price is not None and record.average_price is not None:
            assert abs(record.average_price - report.average_price) <= report.average_price * Decimal("1e-9")
    async with rig.engine.connect() as conn:
        stored = (await conn.execute(select(fills.c.broker_trade_id, fills.c.quantity).where(
            fills.c.order_id == order_id))).all()
    total = sum((q for _, q in stored), Decimal(0))
    assert len({t for t, _ in stored}) == len(stored)  # 5: each fill once
    assert total <= record.filled_quantity
    if fills_complete:
        assert total == record.filled_quantity
    await assert_audited(rig.engine, order_id)  # 6
    return record


async def assert_not_found(rig: Rig, client_order_id: str) -> None:
    try:
        await rig.broker.get_order(rig.harness.spot.symbol, client_order_id=client_order_id)
    except OrderNotFound:
        return
    raise AssertionError("the broker holds an order it should not")
