"""Linking, renewing and unlinking broker accounts: encrypted at rest, audited, one transaction each."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.accounts.linking import (
    AccountCredentials,
    link_account,
    load_credentials,
    set_access_token,
    unlink_account,
)
from boltztrader.accounts.vault import Vault
from boltztrader.db.audit import read_entries
from boltztrader.db.tables import audit_ledger, broker_accounts
from boltztrader.domain.enums import AccountMode, Broker, ExecutionMode
from boltztrader.domain.secrets import Secret
from boltztrader.errors import AccountConflict, AccountNotFound, InvalidAccountLink

from .conftest import NOW, add_user, assert_nowhere, dump

API_KEY = "kitekey-0042abcd"
SECRET = "PLAIN-api-secret-5f0e"
TOKEN = "PLAIN-access-token-91bc"


async def link_kite(engine: AsyncEngine, vault: Vault, user: str = "alice", **overrides: Any) -> str:
    arguments: dict[str, object] = {
        "user_id": user, "broker": Broker.ZERODHA, "mode": AccountMode.LIVE, "api_key": API_KEY,
        "api_secret": Secret(SECRET), "access_token": Secret(TOKEN), "now": NOW,
    }
    arguments.update(overrides)
    return await link_account(engine, vault, **arguments)  # type: ignore[arg-type]


async def account_row(engine: AsyncEngine, account_id: str) -> dict[str, object]:
    async with engine.connect() as conn:
        row = (await conn.execute(select(broker_accounts).where(broker_accounts.c.id == account_id))).one()
    return dict(row._mapping)


async def audit_of(engine: AsyncEngine, user: str) -> list[tuple[str, str, dict[str, object]]]:
    async with engine.connect() as conn:
        entries = await read_entries(conn, f"user:{user}")
    return [(e.action, e.entity_id, json.loads(e.payload)) for e in entries]


async def test_linking_stores_only_ciphertexts_and_an_audit_entry_without_secrets(
        engine: AsyncEngine, vault: Vault) -> None:
    """The secret and token are stored encrypted only: no table holds them; the audit shows the key's tail."""
    await add_user(engine, "alice")
    account_id = await link_kite(engine, vault)

    row = await account_row(engine, account_id)
    assert row["api_secret_ciphertext"]
    assert row["access_token_ciphertext"]
    assert (row["broker"], row["mode"], row["region"], row["label"]) == ("zerodha", "live", "india", "main")
    assert (row["api_key"], row["execution_mode"], row["unlinked_at"]) == (API_KEY, "automated", None)
    # Kite's token dies at the next 06:00 IST: 00:30 UTC the next day.
    assert row["access_token_expires_at"] == (NOW + timedelta(days=1)).replace(hour=0, minute=30)
    await assert_nowhere(engine, SECRET, TOKEN)
    assert API_KEY in (await dump(engine))[0]  # the dump does show stored values
    assert await audit_of(engine, "alice") == [
        ("account.linked", account_id,
         {"broker": "zerodha", "mode": "live", "label": "main", "api_key_last4": "abcd"}),
    ]


async def test_loaded_credentials_round_trip_and_never_show_a_secret(
        engine: AsyncEngine, vault: Vault) -> None:
    """`load_credentials` gives back exactly what was linked, and its repr masks the secret and token."""
    await add_user(engine, "alice")
    account_id = await link_kite(engine, vault, execution_mode="semi_manual", label="  desk  ")

    [loaded] = await load_credentials(engine, vault)
    assert loaded == AccountCredentials(
        account_id=account_id, user_id="alice", broker=Broker.ZERODHA, mode=AccountMode.LIVE, label="desk",
        api_key=API_KEY, api_secret=Secret(SECRET), access_token=Secret(TOKEN),
        access_token_expires_at=loaded.access_token_expires_at, execution_mode=ExecutionMode.SEMI_MANUAL)
    assert loaded.access_token_expires_at is not None
    assert loaded.session_valid(NOW)
    assert not loaded.session_valid(loaded.access_token_expires_at)
    assert SECRET not in repr(loaded)
    assert TOKEN not in repr(loaded)


