"""Kept balances: a fan-out reuses a fresh balance, but never one fetched before the account's last fill."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from boltztrader.brokers.base import Broker
from boltztrader.domain.clock import SystemClock
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.reports import BalanceReport
from boltztrader.domain.targets import AccountRef
from boltztrader.orders.balances import Balances
from boltztrader.orders.intake import Intake
from boltztrader.router import Router

from .conftest import World, signal


class Counting:
    """A real adapter that counts its balance requests (everything else passes straight through)."""

    def __init__(self, inner: Broker) -> None:
        self.inner = inner
        self.balance_requests = 0

    async def get_balance(self) -> BalanceReport:
        self.balance_requests += 1
        return await self.inner.get_balance()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _intake(world: World, balances: Balances) -> tuple[Intake, Counting]:
    counting = Counting(world.brokers["acct-alice"])

    def broker_for(account: AccountRef) -> Broker:
        return counting  # type: ignore[return-value]

    intake = Intake(world.engine, Router(BrokerName.BINANCE), broker_for, SystemClock(), balances=balances)
    return intake, counting


async def test_a_fresh_balance_is_reused_until_the_account_fills(world: World) -> None:
    """Two signals share one balance request; after an order fills, the next signal asks again."""
    intake, counting = _intake(world, Balances(SystemClock(), max_age=timedelta(minutes=5)))
    first = await intake.process_signal(signal(id="b-1"))
    await intake.process_signal(signal(id="b-2"))
    assert counting.balance_requests == 1
    record = await world.manager.submit(first.to_submit[0])
    assert record.filled_quantity > 0  # Binance's answer carries the fill: the position moved
    await intake.process_signal(signal(id="b-3"))
    assert counting.balance_requests == 2


async def test_without_a_max_age_every_signal_asks_the_broker(world: World) -> None:
    """The default keeps nothing: each signal's guard sees a balance fetched for it."""
    intake, counting = _intake(world, Balances(SystemClock()))
    for i in range(3):
        await intake.process_signal(signal(id=f"c-{i}"))
    assert counting.balance_requests == 3


async def test_concurrent_askers_share_one_request_and_refresh_counts_answers(world: World) -> None:
    """Five concurrent gets cost one request; refresh reports how many accounts answered."""
    balances = Balances(SystemClock(), max_age=timedelta(minutes=5))
    counting = Counting(world.brokers["acct-alice"])
    found = await asyncio.gather(*(balances.get("acct-alice", counting) for _ in range(5)))  # type: ignore[arg-type]
    assert counting.balance_requests == 1
    assert len({b.equity for b in found}) == 1
    answered = await balances.refresh([("acct-alice", world.brokers["acct-alice"]),
                                       ("acct-bob", world.brokers["acct-bob"])])
    assert answered == 2
