"""The running pipeline: nothing goes out for an account before its start-up reconciliation."""

from __future__ import annotations

from boltztrader.brokers.base import Broker
from boltztrader.domain.clock import SystemClock
from boltztrader.domain.order_states import OrderStatus
from boltztrader.orders.approvals import Approvals
from boltztrader.orders.balances import Balances
from boltztrader.orders.execution import Execution, ExecutionPolicy
from boltztrader.orders.reconcile import Reconciler

from .conftest import World, row, signal

QUIET = ExecutionPolicy(dispatch_interval=0, approvals_interval=0, sweep_interval=0, positions_interval=0,
                        balances_interval=0, streams=False)


class Directory(dict[str, Broker]):
    """The world's adapters by account id, with each account's owner (acct-alice belongs to alice)."""

    def owner(self, account_id: str) -> str:
        return account_id.removeprefix("acct-")


def _execution(world: World) -> Execution:
    clock = SystemClock()
    reconciler = Reconciler(world.engine, world.brokers, clock, world.manager)
    approvals = Approvals(world.engine, world.intake, world.manager, clock)
    return Execution(world.engine, Directory(world.brokers), clock, intake=world.intake,
                     manager=world.manager, reconciler=reconciler, approvals=approvals,
                     balances=Balances(clock), policy=QUIET)


async def test_an_account_not_yet_reconciled_sends_nothing_until_it_is(world: World) -> None:
    """A signal for an account whose start-up reconciliation has not run stays pending_submit; then goes."""
    execution = _execution(world)
    result = await execution.handle_signal(signal(id="ex-1"), wait=True)
    order_id = result.outcomes[0].order_id
    assert (await row(world, order_id)).status is OrderStatus.PENDING_SUBMIT
    await execution.reconciler.startup("acct-alice")
    record = await row(world, order_id)
    assert record.status in (OrderStatus.OPEN, OrderStatus.FILLED)
    assert world.broker_orders_at_paper("acct-alice", record.client_order_id) == 1


async def test_dispatch_sends_stray_intents_of_ready_accounts_once(world: World) -> None:
    """An intent written but never sent (a crash after the intake) goes out on the next dispatch, once."""
    execution = _execution(world)
    await execution.reconciler.startup("acct-alice")
    result = await world.intake.process_signal(signal(id="ex-2"))
    assert await execution.dispatch() == 1
    assert await execution.dispatch() == 0
    record = await row(world, result.outcomes[0].order_id)
    assert record.status in (OrderStatus.OPEN, OrderStatus.FILLED)
    assert world.broker_orders_at_paper("acct-alice", record.client_order_id) == 1
