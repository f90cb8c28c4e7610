"""The process killed (SIGKILL) at every step of the submit path, then restarted, on both databases.

The paper Binance runs in this test process and outlives the killed one; the worker
(crash_worker.py) runs intake and submit for one signal in a subprocess against the test's database
and SIGKILLs itself at the crash point. The restart is a fresh OrderManager and Reconciler here,
running ``Reconciler.startup`` for the account. Afterwards the signal has exactly one order row,
settled (terminal or live) and agreeing with the broker, at most one broker order (exactly one when
the process died after the send), each fill once, every change audited, and the ledger verifies.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.audit import verify_ledger
from boltztrader.brokers.base import Broker
from boltztrader.brokers.binance import BinanceBroker
from boltztrader.brokers.transport import Timeouts
from boltztrader.db import orders as repo
from boltztrader.db.tables import broker_orders, fills, order_events
from boltztrader.domain.clock import SystemClock
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.targets import AccountRef
from boltztrader.orders.intake import Intake
from boltztrader.orders.manager import OrderManager
from boltztrader.orders.reconcile import Reconciler
from boltztrader.orders.resolve import ABSENT_REASON, Resolver
from boltztrader.paper.venue import VenueConfig
from boltztrader.router import Router

from ..contract.harness import set_faults
from ..contract.harness_binance import BinanceHarness, config_for
from ..integration.orders.helpers import audit_actions, seed_account
from ..paper.conftest import RunningPaper
from .conftest import FAST_RESOLVE, FAST_SUBMIT, READ_TIMEOUT, Rig
from .invariants import UNSETTLED, paper_orders

S = OrderStatus
ROOT = Path(__file__).resolve().parents[2]
HOLD_MS = 1500  # in_flight: the broker's answer is held this long; the worker dies 0.5 s into it

# crash point -> (the row's status when the process died, broker orders after the restart)
POINTS: dict[str, tuple[set[OrderStatus], int]] = {
    "intent_committed": ({S.PENDING_SUBMIT}, 1),  # never sent: start-up sends it, once
    "submitting": ({S.SUBMITTING}, 0),  # marked, never sent: looked up, proved absent, rejected
    "in_flight": ({S.SUBMITTING}, 1),  # sent, broker acted, answer never read: found by look-up
    "accepted": ({S.SUBMITTING}, 1),  # ack in hand, not recorded: found by look-up
    "recorded": ({S.OPEN, S.FILLED}, 1),  # ack recorded, fills not fetched: the sweep polls them
}


def _signal(signal_id: str, account_id: str) -> dict[str, Any]:
    return {"id": signal_id, "model_id": "crash-v1", "symbol": "BTCUSDT", "market": "crypto", "side": "buy",
            "quantity": "0.001", "confidence": "0.9", "created_at": datetime.now(UTC).isoformat(),
            "account_id": account_id}


def _run_worker(db_url: str, paper: RunningPaper, account: dict[str, Any], body: dict[str, Any],
                point: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.reliability.crash_worker", db_url, paper.url, account["api_key"],
         account["api_secret"], json.dumps(body), point],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


async def assert_events_audited(engine: AsyncEngine, order_id: str) -> None:
    """Every order_events row of the order has its ``order.<event>`` audit entry, in order (intake's
    ``risk.decision`` entry is an audit entry without an event: invariants.check does not expect it)."""
    async with engine.connect() as conn:
        events = (await conn.execute(select(order_events.c.event).where(
            order_events.c.order_id == order_id).order_by(order_events.c.id))).scalars().all()
    actions = [a for a in await audit_actions(engine, order_id) if a.startswith("order.")]
    assert actions == [f"order.{event}" for event in events], (actions, events)


async def agrees(rig: Rig, order_id: str) -> repo.OrderRecord:
    """Invariants 2-5 for one intent (as invariants.check, whose audit step expects no risk.decision)."""
    async with rig.engine.connect() as conn:
        record = await repo.get(conn, order_id)
        stored = (await conn.execute(select(fills.c.broker_trade_id, fills.c.quantity).where(
            fills.c.order_id == order_id))).all()
    assert record.status not in UNSETTLED, record.status
    at_broker = paper_orders(rig, record.client_order_id)
    assert len(at_broker) <= 1, f"{len(at_broker)} broker orders for one intent"
    if at_broker:
        report = await rig.broker.get_order(record.symbol, client_order_id=record.client_order_id)
        assert (record.status, record.filled_quantity, record.broker_order_id) == (
            report.status, report.filled_quantity, report.broker_order_id)
        assert record.filled_quantity == at_broker[0].filled_quantity
    else:
        assert record.status is S.REJECTED
        assert record.filled_quantity == 0
    assert len({t for t, _ in stored}) == len(stored)
    assert sum((q for _, q in stored), Decimal(0)) <= record.filled_quantity
    await assert_events_audited(rig.engine, order_id)
    return record


async def _rows(engine: AsyncEngine, signal_id: str) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(broker_orders).where(broker_orders.c.signal_id == signal_id))
        return list(rows.all())


@pytest.mark.parametrize("point", list(POINTS))
async def test_killed_at_a_step_of_the_submit_path_then_restarted(
        point: str, db_url: str, engine: AsyncEngine, paper_factory: Callable[..., RunningPaper]) -> None:
    """SIGKILL at ``point``, restart: one settled row agreeing with the broker, no second order, audited."""
    harness = BinanceHarness()
    harness.start(paper_factory, VenueConfig(tick_seconds=0))
    async with engine.begin() as conn:
        user_id, account_id = await seed_account(conn, broker="binance")
    body = _signal(f"sig-crash-{point}", account_id)
    if point == "in_flight":
        set_faults(harness.paper, {"rules": [{"op": "place_order", "action": "hold_after", "count": 1,
                                              "hold_ms": HOLD_MS}]})

    done = await asyncio.to_thread(_run_worker, db_url, harness.paper, harness.account, body, point)
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stdout, done.stderr)
    set_faults(harness.paper, {})

    (before,) = await _rows(engine, body["id"])
    want_before, want_orders = POINTS[point]
    assert before.status in want_before, (before.status, done.stdout)

    # The restart: a new process's adapter, manager and reconciler over the same database and broker.
    account = harness.account
    broker = BinanceBroker(config_for(harness.paper, account["api_key"], account["api_secret"],
                                      timeouts=Timeouts(connect=2, read=READ_TIMEOUT)))
    clock = SystemClock()
    brokers: dict[str, Broker] = {account_id: broker}
    manager = OrderManager(engine, brokers, clock, policy=FAST_SUBMIT,
                           resolver=Resolver(engine, brokers, clock, policy=FAST_RESOLVE))
    reconciler = Reconciler(engine, brokers, clock, manager)
    try:
        await reconciler.startup(account_id)
        assert reconciler.is_ready(account_id)
        rig = Rig(harness, broker, engine, user_id, account_id, manager)

        (after,) = await _rows(engine, body["id"])
        assert after.id == before.id
        assert S(after.status) not in UNSETTLED
        assert len(paper_orders(rig, after.client_order_id)) == want_orders
        record = await agrees(rig, after.id)  # settled, <= 1 broker order, DB == broker, fills once, audited
        if want_orders:
            assert record.status is S.FILLED  # a market order: live no longer
        else:
            assert record.status is S.REJECTED
            assert record.reject_reason == ABSENT_REASON
        if point != "intent_committed":
            assert (await audit_actions(engine, after.id)).count("order.submit_started") == 1  # never resent

        # The same signal again after the restart is answered as before and sends nothing.
        def broker_for(account: AccountRef) -> Broker:
            return brokers[account.account_id]

        replay = await Intake(engine, Router(BrokerName.BINANCE), broker_for, clock).process_signal(body)
        assert replay.replay
        assert [o.order_id for o in replay.outcomes] == [after.id]
        assert replay.to_submit == []
        # A second restart changes nothing.
        await Reconciler(engine, brokers, clock, manager).startup(account_id)
        assert len(paper_orders(rig, after.client_order_id)) == want_orders
        assert await agrees(rig, after.id) == record
        assert len(await _rows(engine, body["id"])) == 1
        assert (await verify_ledger(engine)).ok
    finally:
        await broker.close()
