"""Key rotation: re-wrap every stored credential's data key under the vault's primary key.

Safe to interrupt and to re-run: each page of accounts is re-wrapped in its own small
transaction, a blob already under the primary is left alone, and a blob is replaced only if it is
still the one that was read, so a credential relinked meanwhile is never overwritten. Services
keep running throughout: they hold the old key as a previous key and read both kinds of blob.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.accounts.vault import Vault, key_id_of
from boltztrader.db import credentials
from boltztrader.db.credentials import StoredBlob
from boltztrader.errors import CredentialError

DEFAULT_BATCH_SIZE = 50
UNREADABLE = "unreadable"
# A blob that keeps changing under us is left for the next run rather than retried forever.
MAX_ATTEMPTS = 3


@dataclass
class RotationReport:
    """What one run did: blobs re-wrapped, already current, changed meanwhile, and failures."""

    rewrapped: int = 0
    already_current: int = 0
    changed_meanwhile: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every blob seen is now under the primary key."""
        return not self.failures and not self.changed_meanwhile


async def count_accounts(engine: AsyncEngine) -> int:
    """How many accounts hold at least one stored credential (the progress bar's total)."""
    async with engine.connect() as conn:
        return await credentials.count_accounts_with_credentials(conn)


async def count_by_key(engine: AsyncEngine, *, batch_size: int = DEFAULT_BATCH_SIZE) -> dict[str, int]:
    """How many stored blobs each master key id wraps; blobs that do not parse count as UNREADABLE."""
    counts: dict[str, int] = {}
    async for page in credentials.iter_pages(engine, page_size=batch_size):
        for stored in page:
            try:
                key_id = key_id_of(stored.blob)
            except CredentialError:
                key_id = UNREADABLE
            counts[key_id] = counts.get(key_id, 0) + 1
    return counts


async def rotate_credentials(engine: AsyncEngine, vault: Vault, *, batch_size: int = DEFAULT_BATCH_SIZE,
                             on_accounts: Callable[[int], None] | None = None) -> RotationReport:
    """Re-wrap every blob not yet under the primary key; ``on_accounts(n)`` after each batch of n."""
    report = RotationReport()
    async for page in credentials.iter_pages(engine, page_size=batch_size):
        stale = []
        for stored in page:
            try:
                current = vault.is_current(stored.blob)
            except CredentialError as exc:
                report.failures.append(f"the stored {stored.field} of account {stored.account_id}: {exc}")
                continue
            if current:
                report.already_current += 1
            else:
                stale.append(stored)
        if stale:
            async with engine.begin() as conn:
                for stored in stale:
                    await _rewrap_one(conn, vault, stored, report)
        if on_accounts is not None:
            on_accounts(len({stored.account_id for stored in page}))
    return report


async def _rewrap_one(conn: AsyncConnection, vault: Vault, stored: StoredBlob,
                      report: RotationReport) -> None:
    current: StoredBlob | None = stored
    for _ in range(MAX_ATTEMPTS):
        if current is None:
            return  # cleared meanwhile: nothing left to re-wrap
        try:
            if vault.is_current(current.blob):
                report.already_current += 1
                return
            new = vault.rewrap(current.blob, owner=current.owner, account_id=current.account_id,
                               field=current.field)
        except CredentialError as exc:
            report.failures.append(str(exc))
            return
        if await credentials.replace_if_unchanged(conn, current.account_id, current.field,
                                                  expected=current.blob, new=new):
            report.rewrapped += 1
            return
        current = await credentials.read_secret(conn, stored.account_id, stored.field)
    report.changed_meanwhile += 1
