"""Stream events applied in any order and any number of times leave the row as the broker has it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db import orders as repo
from boltztrader.db.tables import audit_ledger, fills
from boltztrader.domain.clock import SystemClock
from boltztrader.domain.enums import OrderType, Side
from boltztrader.domain.order_states import OrderEvent, OrderStatus
from boltztrader.domain.reports import FillReport, OrderReport, OrderUpdate
from boltztrader.orders.ingest import Ingestor

from .helpers import assert_audited, intent, seed_account

S = OrderStatus


def update(cid: str | None, status: OrderStatus, filled: str, *, trade: tuple[str, str, str] | None = None,
           broker_id: str = "B1") -> OrderUpdate:
    now = datetime.now(UTC)
    report = OrderReport(
        broker_order_id=broker_id, client_order_id=cid, symbol="BTCUSDT", side=Side.BUY,
        order_type=OrderType.MARKET, quantity=Decimal(3), filled_quantity=Decimal(filled),
        average_price=Decimal(100) if Decimal(filled) else None, limit_price=None, trigger_price=None,
        status=status, raw_status=str(status).upper(), updated_at=now)
    fill = None
    if trade is not None:
        fill = FillReport(broker_trade_id=trade[0], broker_order_id=broker_id, client_order_id=cid,
                          symbol="BTCUSDT", side=Side.BUY, quantity=Decimal(trade[1]),
                          price=Decimal(trade[2]), executed_at=now)
    return OrderUpdate(order=report, fill=fill)


async def _submitting(engine: AsyncEngine) -> tuple[repo.OrderRecord, Ingestor]:
    async with engine.begin() as conn:
        user_id, account_id = await seed_account(conn)
        order_id = await repo.insert_intent(conn, intent(user_id, account_id, quantity=Decimal(3)), actor="t")
        record = await repo.transition(conn, order_id, OrderEvent.SUBMIT_STARTED, actor="t")
    broker: Any = None  # handle() never touches the broker
    return record, Ingestor(engine, account_id, broker, SystemClock())


async def test_every_permutation_of_duplicated_events_ends_in_the_same_row(engine: AsyncEngine) -> None:
    """Whatever order fills, acks and echoes arrive in, the row ends filled 3 at avg 100, three fills."""
    events = [
        update(None, S.OPEN, "0"),
        update(None, S.PARTIALLY_FILLED, "1", trade=("t1", "1", "99")),
        update(None, S.PARTIALLY_FILLED, "2", trade=("t2", "1", "100")),
        update(None, S.FILLED, "3", trade=("t3", "1", "101")),
    ]
    for number, permutation in enumerate(itertools.islice(itertools.permutations(events), 0, None, 5)):
        record, ingestor = await _submitting(engine)
        with_cid = [update(record.client_order_id, e.order.status, str(e.order.filled_quantity),
                           trade=None if e.fill is None else (e.fill.broker_trade_id, str(e.fill.quantity),
                                                              str(e.fill.price)),
                           broker_id=f"B{number}")
                    for e in permutation]
        for event in [*with_cid, *with_cid[::-1]]:
            await ingestor.handle(event)
        async with engine.connect() as conn:
            final = await repo.get(conn, record.id)
            stored = (await conn.execute(select(func.count()).select_from(fills).where(
                fills.c.order_id == record.id))).scalar_one()
        assert (final.status, final.filled_quantity, stored) == (S.FILLED, Decimal(3), 3)
        assert final.average_price == Decimal(100)
        assert final.broker_order_id == f"B{number}"
        await assert_audited(engine, record.id)


async def test_an_order_we_do_not_have_is_flagged_once_and_not_invented(engine: AsyncEngine) -> None:
    """A broker order without our row leaves one reconcile.drift entry and no new row."""
    record, ingestor = await _submitting(engine)
    for _ in range(3):
        await ingestor.handle(update("not-ours", S.OPEN, "0", broker_id="X9"))
    async with engine.connect() as conn:
        flagged = (await conn.execute(select(audit_ledger.c.action).where(
            audit_ledger.c.entity_id == f"{record.account_id}:X9"))).scalars().all()
        rows = await repo.non_terminal(conn)
    assert flagged == ["reconcile.drift"]
    assert [r.id for r in rows] == [record.id]
