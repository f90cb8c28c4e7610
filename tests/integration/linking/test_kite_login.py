"""Kite's daily login: the checksum, the token exchange against the paper Kite, and the 06:00 IST expiry."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest

from boltztrader.accounts.kite_login import IST, checksum, exchange_request_token
from boltztrader.accounts.linking import kite_session_expiry
from boltztrader.domain.secrets import Secret
from boltztrader.errors import BrokerAuthError, ConnectionFailed
from boltztrader.paper.kite import SPEC
from tests.paper.conftest import RunningPaper, free_port

Factory = Callable[..., RunningPaper]


def ist(year: int, month: int, day: int, hour: int, minute: int, second: int = 0, micro: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=IST)


@pytest.mark.parametrize(("now", "expiry"), [
    (ist(2026, 5, 11, 5, 59), ist(2026, 5, 11, 6, 0)),
    (ist(2026, 5, 11, 5, 59, 59, 999999), ist(2026, 5, 11, 6, 0)),
    (ist(2026, 5, 11, 6, 0), ist(2026, 5, 12, 6, 0)),
    (ist(2026, 5, 11, 6, 0, 0, 1), ist(2026, 5, 12, 6, 0)),
    (ist(2026, 5, 11, 23, 59), ist(2026, 5, 12, 6, 0)),
    (ist(2026, 12, 31, 18, 0), ist(2027, 1, 1, 6, 0)),
    (datetime(2026, 5, 10, 20, 0, tzinfo=UTC), ist(2026, 5, 11, 6, 0)),  # 01:30 IST
    (datetime(2026, 5, 11, 0, 30, tzinfo=UTC), ist(2026, 5, 12, 6, 0)),  # exactly 06:00 IST
    (datetime(2026, 5, 10, 20, 0, tzinfo=timezone(timedelta(hours=-4))), ist(2026, 5, 11, 6, 0)),
])
def test_a_session_expires_at_the_next_six_am_in_india(now: datetime, expiry: datetime) -> None:
    """Before 06:00 IST a token dies at 06:00 that day; from 06:00 on, at 06:00 the next day (in UTC)."""
    found = kite_session_expiry(now)
    assert found == expiry
    assert found.tzinfo is UTC


def test_a_naive_time_has_no_expiry() -> None:
    """A naive datetime names no instant, so it is refused."""
    with pytest.raises(ValueError, match="aware"):
        kite_session_expiry(datetime(2026, 5, 11, 5, 59))


def test_the_checksum_matches_kites_test_vector() -> None:
    """sha256("KEY" + "RT" + "SEC") is the value Kite's own client computes."""
    assert checksum("KEY", Secret("RT"), Secret("SEC")) == (
        "96583319e5d7bf77341d977df8069101ab3766eb1f1c2854d29e3fee163acc30")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def new_account(http: aiohttp.ClientSession, paper: RunningPaper) -> dict[str, Any]:
    async with http.post(paper.url + "/_paper/accounts", json={}) as resp:
        assert resp.status == 201
        account: dict[str, Any] = await resp.json()
    return account


async def test_the_exchange_counts_the_expiry_from_kites_login_time(
        paper_factory: Factory, http: aiohttp.ClientSession) -> None:
    """The session expires at the 06:00 IST after the broker's login_time, whatever our clock says."""
    paper = paper_factory(SPEC)
    venue_now = datetime(2026, 5, 9, 0, 15, tzinfo=UTC)  # 05:45 IST on the paper's clock
    paper.call(lambda: setattr(paper.venue, "clock", lambda: venue_now))
    account = await new_account(http, paper)

    login = await exchange_request_token(http, api_key=account["api_key"],
                                         request_token=Secret(account["request_token"]),
                                         api_secret=Secret(account["api_secret"]), base_url=paper.url,
                                         now=datetime(2030, 1, 1, tzinfo=UTC))
    assert login.login_time == venue_now
    assert login.expires_at == ist(2026, 5, 9, 6, 0)
    assert login.access_token.reveal()
    assert login.user_id


async def test_a_wrong_secret_or_a_spent_request_token_is_refused_without_leaking(
        paper_factory: Factory, http: aiohttp.ClientSession) -> None:
    """Kite's refusal is a BrokerAuthError carrying its message, never the secret or the request token."""
    paper = paper_factory(SPEC)
    account = await new_account(http, paper)
    token = Secret(account["request_token"])
    with pytest.raises(BrokerAuthError, match="TokenException: Invalid `checksum`") as failed:
        await exchange_request_token(http, api_key=account["api_key"], request_token=token,
                                     api_secret=Secret("not-the-secret"), base_url=paper.url)
    for value in ("not-the-secret", account["api_secret"], account["request_token"]):
        assert value not in str(failed.value)
    # The failed attempt spent the single-use request token.
    with pytest.raises(BrokerAuthError, match="TokenException"):
        await exchange_request_token(http, api_key=account["api_key"], request_token=token,
                                     api_secret=Secret(account["api_secret"]), base_url=paper.url)


async def test_an_unreachable_kite_is_a_connection_failure(http: aiohttp.ClientSession) -> None:
    """Nothing listening: ConnectionFailed, so the caller knows the request never left."""
    with pytest.raises(ConnectionFailed, match="could not connect"):
        await exchange_request_token(http, api_key="k", request_token=Secret("rt"), api_secret=Secret("s"),
                                     base_url=f"http://127.0.0.1:{free_port()}")
