"""The last known balance of each account, so that a fan-out need not ask every broker first.

The risk guard needs each account's balance (exposure, buying power). Asking the broker before
every signal costs one request per account: for a model with 10,000 subscribers, 10,000 requests
in the path of one signal. ``Balances`` keeps what the last request said and serves it while it
is younger than ``max_age`` and was fetched after the account's last fill (a fill spends cash
that our open-order reservations no longer count, so an older figure would overstate it).
Orders still open are counted by the guard's reservations, whatever the balance's age.

``max_age`` of zero (the default) asks the broker every time. The service keeps the figures warm
with ``refresh`` (its account sync); the first signal for an account nobody has synced fetches it.
Concurrent askers for one account share one request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from boltztrader.brokers.base import Broker
from boltztrader.domain.clock import Clock
from boltztrader.domain.reports import BalanceReport

__all__ = ["Balances"]


@dataclass(frozen=True, slots=True)
class _Entry:
    balance: BalanceReport
    fetched_at: datetime


class Balances:
    """Balances by account id, fetched through each account's ``Broker``."""

    def __init__(self, clock: Clock, *, max_age: timedelta = timedelta(0)) -> None:
        self._clock = clock
        self._max_age = max_age
        self._entries: dict[str, _Entry] = {}
        self._fetching: dict[str, asyncio.Task[BalanceReport]] = {}

    @property
    def max_age(self) -> timedelta:
        return self._max_age

    async def get(self, account_id: str, broker: Broker, *,
                  not_before: datetime | None = None) -> BalanceReport:
        """The account's balance: the kept one when fresh enough and newer than ``not_before``."""
        if self._max_age <= timedelta(0):
            return await broker.get_balance()
        entry = self._entries.get(account_id)
        if entry is not None and self._fresh(entry, not_before):
            return entry.balance
        return await self._fetch(account_id, broker)

    def forget(self, account_id: str) -> None:
        """Drop the account's figure (its credentials changed, it was unlinked)."""
        self._entries.pop(account_id, None)

    async def refresh(self, accounts: Iterable[tuple[str, Broker]], *, concurrency: int = 64) -> int:
        """Fetch the balance of every ``(account id, broker)``; how many answered (failures keep the old)."""
        gate = asyncio.Semaphore(concurrency)

        async def one(account_id: str, broker: Broker) -> bool:
            async with gate:
                try:
                    await self._fetch(account_id, broker)
                except Exception:  # an account that does not answer now is asked again when it trades
                    return False
                return True

        return sum(await asyncio.gather(*(one(a, b) for a, b in accounts)))

    def _fresh(self, entry: _Entry, not_before: datetime | None) -> bool:
        if not_before is not None and entry.fetched_at <= not_before:
            return False
        return self._clock.now() - entry.fetched_at <= self._max_age

    async def _fetch(self, account_id: str, broker: Broker) -> BalanceReport:
        task = self._fetching.get(account_id)
        if task is None:
            task = self._fetching[account_id] = asyncio.ensure_future(self._ask(account_id, broker))
            task.add_done_callback(lambda _t: self._fetching.pop(account_id, None))
        return await asyncio.shield(task)

    async def _ask(self, account_id: str, broker: Broker) -> BalanceReport:
        started = self._clock.now()  # stamped before the request: a fill during it makes it stale
        balance = await broker.get_balance()
        self._entries[account_id] = _Entry(balance, started)
        return balance
