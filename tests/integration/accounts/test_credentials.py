"""The encrypted credential columns: stored and read as opaque blobs, paged, replaced only if unchanged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.accounts.keyring import Keyring, generate_master_key, parse_master_key
from boltztrader.accounts.rotation import count_by_key, rotate_credentials
from boltztrader.accounts.vault import Vault
from boltztrader.db import credentials
from boltztrader.db.credentials import CredentialField
from boltztrader.db.tables import broker_accounts
from boltztrader.domain.secrets import Secret
from boltztrader.errors import CredentialError

from .seed import ACCOUNTS, add_account, now, seed, stored


def new_vault(*previous: Vault) -> Vault:
    keys = [parse_master_key(generate_master_key(), source="test")]
    keys += [v.keyring.primary for v in previous]
    return Vault(Keyring(keys[0], tuple(keys[1:])))


async def test_a_stored_secret_reads_back_with_its_owner(engine: AsyncEngine) -> None:
    """`store_secret` then `read_secret` returns the same blob and the account's owner; absent is None."""
    vault = new_vault()
    async with engine.begin() as conn:
        await add_account(conn, "acct-1", "alice")
        blob = vault.encrypt(Secret("s"), owner="alice", account_id="acct-1", field="api_secret")
        await credentials.store_secret(conn, "acct-1", CredentialField.API_SECRET, blob, now=now())
    async with engine.connect() as conn:
        found = await credentials.read_secret(conn, "acct-1", "api_secret")
        assert found == credentials.StoredBlob("acct-1", "alice", CredentialField.API_SECRET, blob)
        assert await credentials.read_secret(conn, "acct-1", "access_token") is None
        assert await credentials.read_secret(conn, "acct-none", "api_secret") is None


async def test_an_access_token_keeps_its_expiry_and_clearing_forgets_it(engine: AsyncEngine) -> None:
    """Storing a token records when it expires; clearing it (None) clears the expiry too."""
    expires = now() + timedelta(hours=8)
    async with engine.begin() as conn:
        await add_account(conn, "acct-1", "alice")
        await credentials.store_secret(conn, "acct-1", "access_token", b"\x01blob", now=now(),
                                       expires_at=expires)
    query = select(broker_accounts.c.access_token_ciphertext, broker_accounts.c.access_token_expires_at)
    async with engine.connect() as conn:
        row = (await conn.execute(query)).one()
    assert (bytes(row[0]), row[1]) == (b"\x01blob", expires)
    async with engine.begin() as conn:
        await credentials.store_secret(conn, "acct-1", "access_token", None, now=now())
        assert (await conn.execute(query)).one() == (None, None)


async def test_storing_refuses_an_unknown_account_or_field(engine: AsyncEngine) -> None:
    """A missing account is a CredentialError; a field other than api_secret or access_token a ValueError."""
    async with engine.begin() as conn:
        await add_account(conn, "acct-1", "alice")
        with pytest.raises(CredentialError, match="no broker account acct-x"):
            await credentials.store_secret(conn, "acct-x", "api_secret", b"b", now=now())
        with pytest.raises(ValueError, match="api_key"):
            await credentials.store_secret(conn, "acct-1", "api_key", b"b", now=now())
        with pytest.raises(ValueError, match="expiry"):
            await credentials.store_secret(conn, "acct-1", "api_secret", b"b", now=now(), expires_at=now())


async def test_pages_cover_every_blob_once(engine: AsyncEngine) -> None:
    """Paging by account id returns each stored blob exactly once and skips accounts without any."""
    values = await seed(engine, new_vault())
    seen = []
    async for page in credentials.iter_pages(engine, page_size=1):
        seen += [(b.account_id, b.field.value) for b in page]
    assert sorted(seen) == sorted(values)
    assert not [a for a, _, fields in ACCOUNTS if not fields and any(s[0] == a for s in seen)]


async def test_a_relink_during_rotation_is_never_overwritten(engine: AsyncEngine) -> None:
    """Compare-and-set: a re-wrap of the blob as read does not replace a credential relinked since."""
    old = new_vault()
    await seed(engine, old)
    rotating = new_vault(old)
    before = (await stored(engine))[("acct-bob-alp", "api_secret")]
    rewrapped = rotating.rewrap(before.blob, owner="bob", account_id="acct-bob-alp", field="api_secret")
    relinked = old.encrypt(Secret("relinked"), owner="bob", account_id="acct-bob-alp", field="api_secret")
    async with engine.begin() as conn:
        await credentials.store_secret(conn, "acct-bob-alp", "api_secret", relinked, now=now())
    async with engine.begin() as conn:
        assert not await credentials.replace_if_unchanged(conn, "acct-bob-alp", "api_secret",
                                                          expected=before.blob, new=rewrapped)
    assert (await stored(engine))[("acct-bob-alp", "api_secret")].blob == relinked

    report = await rotate_credentials(engine, rotating, batch_size=2)
    assert report.complete
    after = (await stored(engine))[("acct-bob-alp", "api_secret")]
    assert rotating.decrypt(after.blob, owner="bob", account_id="acct-bob-alp",
                            field="api_secret") == Secret("relinked")


async def test_rotation_in_process_reports_and_counts_by_key(engine: AsyncEngine) -> None:
    """The rotation service re-wraps each stale blob once and the per-key count follows it."""
    old = new_vault()
    values = await seed(engine, old)
    rotating = new_vault(old)
    assert await count_by_key(engine) == {old.primary_key_id: len(values)}
    batches: list[int] = []
    report = await rotate_credentials(engine, rotating, batch_size=3, on_accounts=batches.append)
    assert (report.rewrapped, report.already_current, report.failures) == (len(values), 0, [])
    assert sum(batches) == sum(1 for _, _, fields in ACCOUNTS if fields)
    assert await count_by_key(engine) == {rotating.primary_key_id: len(values)}
    again = await rotate_credentials(engine, rotating)
    assert (again.rewrapped, again.already_current) == (0, len(values))
