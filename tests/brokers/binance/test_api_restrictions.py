"""BinanceBroker.api_restrictions: what a key may do, read from /sapi on the spot host, strictly parsed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from boltztrader.brokers.binance import mapping
from boltztrader.domain.enums import Market
from boltztrader.errors import BrokerAuthError, BrokerProtocolError

from .conftest import Paper, admin


async def test_a_trading_key_reads_as_not_withdrawal_enabled(paper: Paper) -> None:
    """The paper default key: reading and spot trading allowed, withdrawals and transfers not."""
    found = await paper.broker().api_restrictions()
    assert found.withdrawals_enabled is False
    assert found.reading_enabled is True
    assert found.spot_trading_enabled is True
    assert found.internal_transfer_enabled is False
    assert found.universal_transfer_enabled is False
    assert found.created_at is not None
    assert abs(found.created_at - datetime.now(UTC)) < timedelta(minutes=5)


async def test_a_withdrawal_enabled_key_is_reported_as_such(paper: Paper) -> None:
    """A key the broker lets withdraw comes back with withdrawals_enabled true."""
    body = {"restrictions": {"enableWithdrawals": True}}
    opened = admin(paper.paper, "POST", "/_paper/accounts", json=body)
    found = await paper.broker(key=opened["api_key"], secret=opened["api_secret"]).api_restrictions()
    assert found.withdrawals_enabled is True


async def test_a_futures_adapter_asks_the_spot_host(paper: Paper) -> None:
    """/sapi lives on the spot host: a USD-M adapter whose futures host is unreachable still answers."""
    config = dataclasses.replace(paper.config(market=Market.CRYPTO_FUTURES), futures_base_url="http://127.0.0.1:9")
    broker = paper.broker(config)
    found = await broker.api_restrictions()
    assert found.reading_enabled is True


async def test_a_refused_key_raises_auth_error_without_the_secret(paper: Paper) -> None:
    """A wrong secret is BrokerAuthError; its message does not carry the secret."""
    secret = "wrong-secret-that-must-not-leak"
    with pytest.raises(BrokerAuthError) as caught:
        await paper.broker(secret=secret).api_restrictions()
    assert secret not in str(caught.value)


@pytest.mark.parametrize("body", [
    {"enableReading": True},  # no withdrawal flag: never read as "off"
    {"enableReading": True, "enableWithdrawals": "false"},
    {"enableReading": True, "enableWithdrawals": 0},
    {"enableWithdrawals": False},
])
def test_an_answer_without_clear_flags_is_a_protocol_error(body: dict[str, Any]) -> None:
    """A missing or non-boolean withdrawal or reading flag raises instead of defaulting."""
    with pytest.raises((KeyError, TypeError)):
        mapping.api_restrictions(body)


async def test_a_malformed_answer_from_the_wire_is_broker_protocol_error(paper: Paper) -> None:
    """Through the adapter, a non-boolean withdrawal flag on the wire is BrokerProtocolError, not "off"."""
    account = paper.paper.venue.accounts[paper.account["account_id"]]
    paper.paper.call(lambda: account.extra.__setitem__("api_restrictions", {"enableWithdrawals": "no"}))
    with pytest.raises(BrokerProtocolError):
        await paper.broker().api_restrictions()