async def test_each_broker_gets_its_region_and_needs_no_token(engine: AsyncEngine, vault: Vault) -> None:
    """Binance accounts are crypto and Alpaca ones US; neither carries an access token."""
    await add_user(engine, "bob")
    binance = await link_account(engine, vault, user_id="bob", broker="binance", mode="paper",
                                 api_key="bnb-key-1234", api_secret=Secret("bnb-secret"), now=NOW)
    alpaca = await link_account(engine, vault, user_id="bob", broker=Broker.ALPACA, mode=AccountMode.PAPER,
                                api_key="PKALPACA99", api_secret=Secret("alp-secret"), now=NOW)
    assert (await account_row(engine, binance))["region"] == "crypto"
    assert (await account_row(engine, alpaca))["region"] == "us"
    loaded = {c.account_id: c for c in await load_credentials(engine, vault)}
    assert loaded[binance].api_secret == Secret("bnb-secret")
    assert loaded[binance].access_token is None
    assert loaded[alpaca].session_valid(NOW)
    with pytest.raises(InvalidAccountLink, match="no access token") as refused:
        await link_account(engine, vault, user_id="bob", broker=Broker.ALPACA, mode="paper", label="other",
                           api_key="PKALPACA98", api_secret=Secret("s"), access_token=Secret("t"), now=NOW)
    assert refused.value.field == "access_token"


async def test_a_second_linked_account_with_the_same_label_is_refused(
        engine: AsyncEngine, vault: Vault) -> None:
    """Same user, broker and label as a linked account: AccountConflict and nothing written."""
    await add_user(engine, "alice")
    await add_user(engine, "bob")
    first = await link_kite(engine, vault)
    with pytest.raises(AccountConflict, match="already has a linked zerodha account labelled 'main'"):
        await link_kite(engine, vault, api_key="another-key-9999", api_secret=Secret("other-secret"))
    # Another label, another broker or another user is fine.
    await link_kite(engine, vault, label="second")
    await link_account(engine, vault, user_id="alice", broker=Broker.BINANCE, mode="paper", api_key="k" * 10,
                       api_secret=Secret("s"), now=NOW)
    await link_kite(engine, vault, user="bob")
    assert (await account_row(engine, first))["api_key"] == API_KEY
    assert len(await audit_of(engine, "alice")) == 3
    await assert_nowhere(engine, "other-secret")


@pytest.mark.parametrize(("overrides", "field"), [
    ({"api_key": "   "}, "api_key"),
    ({"api_secret": Secret("")}, "api_secret"),
    ({"api_secret": Secret(" \n")}, "api_secret"),
    ({"broker": "robinhood"}, "broker"),
    ({"mode": "demo"}, "mode"),
    ({"execution_mode": "manual"}, "execution_mode"),
    ({"label": ""}, "label"),
    ({"label": "x" * 101}, "label"),
    ({"api_key": "k" * 201}, "api_key"),
    ({"access_token": Secret("")}, "access_token"),
    ({"access_token_expires_at": NOW}, "access_token_expires_at"),
    ({"access_token": None, "access_token_expires_at": NOW + timedelta(hours=1)}, "access_token_expires_at"),
    ({"user": "nobody"}, "user_id"),
    ({"user": "disabled"}, "user_id"),
])
async def test_malformed_links_are_refused_before_anything_is_written(
        engine: AsyncEngine, vault: Vault, overrides: dict[str, Any], field: str) -> None:
    """Each malformed argument is an InvalidAccountLink naming its field; no row and no audit entry."""
    await add_user(engine, "alice")
    await add_user(engine, "disabled", disabled=True)
    with pytest.raises(InvalidAccountLink) as refused:
        await link_kite(engine, vault, **overrides)
    assert refused.value.field == field
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(broker_accounts))).scalar_one() == 0
        assert (await conn.execute(select(func.count()).select_from(audit_ledger))).scalar_one() == 0


async def test_a_secret_that_is_not_a_secret_object_is_a_type_error(
        engine: AsyncEngine, vault: Vault) -> None:
    """A plain string where a Secret belongs is a programming error, refused with TypeError."""
    await add_user(engine, "alice")
    with pytest.raises(TypeError, match="api_secret must be a Secret"):
        await link_kite(engine, vault, api_secret=SECRET)


async def test_unlinking_clears_the_ciphertexts_and_hides_the_account(
        engine: AsyncEngine, vault: Vault) -> None:
    """After unlinking, both ciphertexts and the expiry are gone and `load_credentials` skips the account."""
    await add_user(engine, "alice")
    kept = await link_kite(engine, vault, label="kept")
    gone = await link_kite(engine, vault)
    later = NOW + timedelta(minutes=5)

    assert await unlink_account(engine, gone, actor="user:alice", now=later) is True
    row = await account_row(engine, gone)
    assert (row["api_secret_ciphertext"], row["access_token_ciphertext"]) == (None, None)
    assert (row["access_token_expires_at"], row["unlinked_at"]) == (None, later)
    assert [c.account_id for c in await load_credentials(engine, vault)] == [kept]
    assert await load_credentials(engine, vault, [gone]) == []
    assert (await audit_of(engine, "alice"))[-1] == ("account.unlinked", gone, {})
    # A second unlink changes nothing and records nothing; an unknown account is an error.
    assert await unlink_account(engine, gone, actor="user:alice", now=later) is False
    assert len(await audit_of(engine, "alice")) == 3
    with pytest.raises(AccountNotFound):
        await unlink_account(engine, "no-such-account", actor="user:alice", now=later)


