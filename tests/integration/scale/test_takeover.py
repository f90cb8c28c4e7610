"""Workers in one process at a real paper Binance: takeover reconciles first, a lost lease stops work,
and the outbox claim skips rows another worker holds instead of waiting for them."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import select

from boltztrader.db import orders as repo
from boltztrader.db.tables import broker_orders
from boltztrader.domain.order_states import OrderStatus
from boltztrader.orders.resolve import ABSENT_REASON

from ...contract.harness import admin
from ..orders import helpers
from .conftest import ACCOUNTS, WORKER_POLICY, Venue, Worker, events_of, expire_lease, until

pytestmark = pytest.mark.postgres

S = OrderStatus


class Stop(Exception):
    """Raised from the manager's step hook: the worker 'dies' right after committing ``submitting``."""


async def test_a_taken_over_account_is_reconciled_before_anything_is_sent(venue: Venue) -> None:
    """After a worker dies, the next owner settles its ``submitting`` row before it sends a newer intent."""
    def die(point: str, _order_id: str) -> None:
        if point == "submitting":
            raise Stop

    dead = venue.worker(ttl=1.0, on_step=die)
    await dead.keeper.start(run=False)
    await dead.keeper.settled()
    assert dead.keeper.owned() == set(ACCOUNTS)
    stuck = await venue.intent("sig-stuck", "acct-a")
    with pytest.raises(Stop):  # the worker dies with the row committed `submitting`, nothing sent
        await dead.manager.submit(stuck)
    await dead.keeper.stop(release=False)
    assert (await venue.row(stuck)).status is S.SUBMITTING
    newer = await venue.intent("sig-newer", "acct-a")

    # The next owner (its look-ups wait 3 s for a broker to show an accepted order) dispatches every
    # 0.1 s and on every wake-up: without the gate, `newer` would go out long before `stuck` settles.
    heir = venue.worker(ttl=1.0, acceptance_window=3.0)
    await heir.execution.start()
    try:
        await heir.keeper.start()
        heir.execution.wake(None)
        newer_row = await until(lambda: _settled(venue, newer), within=20)
        assert newer_row, "the newer intent was never sent"
        stuck_row = await venue.row(stuck)
        assert stuck_row.status is S.REJECTED
        assert stuck_row.reject_reason == ABSENT_REASON
        assert venue.at_paper("acct-a", stuck_row.client_order_id) == 0
        assert venue.at_paper("acct-a", newer_row.client_order_id) == 1
        stuck_settled = (await events_of(venue.engine, stuck))[-1].created_at
        sent = [e for e in await events_of(venue.engine, newer) if e.event == "submit_started"]
        assert len(sent) == 1
        assert sent[0].created_at >= stuck_settled, "an intent was sent before its account was reconciled"
        assert sent[0].actor == f"order-manager@{heir.keeper.worker_id}"
        assert heir.keeper.epoch("acct-a") == 2  # the takeover bumped the fencing epoch
    finally:
        await heir.keeper.stop()
        await heir.execution.stop()


async def _settled(venue: Venue, order_id: str) -> repo.OrderRecord | None:
    record = await venue.row(order_id)
    return record if record.status in (S.FILLED, S.OPEN) else None


