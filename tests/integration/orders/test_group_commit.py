"""Group commit: batched intents, transitions, audit entries and positions equal the one-at-a-time writes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.audit import verify_ledger
from boltztrader.db import orders as repo
from boltztrader.db import positions as positions_repo
from boltztrader.db.audit import Pending, log_audit, log_audit_many, read_entries, read_head
from boltztrader.db.tables import order_events, positions
from boltztrader.domain.enums import Side
from boltztrader.domain.order_states import OrderEvent, OrderStatus
from boltztrader.errors import InvalidTransition

from .helpers import NOW, assert_audited, audit_actions, intent, seed_account

E = OrderEvent
S = OrderStatus


async def test_log_audit_many_writes_the_entries_log_audit_would(engine: AsyncEngine) -> None:
    """Batched entries over three chains hash exactly as one log_audit per entry would, and verify."""
    items = [Pending("order", f"o-{i}", "order.created", "test", {"n": i, "qty": Decimal("1.50")},
                     chain=f"user:{i % 3}") for i in range(9)]
    async with engine.begin() as conn:
        await log_audit(conn, "order", "first", "order.created", "test", {"n": -1}, chain="user:0", now=NOW)
        batched = await log_audit_many(conn, items, now=NOW)
    assert [(e.chain, e.seq) for e in batched[:3]] == [("user:0", 2), ("user:1", 1), ("user:2", 1)]
    async with engine.connect() as conn:
        stored = [e for chain in ("user:0", "user:1", "user:2") for e in await read_entries(conn, chain)]
        assert (await read_head(conn, "user:0")).seq == 4  # type: ignore[union-attr]
    assert sorted(batched, key=lambda e: (e.chain, e.seq)) == [e for e in stored if e.entity_id != "first"]
    assert (await verify_ledger(engine)).ok


async def test_log_audit_many_refuses_a_secret_before_writing_anything(engine: AsyncEngine) -> None:
    """One secret-named key in a batch refuses the whole batch; the ledger stays empty."""
    items = [Pending("order", "o-1", "order.created", "test", {"n": 1}),
             Pending("order", "o-2", "order.created", "test", {"api_secret": "x"})]
    async with engine.begin() as conn:
        with pytest.raises(ValueError, match="secret"):
            await log_audit_many(conn, items, now=NOW)
        head = await read_head(conn, "global")
        assert head is None or head.seq == 0


async def test_insert_intents_matches_insert_intent_and_is_idempotent(engine: AsyncEngine) -> None:
    """Batched intents get the rows, events and audit entries of single inserts; repeats are no-ops."""
    async with engine.begin() as conn:
        owners = [await seed_account(conn) for _ in range(5)]
        intents = [intent(user_id, account_id) for user_id, account_id in owners]
        records = await repo.insert_intents(conn, intents, actor="test", now=NOW)
        again = await repo.insert_intents(conn, intents, actor="test", now=NOW)
    assert [r.id for r in records] == [i.id for i in intents] == [r.id for r in again]
    assert all(r.status is S.PENDING_SUBMIT and r.version == 1 for r in records)
    async with engine.connect() as conn:
        stored = await repo.get_many(conn, [i.id for i in intents])
        events = (await conn.execute(select(order_events.c.order_id, order_events.c.event))).all()
    assert {i: r.client_order_id for i, r in stored.items()} == {i.id: i.client_order_id for i in intents}
    assert sorted(events) == sorted((i.id, repo.CREATED) for i in intents)
    for i in intents:
        assert await audit_actions(engine, i.id) == ["order.created"]
        await assert_audited(engine, i.id)


async def test_transition_many_chains_events_of_one_order_and_reports_refusals(engine: AsyncEngine) -> None:
    """Events for one order apply in turn; a refused event is returned, written nowhere, and others go on."""
    async with engine.begin() as conn:
        user_id, account_id = await seed_account(conn)
        first, second = await repo.insert_intents(
            conn, [intent(user_id, account_id, quantity=Decimal(2)), intent(user_id, account_id)],
            actor="test", now=NOW)
        locked = await repo.lock_many(conn, [first.id, second.id])
        results = await repo.transition_many(conn, [
            repo.Change(locked[first.id], E.SUBMIT_STARTED),
            repo.Change(locked[first.id], E.ACCEPTED, {"broker_order_id": "B-1"}),
            repo.Change(locked[first.id], E.PARTIAL_FILL,
                        {"filled_quantity": Decimal(2), "average_price": Decimal("100.5")}),
            repo.Change(locked[second.id], E.FILL,  # from pending_submit: the table refuses it
                        {"filled_quantity": Decimal(1), "average_price": Decimal(1)}),
        ], actor="test", now=NOW)
    statuses = [r.status for r in results[:3] if isinstance(r, repo.OrderRecord)]
    assert statuses == [S.SUBMITTING, S.OPEN, S.FILLED]
    assert isinstance(results[3], InvalidTransition)
    assert await audit_actions(engine, first.id) == [
        "order.created", "order.submit_started", "order.accepted", "order.fill"]
    assert await audit_actions(engine, second.id) == ["order.created"]
    async with engine.connect() as conn:
        done = await repo.get(conn, first.id)
        held = await positions_repo.holdings(conn, account_id)
    assert (done.status, done.version, done.filled_quantity, done.broker_order_id) == (S.FILLED, 4, 2, "B-1")
    assert held["BTCUSDT"].quantity == 2
    assert held["BTCUSDT"].average_price == Decimal("100.5")
    await assert_audited(engine, first.id)


async def test_apply_executions_moves_positions_as_single_executions_do(engine: AsyncEngine) -> None:
    """A batch of buys and sells over two accounts leaves the positions one execution at a time would."""
    async with engine.begin() as conn:
        _, a = await seed_account(conn)
        _, b = await seed_account(conn)
    moves = [(a, Side.BUY, "2", "100"), (b, Side.BUY, "1", "50"), (a, Side.BUY, "2", "110"),
             (a, Side.SELL, "1", "120"), (b, Side.SELL, "1", "40")]
    async with engine.begin() as conn:
        await positions_repo.apply_executions(conn, [
            positions_repo.Execution(acct, "BTCUSDT", "crypto", side, Decimal(qty), Decimal(price))
            for acct, side, qty, price in moves], now=NOW)
        batched = {acct: await positions_repo.holdings(conn, acct) for acct in (a, b)}
        await conn.execute(positions.delete())
        for acct, side, qty, price in moves:
            await positions_repo.apply_execution(
                conn, account_id=acct, symbol="BTCUSDT", market="crypto", side=side, quantity=Decimal(qty),
                price=Decimal(price), now=NOW)
        single = {acct: await positions_repo.holdings(conn, acct) for acct in (a, b)}
    assert batched == single
    assert batched[a]["BTCUSDT"].quantity == 3
    assert batched[b]["BTCUSDT"].realized_pnl == Decimal(-10)
