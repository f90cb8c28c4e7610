"""Users and API tokens: a token authenticates its user until revoked or disabled, and is never stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.accounts import users
from boltztrader.accounts.users import Principal, Role
from boltztrader.db import users as repo
from boltztrader.db.tables import api_tokens
from boltztrader.db.tables import users as users_table
from boltztrader.domain.secrets import Secret
from boltztrader.errors import AlreadyExists, Forbidden, InvalidInput, NotFound

from .helpers import NOW, clock, disable, dump


async def _count(engine: AsyncEngine, table: object) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_a_new_users_token_authenticates_them(engine: AsyncEngine) -> None:
    """create_user returns a btz_ token that authenticates as that user, with their role."""
    user, token = await users.create_user(engine, " Alice@Example.COM ", "admin", "Alice")
    assert isinstance(token, Secret)
    assert token.reveal().startswith("btz_")
    assert len(token.reveal()) == len("btz_") + 43
    assert (user.email, user.role, user.display_name) == ("alice@example.com", Role.ADMIN, "Alice")

    principal = await users.authenticate(engine, token.reveal())
    assert isinstance(principal, Principal)
    assert (principal.user_id, principal.email, principal.role) == (user.id, "alice@example.com", Role.ADMIN)
    assert principal.is_admin
    assert await users.authenticate(engine, token) == principal


async def test_the_token_is_stored_only_as_its_hash(engine: AsyncEngine) -> None:
    """No table holds the token or its secret part; the hash and the display prefix are there."""
    user, token = await users.create_user(engine, "bob@example.com")
    _, second = await users.issue_token(engine, email="bob@example.com", name="ci")
    text = await dump(engine)
    assert user.id in text  # the dump really holds the rows
    for value in (token.reveal(), second.reveal()):
        assert value not in text
        assert value.removeprefix("btz_") not in text
        assert value.removeprefix("btz_")[8:] not in text
        assert users.hash_token(value) in text
        assert users.display_prefix(value) in text
    assert token.reveal() not in repr(token)


@pytest.mark.parametrize("presented", [
    None, "", "btz_", "not-a-token", "btz_" + "A" * 43, "Bearer btz_x", "btz_" + "x" * 500,
])
async def test_a_wrong_token_authenticates_nobody(engine: AsyncEngine, presented: str | None) -> None:
    """A missing, malformed, overlong or unknown token gives None."""
    await users.create_user(engine, "carol@example.com")
    assert await users.authenticate(engine, presented) is None


async def test_a_token_one_character_off_authenticates_nobody(engine: AsyncEngine) -> None:
    """Changing one character of a valid token makes it unknown."""
    _, token = await users.create_user(engine, "dan@example.com")
    value = token.reveal()
    altered = value[:-1] + ("A" if value[-1] != "A" else "B")
    assert await users.authenticate(engine, altered) is None


async def test_a_revoked_token_stops_working_and_others_keep_working(engine: AsyncEngine) -> None:
    """Revoking by prefix ends that token only; revoking it again changes nothing."""
    _, first = await users.create_user(engine, "erin@example.com")
    issued, second = await users.issue_token(engine, email="erin@example.com")
    revoked, changed = await users.revoke_token(engine, prefix=users.display_prefix(first.reveal()))
    assert changed
    assert revoked.revoked_at is not None
    assert await users.authenticate(engine, first) is None
    principal = await users.authenticate(engine, second)
    assert principal is not None
    assert principal.token_id == issued.id

    again, changed_again = await users.revoke_token(engine, token_id=revoked.id)
    assert not changed_again
    assert again.revoked_at == revoked.revoked_at


async def test_a_disabled_users_tokens_authenticate_nobody(engine: AsyncEngine) -> None:
    """Once a user is disabled, none of their tokens works and no new one is issued."""
    user, token = await users.create_user(engine, "fay@example.com")
    await disable(engine, user.id)
    assert await users.authenticate(engine, token) is None
    with pytest.raises(Forbidden, match="disabled"):
        await users.issue_token(engine, email="fay@example.com")


async def test_a_duplicate_email_is_refused_in_any_letter_case(engine: AsyncEngine) -> None:
    """A second user with the same email, whatever its case, is AlreadyExists and writes nothing."""
    await users.create_user(engine, "gus@example.com")
    with pytest.raises(AlreadyExists, match=r"a user with email gus@example\.com already exists"):
        await users.create_user(engine, "GUS@example.com", "admin")
    assert await _count(engine, users_table) == 1
    assert await _count(engine, api_tokens) == 1


@pytest.mark.parametrize(("email", "role", "field"), [
    ("no-at-sign", "user", "email"), ("two@@example.com", "user", "email"),
    ("a b@example.com", "user", "email"), ("x@localhost", "user", "email"),
    ("ok@example.com", "root", "role"), ("ok@example.com", "", "role"),
])
async def test_a_malformed_email_or_role_is_refused(engine: AsyncEngine, email: str, role: str,
                                                    field: str) -> None:
    """A malformed email or an unknown role is InvalidInput naming the field, and nothing is written."""
    with pytest.raises(InvalidInput) as refused:
        await users.create_user(engine, email, role)
    assert refused.value.field == field
    assert await _count(engine, users_table) == 0


async def test_tokens_are_issued_and_revoked_only_for_what_exists(engine: AsyncEngine) -> None:
    """An unknown email, token id or prefix is NotFound."""
    with pytest.raises(NotFound, match=r"no user with email nobody@example\.com"):
        await users.issue_token(engine, email="nobody@example.com")
    with pytest.raises(NotFound):
        await users.revoke_token(engine, token_id="no-such-token")
    with pytest.raises(NotFound):
        await users.revoke_token(engine, prefix="zzzzzzzz")
    with pytest.raises(InvalidInput):
        await users.revoke_token(engine)


async def test_a_prefix_shared_by_two_live_tokens_is_refused(engine: AsyncEngine) -> None:
    """When two unrevoked tokens share a display prefix, revoking by prefix asks for the id instead."""
    user, _ = await users.create_user(engine, "hal@example.com")
    async with engine.begin() as conn:
        for n in (1, 2):
            await repo.insert_token(conn, token_id=f"t{n}", user_id=user.id, name="", token_hash=f"{n:064}",
                                    prefix="samepref", now=NOW)
    with pytest.raises(InvalidInput, match="revoke by token id"):
        await users.revoke_token(engine, prefix="samepref")
    await users.revoke_token(engine, token_id="t1")
    remaining, changed = await users.revoke_token(engine, prefix="btz_samepref")
    assert (remaining.id, changed) == ("t2", True)


async def test_last_use_is_written_at_most_once_a_minute(engine: AsyncEngine) -> None:
    """Authenticating marks the token used, then leaves the mark alone for a minute."""
    _, token = await users.create_user(engine, "ida@example.com")

    async def last_used() -> object:
        async with engine.connect() as conn:
            return (await conn.execute(select(api_tokens.c.last_used_at))).scalar_one()

    assert await last_used() is None
    await users.authenticate(engine, token, now=clock(NOW))
    assert await last_used() == NOW
    await users.authenticate(engine, token, now=clock(NOW + timedelta(seconds=59)))
    assert await last_used() == NOW
    await users.authenticate(engine, token, now=clock(NOW + timedelta(seconds=61)))
    assert await last_used() == NOW + timedelta(seconds=61)


async def test_touch_writes_once_when_requests_race(engine: AsyncEngine) -> None:
    """Two writers with the same stale mark: the conditional update lets only the first write."""
    user, _ = await users.create_user(engine, "jan@example.com")
    async with engine.begin() as conn:
        await repo.insert_token(conn, token_id="tt", user_id=user.id, name="", token_hash="f" * 64,
                                prefix="ffffffff", now=NOW)
        assert await repo.touch_last_used(conn, "tt", NOW)
        assert not await repo.touch_last_used(conn, "tt", NOW + timedelta(seconds=30))


async def test_the_user_list_counts_active_tokens(engine: AsyncEngine) -> None:
    """list_users shows every user, oldest first, with tokens that are not revoked."""
    kim, first = await users.create_user(engine, "kim@example.com", now=clock(NOW))
    await users.issue_token(engine, user_id=kim.id, now=clock(NOW))
    await users.create_user(engine, "lee@example.com", "admin", now=clock(NOW + timedelta(seconds=1)))
    await users.revoke_token(engine, prefix=users.display_prefix(first.reveal()))
    listed = await users.list_users(engine)
    assert [(s.user.email, s.user.role, s.active_tokens) for s in listed] == [
        ("kim@example.com", Role.USER, 1), ("lee@example.com", Role.ADMIN, 1)]