async def test_relinking_an_unlinked_label_updates_the_same_account(
        engine: AsyncEngine, vault: Vault) -> None:
    """Linking an unlinked account's label reuses its id with the new key and secret, audited as a relink."""
    await add_user(engine, "alice")
    old = await link_kite(engine, vault)
    await unlink_account(engine, old, actor="user:alice", now=NOW)
    again = await link_kite(engine, vault, api_key="new-key-7777", api_secret=Secret("new-secret"),
                            access_token=None, mode="paper")
    assert again == old
    [loaded] = await load_credentials(engine, vault)
    assert (loaded.api_key, loaded.api_secret) == ("new-key-7777", Secret("new-secret"))
    assert loaded.access_token is None
    assert loaded.mode is AccountMode.PAPER
    assert not loaded.session_valid(NOW)
    assert (await account_row(engine, old))["unlinked_at"] is None
    action, _, payload = (await audit_of(engine, "alice"))[-1]
    assert (action, payload["relinked"], payload["api_key_last4"]) == ("account.linked", True, "7777")


async def test_a_new_access_token_replaces_the_old_one_with_its_expiry(
        engine: AsyncEngine, vault: Vault) -> None:
    """`set_access_token` stores the new token encrypted, moves the expiry and audits only the expiry."""
    await add_user(engine, "alice")
    account_id = await link_kite(engine, vault, access_token=None)
    tomorrow = NOW + timedelta(days=1)
    expires = tomorrow + timedelta(hours=21, minutes=30)

    await set_access_token(engine, vault, account_id, Secret("PLAIN-new-token-2b7d"), expires,
                           actor="kite-login", now=tomorrow)
    [loaded] = await load_credentials(engine, vault)
    assert (loaded.access_token, loaded.access_token_expires_at) == (Secret("PLAIN-new-token-2b7d"), expires)
    assert (await account_row(engine, account_id))["updated_at"] == tomorrow
    await assert_nowhere(engine, "PLAIN-new-token-2b7d")
    action, entity_id, payload = (await audit_of(engine, "alice"))[-1]
    assert (action, entity_id, payload) == ("account.session_renewed", account_id,
                                            {"expires_at": "2026-05-13T00:30:00.000000Z"})


async def test_an_access_token_goes_only_to_a_linked_kite_account_and_must_not_be_expired(
        engine: AsyncEngine, vault: Vault) -> None:
    """Unknown or unlinked accounts, other brokers and past expiries are refused, and nothing changes."""
    await add_user(engine, "alice")
    kite = await link_kite(engine, vault)
    binance = await link_account(engine, vault, user_id="alice", broker=Broker.BINANCE, mode="paper",
                                 api_key="bnb-key-1234", api_secret=Secret("s"), now=NOW)
    later = NOW + timedelta(hours=1)
    token = Secret("t")
    with pytest.raises(InvalidAccountLink, match="expiry is not in the future"):
        await set_access_token(engine, vault, kite, token, NOW, actor="a", now=later)
    with pytest.raises(InvalidAccountLink, match="binance accounts have no access token"):
        await set_access_token(engine, vault, binance, token, later + timedelta(hours=1), actor="a",
                               now=later)
    with pytest.raises(AccountNotFound):
        await set_access_token(engine, vault, "no-such-account", token, later + timedelta(hours=1), actor="a",
                               now=later)
    await unlink_account(engine, kite, actor="a", now=later)
    with pytest.raises(AccountNotFound):
        await set_access_token(engine, vault, kite, token, later + timedelta(hours=1), actor="a", now=later)
    assert [a for a, _, _ in await audit_of(engine, "alice")] == [
        "account.linked", "account.linked", "account.unlinked"]


async def test_two_links_racing_for_one_label_leave_one_account(engine: AsyncEngine, vault: Vault) -> None:
    """Linking the same label twice at once: one wins, the other is an AccountConflict, one row remains."""
    await add_user(engine, "alice")
    results = await asyncio.gather(
        *(link_kite(engine, vault, api_key=f"racing-key-{n}") for n in range(2)), return_exceptions=True)
    winners = [r for r in results if isinstance(r, str)]
    assert len(winners) == 1
    assert [type(r) for r in results if not isinstance(r, str)] == [AccountConflict]
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(broker_accounts))).scalar_one() == 1
    assert [a for a, _, _ in await audit_of(engine, "alice")] == ["account.linked"]
