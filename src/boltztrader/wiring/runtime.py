"""The trading runtime of a service process: vault, broker directory, intake, manager, background work.

The role (``Settings.role``) decides what runs: ``all`` trades every account in this one process
(as ever); ``api`` runs the intake and sends nothing (the intents are the outbox; the workers are
woken); ``worker`` trades the accounts whose lease its ``LeaseKeeper`` holds, takes its Binance
request weight from the shared budget, and dispatches at once when the outbox wakes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.accounts.directory import BrokerDirectory
from boltztrader.accounts.keyring import DEV_KEY_FILE, load_keyring
from boltztrader.accounts.vault import Vault
from boltztrader.domain.clock import Clock, SystemClock
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.secrets import Secret
from boltztrader.orders.approvals import Approvals
from boltztrader.orders.balances import Balances
from boltztrader.orders.budget import SharedBudget, send_gate
from boltztrader.orders.execution import Execution, ExecutionPolicy
from boltztrader.orders.intake import Intake
from boltztrader.orders.killswitch import KillSwitch
from boltztrader.orders.leases import LeaseKeeper
from boltztrader.orders.manager import OrderManager
from boltztrader.orders.outbox import Outbox, OutboxListener, OutboxSubmitter
from boltztrader.orders.reconcile import Reconciler
from boltztrader.router import Router
from boltztrader.settings import Role, RunMode, Settings
from boltztrader.wiring.brokers import BrokerFactory

__all__ = ["Runtime", "build_runtime", "vault_for"]


def vault_for(settings: Settings) -> Vault:
    """The vault with the configured master keys; in paper mode without one, a local key file is
    made on first use (live mode refuses to start without a configured key: settings)."""
    dev_file = DEV_KEY_FILE if settings.mode is RunMode.PAPER else None
    master = None if settings.master_key is None else Secret(settings.master_key.get_secret_value())
    previous = (None if settings.previous_master_keys is None
                else Secret(settings.previous_master_keys.get_secret_value()))
    return Vault(load_keyring(master_key=master, master_key_file=settings.master_key_file, previous=previous,
                              dev_key_file=dev_file))


@dataclass
class Runtime:
    vault: Vault
    directory: BrokerDirectory
    balances: Balances
    intake: Intake
    manager: OrderManager
    reconciler: Reconciler
    approvals: Approvals
    killswitch: KillSwitch
    execution: Execution
    factory: BrokerFactory
    role: Role = Role.ALL
    leases: LeaseKeeper | None = None  # a worker's
    listener: OutboxListener | None = None  # a worker's
    budget: SharedBudget | None = None  # a worker's

    async def start(self) -> None:
        """The background work: the execution's passes, then (a worker) the leases and the outbox."""
        await self.execution.start()
        if self.leases is not None:
            await self.leases.start()
        if self.listener is not None:
            await self.listener.start()

    async def aclose(self) -> None:
        if self.listener is not None:
            await self.listener.stop()
        if self.leases is not None:  # stop every account's work, then free its lease for the others
            await self.leases.stop(release=True)
        await self.execution.stop()
        await self.directory.aclose()
        await self.factory.aclose()


async def build_runtime(settings: Settings, engine: AsyncEngine, *, clock: Clock | None = None,
                        policy: ExecutionPolicy | None = None, factory: BrokerFactory | None = None,
                        role: Role | None = None) -> Runtime:
    """Every part, with the linked accounts' adapters loaded; ``start()`` is the caller's."""
    role = role or settings.role
    clock = clock or SystemClock()
    vault = vault_for(settings)
    factory = factory or BrokerFactory(settings)
    directory = BrokerDirectory(engine, vault, factory)
    await directory.load()
    balances = Balances(clock, max_age=timedelta(seconds=settings.balance_max_age_seconds))
    intake = Intake(engine, Router(BrokerName(settings.broker_default)), directory.for_ref, clock,
                    balances=balances)
    killswitch = KillSwitch(engine, directory, clock)
    policy = policy or ExecutionPolicy()
    leases = listener = budget = None
    if role is Role.WORKER:
        leases = LeaseKeeper(engine, ttl=settings.lease_ttl)
        budget = SharedBudget(engine, key="binance", limit=settings.binance_weight_per_minute)
        manager = OrderManager(engine, directory, clock, actor=f"order-manager@{leases.worker_id}",
                               claim=leases.claim_orders, gate=send_gate(budget))
    else:
        manager = OrderManager(engine, directory, clock)
    reconciler = Reconciler(engine, directory, clock, manager)

    def execution_with(approvals: Approvals, policy: ExecutionPolicy, *,
                       owns: Callable[[str], bool] | None = None, outbox: Outbox | None = None) -> Execution:
        return Execution(engine, directory, clock, intake=intake, manager=manager, reconciler=reconciler,
                         approvals=approvals, balances=balances, policy=policy, owns=owns, outbox=outbox)

    if role is Role.API:
        # The intake only: intents wait in the outbox (pending_submit) and the workers are woken.
        outbox = Outbox(engine)
        approvals = Approvals(engine, intake, OutboxSubmitter(engine, outbox), clock)
        quiet = replace(policy, dispatch_interval=0, sweep_interval=0, positions_interval=0, streams=False)
        execution = execution_with(approvals, quiet, owns=_nothing, outbox=outbox)
    elif leases is not None:
        approvals = Approvals(engine, intake, manager, clock)
        # Approvals expire where people approve (the API); balances serve the intake, not run here.
        mine = replace(policy, approvals_interval=0, balances_interval=0)
        execution = execution_with(approvals, mine, owns=leases.owns)
        leases.on_gained = partial(_gained, directory, execution)
        leases.on_lost = execution.accounts_lost
        listener = OutboxListener(engine, execution.wake)
    else:
        approvals = Approvals(engine, intake, manager, clock)
        execution = execution_with(approvals, policy)
    return Runtime(vault, directory, balances, intake, manager, reconciler, approvals, killswitch, execution,
                   factory, role, leases, listener, budget)


def _nothing(_account_id: str) -> bool:
    return False


async def _gained(directory: BrokerDirectory, execution: Execution, account_ids: list[str]) -> None:
    """Leases taken: load the adapters of accounts linked since this worker started, then reconcile."""
    missing = [a for a in account_ids if a not in directory]
    if missing:
        await directory.load(missing)
    await execution.accounts_gained(account_ids)
