"""Every linked account's broker adapter, built from its decrypted credentials.

The directory is the ``Mapping[account id, Broker]`` that the order manager, the reconciler and
the kill switch look brokers up in, and the ``broker_for(AccountRef)`` of the intake. Adapters are
built by a factory the wiring supplies (the only place that names concrete brokers), so this
module never sees a broker's wire. Credentials live in the adapters' configs only, as ``Secret``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.accounts.linking import AccountCredentials, load_credentials
from boltztrader.accounts.vault import Vault
from boltztrader.brokers.base import Broker
from boltztrader.domain.targets import AccountRef
from boltztrader.errors import AccountNotFound

__all__ = ["BrokerDirectory", "BrokerFactory"]

BrokerFactory = Callable[[AccountCredentials], Broker]


class BrokerDirectory(Mapping[str, Broker]):
    """Account id -> its broker adapter, for every linked account that has credentials."""

    def __init__(self, engine: AsyncEngine, vault: Vault, factory: BrokerFactory) -> None:
        self._engine = engine
        self._vault = vault
        self._factory = factory
        self._brokers: dict[str, Broker] = {}
        self._owners: dict[str, str] = {}

    async def load(self, account_ids: Sequence[str] | None = None) -> int:
        """Build adapters for the linked accounts (all of them, or ``account_ids``); how many."""
        found = await load_credentials(self._engine, self._vault, account_ids)
        for credentials in found:
            await self._put(credentials)
        return len(found)

    async def reload(self, account_id: str) -> Broker:
        """Rebuild one account's adapter (new credentials, a renewed Kite session)."""
        await self.remove(account_id)
        if not await self.load([account_id]):
            raise AccountNotFound(f"no linked account {account_id} with credentials")
        return self._brokers[account_id]

    async def remove(self, account_id: str) -> None:
        broker = self._brokers.pop(account_id, None)
        self._owners.pop(account_id, None)
        if broker is not None:
            with contextlib.suppress(Exception):
                await broker.close()

    def owner(self, account_id: str) -> str:
        """The user who owns the account."""
        return self._owners[account_id]

    def for_ref(self, account: AccountRef) -> Broker:
        """The intake's ``broker_for``."""
        try:
            return self._brokers[account.account_id]
        except KeyError:
            raise AccountNotFound(f"account {account.account_id} has no credentials loaded") from None

    def __getitem__(self, account_id: str) -> Broker:
        return self._brokers[account_id]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._brokers))

    def __len__(self) -> int:
        return len(self._brokers)

    async def aclose(self) -> None:
        for account_id in list(self._brokers):
            await self.remove(account_id)

    async def _put(self, credentials: AccountCredentials) -> None:
        old = self._brokers.get(credentials.account_id)
        self._brokers[credentials.account_id] = self._factory(credentials)
        self._owners[credentials.account_id] = credentials.user_id
        if old is not None:
            with contextlib.suppress(Exception):
                await old.close()
