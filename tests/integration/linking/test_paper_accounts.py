"""Opening funded accounts on the three real paper brokers: credentials that work, linked and loaded back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.accounts.linking import kite_session_expiry, link_account, load_credentials
from boltztrader.accounts.paper import DEFAULT_CASH, PaperAccount, open_paper_account
from boltztrader.accounts.vault import Vault
from boltztrader.domain.enums import Broker
from boltztrader.errors import BrokerDown, PaperBrokerError, PaperBrokerUnreachable
from tests.paper.conftest import RunningPaper, free_port

from .brokers import CURRENCY, SPECS, adapter
from .conftest import add_user, assert_nowhere

Factory = Callable[..., RunningPaper]
BROKERS = (Broker.ZERODHA, Broker.BINANCE, Broker.ALPACA)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def balance_of(broker: Broker, url: str, account: PaperAccount) -> Decimal:
    """The cash our own adapter reads with the account's credentials (one authenticated call)."""
    client = adapter(broker, url, account.api_key, account.api_secret, account.access_token)
    try:
        report = await client.get_balance()
    finally:
        await client.close()
    assert report.currency == CURRENCY[broker]
    return report.cash


@pytest.mark.parametrize("broker", BROKERS)
async def test_a_paper_account_comes_funded_with_credentials_that_work(
        paper_factory: Factory, http: aiohttp.ClientSession, broker: Broker) -> None:
    """The default-funded account's key and secret (and Kite's fresh session) pass the broker's own auth."""
    paper = paper_factory(SPECS[broker])
    before = datetime.now(UTC)
    account = await open_paper_account(http, paper.url + "/", broker)

    assert account.broker is broker
    assert account.paper_account_id
    assert account.api_key
    assert await balance_of(broker, paper.url, account) == DEFAULT_CASH[broker][CURRENCY[broker]]
    assert account.api_secret.reveal() not in repr(account)
    if broker is Broker.ZERODHA:
        assert account.access_token is not None
        assert account.access_token.reveal() not in repr(account)
        assert account.access_token_expires_at == kite_session_expiry(before)
    else:
        assert (account.access_token, account.access_token_expires_at) == (None, None)


@pytest.mark.parametrize("broker", BROKERS)
async def test_a_paper_account_can_be_given_its_own_cash(
        paper_factory: Factory, http: aiohttp.ClientSession, broker: Broker) -> None:
    """Cash passed in (Decimal, by currency) is what the broker then reports."""
    paper = paper_factory(SPECS[broker])
    account = await open_paper_account(http, paper.url, broker, cash={CURRENCY[broker]: Decimal("2500.50")})
    assert await balance_of(broker, paper.url, account) == Decimal("2500.50")


async def test_linked_paper_accounts_load_back_into_working_adapters(
        engine: AsyncEngine, vault: Vault, paper_factory: Factory, http: aiohttp.ClientSession) -> None:
    """Open, link, load, build the adapter from the loaded credentials: each broker accepts them."""
    await add_user(engine, "dana")
    urls = {broker: paper_factory(SPECS[broker]).url for broker in BROKERS}
    opened = {}
    for broker in BROKERS:
        account = await open_paper_account(http, urls[broker], broker)
        account_id = await link_account(
            engine, vault, user_id="dana", broker=broker, mode="paper", api_key=account.api_key,
            api_secret=account.api_secret, access_token=account.access_token,
            access_token_expires_at=account.access_token_expires_at, now=datetime.now(UTC))
        opened[account_id] = account

    loaded = await load_credentials(engine, vault)
    assert sorted(c.account_id for c in loaded) == sorted(opened)
    for credentials in loaded:
        client = adapter(credentials.broker, urls[credentials.broker], credentials.api_key,
                         credentials.api_secret, credentials.access_token)
        try:
            report = await client.get_balance()
        finally:
            await client.close()
        assert report.cash == DEFAULT_CASH[credentials.broker][report.currency]
    secrets = [a.api_secret.reveal() for a in opened.values()]
    secrets += [a.access_token.reveal() for a in opened.values() if a.access_token is not None]
    await assert_nowhere(engine, *secrets)


async def test_an_unreachable_paper_broker_is_a_clear_error(http: aiohttp.ClientSession) -> None:
    """Nothing listening on the port: PaperBrokerUnreachable naming the broker and its address."""
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PaperBrokerUnreachable, match=f"paper binance at {url} is unreachable"):
        await open_paper_account(http, url, Broker.BINANCE)


async def test_a_paper_broker_that_answers_an_error_is_a_clear_error(
        paper_factory: Factory, http: aiohttp.ClientSession) -> None:
    """An error answer (here to a wrong base path) is a PaperBrokerError with the HTTP status."""
    paper = paper_factory(SPECS[Broker.BINANCE])
    with pytest.raises(PaperBrokerError, match=r"refused to open an account \(HTTP 4\d\d\)") as failed:
        await open_paper_account(http, paper.url + "/not-here", Broker.BINANCE)
    assert not isinstance(failed.value, PaperBrokerUnreachable)


async def test_a_failed_kite_login_is_the_login_error_without_secrets(
        paper_factory: Factory, http: aiohttp.ClientSession) -> None:
    """A paper Kite failing the token exchange (a planned 503) raises BrokerDown, with no secret in it."""
    paper = paper_factory(SPECS[Broker.ZERODHA])
    plan = {"rules": [{"op": "account", "action": "error_before", "status": 503, "count": 1}]}
    async with http.put(paper.url + "/_paper/faults", json=plan) as resp:
        assert resp.status == 200
    with pytest.raises(BrokerDown, match=r"zerodha POST /session/token: HTTP 503") as failed:
        await open_paper_account(http, paper.url, Broker.ZERODHA)
    assert "checksum" not in str(failed.value)
    assert "request_token=" not in str(failed.value)


async def test_cash_must_be_decimal_and_not_negative(http: aiohttp.ClientSession) -> None:
    """Floats and negative or empty cash are refused before any request is sent."""
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TypeError, match="Decimal"):
        await open_paper_account(http, url, Broker.ALPACA, cash={"USD": 1.5})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="non-negative"):
        await open_paper_account(http, url, Broker.ALPACA, cash={"USD": Decimal(-1)})
    with pytest.raises(ValueError, match="at least one currency"):
        await open_paper_account(http, url, Broker.ALPACA, cash={})
