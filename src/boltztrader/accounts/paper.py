"""Opening a funded account on a running paper broker, ready to link: credentials and, for Kite, a session.

``POST /_paper/accounts`` on the paper broker creates the account and names its credentials the
broker's way (Kite and Binance ``api_key``/``api_secret``, Alpaca ``key_id``/``secret_key``); for
Kite it also hands out a request token, which :mod:`accounts.kite_login` exchanges for the day's
access token exactly as with real Kite. Admin failures are ``PaperBrokerUnreachable`` or
``PaperBrokerError``; the Kite login raises its own classes (see ``kite_login``). No message
carries a secret or a token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

import aiohttp

from boltztrader.accounts.kite_login import exchange_request_token
from boltztrader.domain.enums import Broker
from boltztrader.domain.secrets import Secret
from boltztrader.errors import PaperBrokerError, PaperBrokerUnreachable

ADMIN_TIMEOUT: Final = 10.0
DEFAULT_CASH: Final[Mapping[Broker, Mapping[str, Decimal]]] = MappingProxyType({
    Broker.ZERODHA: MappingProxyType({"INR": Decimal(1_000_000)}),
    Broker.ALPACA: MappingProxyType({"USD": Decimal(100_000)}),
    Broker.BINANCE: MappingProxyType({"USDT": Decimal(100_000)}),
})
# How each paper broker names the key and the secret in its admin answer.
_CREDENTIAL_FIELDS: Final[Mapping[Broker, tuple[str, str]]] = MappingProxyType({
    Broker.ZERODHA: ("api_key", "api_secret"),
    Broker.BINANCE: ("api_key", "api_secret"),
    Broker.ALPACA: ("key_id", "secret_key"),
})
_MAX_MESSAGE = 200


@dataclass(frozen=True)
class PaperAccount:
    """A funded paper account's credentials (Alpaca's key id and secret key as api_key/api_secret)."""

    broker: Broker
    paper_account_id: str
    api_key: str
    api_secret: Secret
    access_token: Secret | None = None  # Kite only: the day's session
    access_token_expires_at: datetime | None = None


async def open_paper_account(session: aiohttp.ClientSession, base_url: str, broker: Broker, *,
                             cash: Mapping[str, Decimal] | None = None) -> PaperAccount:
    """Create an account funded with ``cash`` (default: DEFAULT_CASH of the broker); log Kite in."""
    broker = Broker(broker)
    funds = _cash_body(DEFAULT_CASH[broker] if cash is None else cash)
    root = base_url.rstrip("/")
    answer = await _create(session, root, broker, funds)
    key_field, secret_field = _CREDENTIAL_FIELDS[broker]
    account = PaperAccount(broker=broker, paper_account_id=_text(answer, "account_id", broker),
                           api_key=_text(answer, key_field, broker),
                           api_secret=Secret(_text(answer, secret_field, broker)))
    if broker is not Broker.ZERODHA:
        return account
    login = await exchange_request_token(session, api_key=account.api_key,
                                         request_token=Secret(_text(answer, "request_token", broker)),
                                         api_secret=account.api_secret, base_url=root)
    return PaperAccount(broker=broker, paper_account_id=account.paper_account_id, api_key=account.api_key,
                        api_secret=account.api_secret, access_token=login.access_token,
                        access_token_expires_at=login.expires_at)


def _cash_body(cash: Mapping[str, Decimal]) -> dict[str, str]:
    if not cash:
        raise ValueError("cash names at least one currency (or leave it out for the default)")
    body = {}
    for asset, amount in cash.items():
        if not isinstance(amount, Decimal | int) or isinstance(amount, bool):
            raise TypeError(f"cash.{asset} must be a Decimal, not {type(amount).__name__}")
        value = Decimal(amount)
        if not value.is_finite() or value < 0:
            raise ValueError(f"cash.{asset} must be a finite, non-negative amount")
        body[str(asset)] = format(value, "f")
    return body


async def _create(session: aiohttp.ClientSession, root: str, broker: Broker,
                  cash: dict[str, str]) -> dict[str, Any]:
    where = f"paper {broker} at {root}"
    try:
        async with session.post(root + "/_paper/accounts", json={"cash": cash}, allow_redirects=False,
                                timeout=aiohttp.ClientTimeout(total=ADMIN_TIMEOUT)) as resp:
            status, body = resp.status, await resp.read()
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
        reason = f"{where} is unreachable ({type(exc).__name__}): is it running?"
        raise PaperBrokerUnreachable(reason) from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise PaperBrokerUnreachable(f"{where} gave no complete answer ({type(exc).__name__})") from None
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if status not in (200, 201):
        detail = parsed.get("error") if isinstance(parsed, dict) else None
        reason = f": {str(detail)[:_MAX_MESSAGE]}" if detail else ""
        raise PaperBrokerError(f"{where} refused to open an account (HTTP {status}){reason}")
    if not isinstance(parsed, dict):
        raise PaperBrokerError(f"{where} answered with something that is not a JSON object")
    return parsed


def _text(answer: Mapping[str, Any], name: str, broker: Broker) -> str:
    value = answer.get(name)
    if not isinstance(value, str) or not value:
        raise PaperBrokerError(f"paper {broker} opened an account but its answer has no {name}")
    return value
