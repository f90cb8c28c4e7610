"""The trading runtime of a service process: vault, broker directory, intake, manager, background work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.accounts.directory import BrokerDirectory
from boltztrader.accounts.keyring import DEV_KEY_FILE, load_keyring
from boltztrader.accounts.vault import Vault
from boltztrader.domain.clock import Clock, SystemClock
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.secrets import Secret
from boltztrader.orders.approvals import Approvals
from boltztrader.orders.balances import Balances
from boltztrader.orders.execution import Execution, ExecutionPolicy
from boltztrader.orders.intake import Intake
from boltztrader.orders.killswitch import KillSwitch
from boltztrader.orders.manager import OrderManager
from boltztrader.orders.reconcile import Reconciler
from boltztrader.router import Router
from boltztrader.settings import RunMode, Settings
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

    async def aclose(self) -> None:
        await self.execution.stop()
        await self.directory.aclose()
        await self.factory.aclose()


async def build_runtime(settings: Settings, engine: AsyncEngine, *, clock: Clock | None = None,
                        policy: ExecutionPolicy | None = None,
                        factory: BrokerFactory | None = None) -> Runtime:
    """Every part, with the linked accounts' adapters loaded; ``execution.start()`` is the caller's."""
    clock = clock or SystemClock()
    vault = vault_for(settings)
    factory = factory or BrokerFactory(settings)
    directory = BrokerDirectory(engine, vault, factory)
    await directory.load()
    balances = Balances(clock, max_age=timedelta(seconds=settings.balance_max_age_seconds))
    intake = Intake(engine, Router(BrokerName(settings.broker_default)), directory.for_ref, clock,
                    balances=balances)
    manager = OrderManager(engine, directory, clock)
    reconciler = Reconciler(engine, directory, clock, manager)
    approvals = Approvals(engine, intake, manager, clock)
    killswitch = KillSwitch(engine, directory, clock)
    execution = Execution(engine, directory, clock, intake=intake, manager=manager, reconciler=reconciler,
                          approvals=approvals, balances=balances, policy=policy)
    return Runtime(vault, directory, balances, intake, manager, reconciler, approvals, killswitch, execution,
                   factory)
