"""``/v1/accounts/{id}``: an account's positions (ours), and its balance and quotes (its broker's).

Positions are the ones our executions moved (``positions`` table); balance and quote are asked of
the account's broker on each call, so a broker failure answers as its problem (503, 502, ...).
Another user's account answers 404, as an unknown id does; an admin may ask about any.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from boltztrader.accounts.users import Principal
from boltztrader.api.auth import CurrentPrincipal
from boltztrader.api.deps import engine_of, runtime_of
from boltztrader.brokers.base import Broker
from boltztrader.errors import AccountNotFound
from boltztrader.orders.queries import account_owner, account_positions

router = APIRouter(prefix="/v1/accounts", tags=["portfolio"])

AccountId = Annotated[str, Path(max_length=64, description="The broker account's id (ours).")]
_BROKER_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such account (or not the caller's), or none loaded"},
    429: {"description": "The broker asked us to slow down (Retry-After says how long)"},
    502: {"description": "The broker failed or refused the account's credentials"},
    503: {"description": "The broker is unavailable"},
}


class PositionOut(BaseModel):
    """A position as our executions moved it; quantities and prices are decimal strings."""

    symbol: str
    market: str
    quantity: str
    average_price: str
    realized_pnl: str
    updated_at: datetime


class BalanceOut(BaseModel):
    """The account's money as its broker reports it now."""

    currency: str
    cash: str
    equity: str
    buying_power: str
    as_of: datetime


class QuoteOut(BaseModel):
    """The broker's current price of a symbol."""

    symbol: str
    bid: str | None
    ask: str | None
    last: str
    at: datetime


def _text(value: Decimal) -> str:
    """A decimal as plain digits (never exponent notation such as ``1E-7``)."""
    return format(value, "f")


async def _check_owner(request: Request, principal: Principal, account_id: str) -> None:
    """AccountNotFound (404) alike for an unknown account and another user's."""
    owner = await account_owner(engine_of(request), account_id)
    if owner is None or not (principal.is_admin or owner == principal.user_id):
        raise AccountNotFound(f"no account {account_id}")


async def _broker(request: Request, principal: Principal, account_id: str) -> Broker:
    await _check_owner(request, principal, account_id)
    try:
        return runtime_of(request).directory[account_id]
    except KeyError:
        raise AccountNotFound(f"account {account_id} is not linked or has no credentials loaded") from None


@router.get("/{account_id}/positions", response_model=list[PositionOut], summary="The account's positions",
            responses={404: _BROKER_ERRORS[404]})
async def positions(request: Request, principal: CurrentPrincipal,
                    account_id: AccountId) -> list[PositionOut]:
    """Every position our executions moved in the account, by symbol (flat ones with their profit)."""
    await _check_owner(request, principal, account_id)
    rows = await account_positions(engine_of(request), account_id)
    return [PositionOut(symbol=r.symbol, market=r.market, quantity=_text(r.quantity),
                        average_price=_text(r.average_price), realized_pnl=_text(r.realized_pnl),
                        updated_at=r.updated_at) for r in rows]


@router.get("/{account_id}/balance", response_model=BalanceOut, summary="The account's balance at its broker",
            responses=_BROKER_ERRORS)
async def balance(request: Request, principal: CurrentPrincipal, account_id: AccountId) -> BalanceOut:
    """Cash, equity and buying power as the broker reports them now."""
    report = await (await _broker(request, principal, account_id)).get_balance()
    return BalanceOut(currency=report.currency, cash=_text(report.cash), equity=_text(report.equity),
                      buying_power=_text(report.buying_power), as_of=datetime.now(UTC))


@router.get("/{account_id}/quote", response_model=QuoteOut, summary="A symbol's price at the broker",
            responses={**_BROKER_ERRORS, 422: {"description": "The broker does not know the symbol"}})
async def quote(request: Request, principal: CurrentPrincipal, account_id: AccountId,
                symbol: Annotated[str, Query(min_length=1, max_length=64)]) -> QuoteOut:
    """Bid, ask and last price of ``symbol`` now, as the account's broker quotes it."""
    report = await (await _broker(request, principal, account_id)).get_quote(symbol)
    return QuoteOut(symbol=report.symbol, bid=None if report.bid is None else _text(report.bid),
                    ask=None if report.ask is None else _text(report.ask), last=_text(report.last),
                    at=report.time)
