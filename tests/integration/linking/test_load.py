"""Loading decrypted credentials for the adapters: paged by id, linked accounts only, bad rows reported."""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.accounts.linking import link_account, load_credentials, unlink_account
from boltztrader.accounts.vault import Vault
from boltztrader.db.tables import broker_accounts
from boltztrader.domain.enums import Broker
from boltztrader.domain.secrets import Secret
from boltztrader.errors import CredentialError

from .conftest import NOW, add_user, new_vault


async def link_many(engine: AsyncEngine, vault: Vault, count: int) -> dict[str, str]:
    """``count`` Binance accounts of one user; returns account id -> its plaintext secret."""
    await add_user(engine, "carol")
    secrets = {}
    for n in range(count):
        account_id = await link_account(engine, vault, user_id="carol", broker=Broker.BINANCE, mode="paper",
                                        label=f"acct-{n}", api_key=f"bnb-key-{n:04d}",
                                        api_secret=Secret(f"secret-{n}"), now=NOW)
        secrets[account_id] = f"secret-{n}"
    return secrets


async def test_every_linked_account_comes_back_once_in_id_order_across_pages(
        engine: AsyncEngine, vault: Vault) -> None:
    """With pages of two, five accounts (one unlinked) come back as the four linked ones, each once, by id."""
    secrets = await link_many(engine, vault, 5)
    gone = sorted(secrets)[2]
    await unlink_account(engine, gone, actor="carol", now=NOW)

    loaded = await load_credentials(engine, vault, page_size=2)
    assert [c.account_id for c in loaded] == sorted(set(secrets) - {gone})
    assert all(c.api_secret == Secret(secrets[c.account_id]) for c in loaded)
    assert await load_credentials(engine, vault, page_size=4) == loaded  # a full last page ends cleanly


async def test_asking_for_ids_returns_only_those_that_are_linked(engine: AsyncEngine, vault: Vault) -> None:
    """Requested ids are read in chunks; unknown, unlinked and repeated ids add nothing."""
    secrets = await link_many(engine, vault, 4)
    ids = sorted(secrets)
    await unlink_account(engine, ids[0], actor="carol", now=NOW)

    wanted = [ids[3], ids[0], "no-such-account", ids[1], ids[3]]
    loaded = await load_credentials(engine, vault, wanted, page_size=2)
    assert [c.account_id for c in loaded] == [ids[1], ids[3]]
    assert await load_credentials(engine, vault, []) == []
    with pytest.raises(ValueError, match="page_size"):
        await load_credentials(engine, vault, page_size=0)


async def test_an_unreadable_account_raises_unless_a_handler_takes_it(
        engine: AsyncEngine, vault: Vault) -> None:
    """A secret under another master key, or no secret at all, is a CredentialError naming the account
    and never its secret; with ``on_unreadable`` the other accounts still load."""
    secrets = await link_many(engine, vault, 2)
    stranger = await link_account(engine, new_vault(), user_id="carol", broker=Broker.ALPACA, mode="paper",
                                  api_key="PKSTRANGER", api_secret=Secret("stranger-secret"), now=NOW)
    async with engine.begin() as conn:
        await conn.execute(insert(broker_accounts).values(
            id="zz-no-secret", user_id="carol", broker="alpaca", label="bare", mode="paper", region="us",
            api_key="PKBARE", execution_mode="automated", trading_state="active", settings={},
            created_at=NOW, updated_at=NOW))

    with pytest.raises(CredentialError, match=stranger) as failed:
        await load_credentials(engine, vault)
    assert "stranger-secret" not in str(failed.value)

    skipped: list[tuple[str, str]] = []
    loaded = await load_credentials(
        engine, vault, on_unreadable=lambda account_id, exc: skipped.append((account_id, str(exc))))
    assert sorted(c.account_id for c in loaded) == sorted(secrets)
    assert sorted(a for a, _ in skipped) == sorted([stranger, "zz-no-secret"])
    assert "stores no api_secret" in dict(skipped)["zz-no-secret"]