async def test_a_lost_lease_stops_the_account_s_work_at_once(venue: Venue) -> None:
    """A worker whose lease was taken over stops dispatching, streaming, even marking that account's rows."""
    old = venue.worker(ttl=10.0, policy=replace(WORKER_POLICY, dispatch_interval=0, streams=True))
    await old.execution.start()
    new = venue.worker(ttl=10.0)
    await new.execution.start()
    try:
        await old.keeper.start(run=False)
        await old.keeper.settled()
        assert await until(lambda: _listening(old, set(ACCOUNTS)))
        assert all(old.execution.is_ready(a) for a in ACCOUNTS)

        await expire_lease(venue.engine, "acct-a")  # the old worker stalled; the new one takes acct-a
        await new.keeper.start(run=False)
        assert new.keeper.owned() == {"acct-a"}
        await old.keeper.tick()
        await old.keeper.settled()
        assert not old.execution.owns("acct-a")
        assert not old.execution.is_ready("acct-a")
        assert old.execution.listening() == {"acct-b"}  # the stream of acct-a was stopped

        order_id = await venue.intent("sig-moved", "acct-a")
        assert await old.execution.dispatch() == 0  # not its account any more
        record = await old.manager.submit(order_id)  # even asked directly, the claim is fenced by the lease
        assert record.status is S.PENDING_SUBMIT
        assert venue.at_paper("acct-a", record.client_order_id) == 0

        await new.keeper.settled()
        assert await until(lambda: _ready(new, "acct-a"))
        new.execution.wake(["acct-a"])
        sent = await until(lambda: _settled(venue, order_id))
        assert sent, "the new owner never sent the intent"
        assert venue.at_paper("acct-a", sent.client_order_id) == 1
        assert [e.actor for e in await events_of(venue.engine, order_id) if e.event == "submit_started"] == [
            f"order-manager@{new.keeper.worker_id}"]
    finally:
        await old.aclose()
        await new.aclose()


async def _listening(worker: Worker, accounts: set[str]) -> bool:
    return worker.execution.listening() == accounts


async def _ready(worker: Worker, account_id: str) -> bool:
    return worker.execution.is_ready(account_id)


async def test_the_claim_skips_a_row_another_worker_holds_instead_of_waiting(venue: Venue) -> None:
    """A row locked by another transaction is skipped at once (SKIP LOCKED), then sent once it is free."""
    w = venue.worker(ttl=10.0)
    await w.keeper.start(run=False)
    try:
        order_id = await venue.intent("sig-locked", "acct-b")
        async with venue.engine.connect() as other:  # another worker marking this row right now
            await other.execute(select(broker_orders.c.id).where(broker_orders.c.id == order_id)
                                .with_for_update())
            record = await asyncio.wait_for(w.manager.submit(order_id), 3.0)  # waiting would time out
            assert record.status is S.PENDING_SUBMIT
            await other.rollback()
        record = await w.manager.submit(order_id)
        assert record.status in (S.FILLED, S.OPEN)
        assert venue.at_paper("acct-b", record.client_order_id) == 1
    finally:
        await w.aclose()


async def test_a_send_whose_outcome_was_never_recorded_is_looked_up_by_the_sweep(venue: Venue) -> None:
    """A row left ``submitting`` by a send whose record failed is settled by the sweep, by look-up, once."""
    def fail_record(point: str, _order_id: str) -> None:
        if point == "accepted":  # the broker has the order; writing its outcome fails
            raise Stop

    w = venue.worker(ttl=10.0, on_step=fail_record, policy=replace(WORKER_POLICY, orphan_after=0.5))
    await w.keeper.start(run=False)
    await w.keeper.settled()
    try:
        assert await until(lambda: _ready(w, "acct-b"))
        order_id = await venue.intent("sig-orphan", "acct-b")
        with pytest.raises(Stop):
            await w.manager.submit(order_id)
        record = await venue.row(order_id)
        assert record.status is S.SUBMITTING
        await w.execution.sweep_all()
        assert (await venue.row(order_id)).status is S.SUBMITTING  # too young: a send may still be in flight
        await asyncio.sleep(0.6)
        await w.execution.sweep_all()
        record = await venue.row(order_id)
        assert record.status is S.FILLED
        assert venue.at_paper("acct-b", record.client_order_id) == 1
        assert [e.event for e in await events_of(venue.engine, order_id)].count("submit_started") == 1
    finally:
        await w.aclose()


