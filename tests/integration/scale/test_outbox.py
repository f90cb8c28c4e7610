"""The outbox: an API-only execution writes intents and sends nothing; its NOTIFY wakes the owning worker."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.domain.clock import SystemClock
from boltztrader.domain.order_states import OrderStatus
from boltztrader.orders.approvals import Approvals
from boltztrader.orders.balances import Balances
from boltztrader.orders.execution import Execution
from boltztrader.orders.manager import OrderManager
from boltztrader.orders.outbox import Outbox, OutboxListener, OutboxSubmitter
from boltztrader.orders.reconcile import Reconciler

from .conftest import WORKER_POLICY, Directory, Venue, events_of, signal, until

pytestmark = pytest.mark.postgres

S = OrderStatus


class Heard:
    """What an outbox listener reported, in order."""

    def __init__(self) -> None:
        self.calls: list[list[str] | None] = []

    def __call__(self, account_ids: list[str] | None) -> None:
        self.calls.append(account_ids)

    def accounts(self) -> set[str]:
        return {a for call in self.calls if call for a in call}


async def _live(listener: OutboxListener) -> None:
    await asyncio.wait_for(listener.live.wait(), 10)


async def test_a_notify_wakes_every_listening_worker(pg_engine: AsyncEngine) -> None:
    """Each listener is told to look at everything when it starts, then hears each notified account."""
    heard = [Heard(), Heard()]
    listeners = [OutboxListener(pg_engine, h) for h in heard]
    for listener in listeners:
        await listener.start()
    try:
        for listener in listeners:
            await _live(listener)
        assert all(h.calls == [None] for h in heard)
        await Outbox(pg_engine).notify(["acct-1", "acct-2", "acct-1"])

        async def both() -> bool:
            return all(h.accounts() == {"acct-1", "acct-2"} for h in heard)

        assert await until(both, within=5)
    finally:
        for listener in listeners:
            await listener.stop()


def _api_only(venue: Venue, outbox: Outbox) -> Execution:
    """The execution of ``boltz serve --api-only``: owns nothing, wakes the workers through the outbox."""
    clock = SystemClock()
    manager = OrderManager(venue.engine, venue.brokers, clock)
    submitter = OutboxSubmitter(venue.engine, outbox)
    return Execution(venue.engine, Directory(venue.brokers, venue.owners), clock, intake=venue.intake,
                     manager=manager, reconciler=Reconciler(venue.engine, venue.brokers, clock, manager),
                     approvals=Approvals(venue.engine, venue.intake, submitter, clock),
                     balances=Balances(clock), policy=replace(WORKER_POLICY, dispatch_interval=2.0),
                     owns=lambda _account_id: False, outbox=outbox)


async def test_an_api_only_intake_sends_nothing_and_its_wake_up_gets_the_intent_sent(venue: Venue) -> None:
    """The API-only intake writes the intent and sends nothing; the worker woken by its NOTIFY sends it
    at once (its periodic dispatch is off, so only the wake-up can have done it)."""
    api = _api_only(venue, Outbox(venue.engine))
    await api.start()
    worker = venue.worker(ttl=10.0, policy=replace(WORKER_POLICY, dispatch_interval=0))
    heard = Heard()

    def wake(account_ids: list[str] | None) -> None:
        heard(account_ids)
        worker.execution.wake(account_ids)

    listener = OutboxListener(venue.engine, wake)
    await listener.start()
    await worker.execution.start()
    try:
        await worker.keeper.start(run=False)
        await worker.keeper.settled()
        await _live(listener)
        assert await until(lambda: _ready(worker.execution, "acct-a"))

        result = await api.handle_signal(signal("sig-outbox", "acct-a"), wait=True)
        (order_id,) = result.to_submit  # written, and left for the worker even with wait=True
        assert await until(lambda: _sent(venue, order_id), within=5), heard.calls
        assert "acct-a" in heard.accounts()
        record = await venue.row(order_id)
        assert venue.at_paper("acct-a", record.client_order_id) == 1
        actors = [e.actor for e in await events_of(venue.engine, order_id) if e.event == "submit_started"]
        assert actors == [f"order-manager@{worker.keeper.worker_id}"]
    finally:
        await listener.stop()
        await worker.aclose()
        await api.stop()


async def _ready(execution: Execution, account_id: str) -> bool:
    return execution.is_ready(account_id)


async def _sent(venue: Venue, order_id: str) -> bool:
    return (await venue.row(order_id)).status in (S.OPEN, S.FILLED)


async def test_an_api_only_approval_wakes_the_worker_instead_of_sending(venue: Venue) -> None:
    """Approving through an API-only service leaves the row ``pending_submit`` and notifies its account."""
    heard = Heard()
    listener = OutboxListener(venue.engine, heard)
    await listener.start()
    try:
        await _live(listener)
        order_id = await venue.intent("sig-approved", "acct-b")
        record = await OutboxSubmitter(venue.engine, Outbox(venue.engine)).submit(order_id)
        assert record.status is S.PENDING_SUBMIT
        assert await until(lambda: _heard(heard, "acct-b"), within=5)
        assert venue.at_paper("acct-b", record.client_order_id) == 0
    finally:
        await listener.stop()


async def _heard(heard: Heard, account_id: str) -> bool:
    return account_id in heard.accounts()