async def test_a_lease_lapsing_for_a_moment_does_not_strand_its_account(venue: Venue) -> None:
    """Ownership that lapses during start-up (a late renewal, no loss): the account starts once renewed."""
    worker = venue.worker(ttl=1.0, policy=replace(WORKER_POLICY, streams=True))

    async def not_yet(_account_ids: list[str]) -> None:
        """The start-ups are begun by hand below, while the leases are lapsing."""

    worker.keeper.on_gained = not_yet
    await worker.keeper.start(run=False)
    await worker.keeper.settled()
    try:
        await asyncio.sleep(1.0)  # no renewal: owns() lapses, though nobody else took the leases
        assert not worker.execution.owns("acct-a")
        await worker.execution.accounts_gained(list(ACCOUNTS))
        await asyncio.sleep(0.3)
        assert not worker.execution.is_ready("acct-a")
        await worker.keeper.tick()  # the late renewal: the same epochs, nothing was lost

        async def started() -> bool:
            ready = all(worker.execution.is_ready(a) for a in ACCOUNTS)
            return ready and worker.execution.listening() == set(ACCOUNTS)

        assert await until(started, within=10), "an account stayed unstarted after its lease came back"
        order_id = await venue.intent("sig-after-lapse", "acct-a")
        await worker.keeper.tick()
        assert await worker.execution.dispatch(["acct-a"]) == 1
        assert await until(lambda: _settled(venue, order_id), within=10)
    finally:
        await worker.aclose()


async def test_the_periodic_sweep_covers_busy_and_unstreamed_accounts_and_all_of_them_now_and_then(
        venue: Venue) -> None:
    """A quiet account with a live stream is skipped; one with a resting order, or no stream, is not."""
    worker = venue.worker(ttl=5.0, policy=replace(WORKER_POLICY, streams=True, full_sweep_every=3))
    await worker.keeper.start()
    try:
        async def started() -> bool:
            ready = all(worker.execution.is_ready(a) for a in ACCOUNTS)
            return ready and worker.execution.listening() == set(ACCOUNTS)

        assert await until(started, within=10)
        last = (await venue.brokers["acct-a"].get_quote("BTCUSDT")).last
        below = (last * Decimal("0.95")).quantize(Decimal("0.01"))  # rests: the price is not reached
        resting = helpers.intent(venue.owners["acct-a"], "acct-a", order_type="limit", price=below,
                                 quantity=Decimal("0.01"), time_in_force="gtc")
        async with venue.engine.begin() as conn:
            await repo.insert_intents(conn, [resting], actor="test")
        placed = await worker.manager.submit(resting.id)
        assert placed.status is S.OPEN, placed.reject_reason
        assert await worker.execution.sweep_active() == 1  # acct-a only: acct-b is quiet and streamed
        assert await worker.execution.sweep_active() == 1
        assert await worker.execution.sweep_active() == 2  # the third pass is a full one
        await worker.execution.account_removed("acct-b")  # its stream stops

        async def unstreamed() -> bool:
            return "acct-b" not in worker.execution.listening()

        assert await until(unstreamed, within=5)
        assert await worker.execution.sweep_active() == 2
    finally:
        await worker.keeper.stop()
        await worker.execution.stop()


async def test_an_account_whose_start_up_failed_is_started_again(venue: Venue,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    """A start-up that fails (the broker answers 503 to its order look-ups) is tried again until it passes."""
    admin(venue.paper, "PUT", "/_paper/faults", json={"rules": [
        {"op": "list_orders", "action": "error_before", "status": 503, "count": 4,
         "account": venue.paper_ids["acct-a"]}]})
    worker = venue.worker(ttl=5.0, policy=replace(WORKER_POLICY, restart_interval=0.2, restart_max=0.4))
    await worker.execution.start()
    await worker.keeper.start()
    try:
        async def ready() -> bool:
            return worker.execution.is_ready("acct-a") and worker.execution.is_ready("acct-b")

        assert await until(ready, within=15), "the account whose start-up failed never became ready"
        failed = [r for r in caplog.records if "acct-a: start-up reconciliation failed" in r.getMessage()]
        assert len(failed) == 4  # every planned failure was met on the way, each followed by a retry
    finally:
        await worker.keeper.stop()
        await worker.execution.stop()
