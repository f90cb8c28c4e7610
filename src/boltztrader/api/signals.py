"""``/v1/signals``: send a signal (acknowledged once it and every intent are written), read its outcome.

Who may target what: a user's signal reaches only that user's own accounts (a named account must
be theirs, a named user must be them; with neither, the signal is theirs alone); an admin's signal
may name anyone, or nobody, which fans it out to every subscriber of its model. The answer lists
the outcome at each account the caller may see.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from boltztrader.accounts.users import Principal
from boltztrader.api.auth import CurrentPrincipal
from boltztrader.api.deps import engine_of, runtime_of
from boltztrader.errors import AccountNotFound, NotFound
from boltztrader.orders.intake import SignalResult
from boltztrader.orders.queries import owned_account_ids, signal_orders

router = APIRouter(prefix="/v1/signals", tags=["signals"])


class SignalIn(BaseModel):
    """A trading signal from an AI model. Exactly one of ``quantity`` and ``notional``."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The model's own id for this signal: sending it again is answered as before.")
    model_id: str
    symbol: str
    market: str = Field(description="nse, bse, nfo, us, crypto or crypto_futures")
    side: str = Field(description="buy or sell")
    confidence: Decimal = Field(description="0 to 1; the risk guard needs 0.7 by default")
    created_at: str = Field(description="ISO-8601 time the model made the signal (freshness is checked)")
    quantity: Decimal | None = None
    notional: Decimal | None = None
    limit_price: Decimal | None = Field(None, description="A limit price; without one the order is a "
                                        "market order, collared around the reference price")
    account_id: str | None = None
    user_id: str | None = None
    broker: str | None = None
    region: str | None = None


class Outcome(BaseModel):
    account_id: str
    order_id: str
    status: str
    reasons: list[str] = []


class SignalOut(BaseModel):
    signal_id: str
    replay: bool = Field(description="true when this id was received before (nothing new was done)")
    outcomes: list[Outcome]


def _out(result: SignalResult, visible: set[str] | None, status_code: int) -> JSONResponse:
    outcomes = [o for o in result.outcomes if visible is None or o.account_id in visible]
    body = SignalOut(signal_id=result.signal_id, replay=result.replay,
                     outcomes=[Outcome(account_id=o.account_id, order_id=o.order_id, status=str(o.status),
                                       reasons=list(o.reasons)) for o in outcomes])
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code)


@router.post("", status_code=201, response_model=SignalOut, summary="Send a signal",
             responses={200: {"model": SignalOut, "description": "The same signal again: the first answer"},
                        409: {"description": "The id was used before with different content"},
                        422: {"description": "The signal is malformed (the field is named)"}})
async def send_signal(request: Request, principal: CurrentPrincipal,
                      signal: Annotated[SignalIn, Body()]) -> JSONResponse:
    """Validate, route, size and risk-check the signal; write it and every order intent, then
    answer. Orders are sent right after, in the background."""
    data: dict[str, Any] = signal.model_dump(exclude_none=True)
    visible: set[str] | None = None
    if not principal.is_admin:
        visible = await owned_account_ids(engine_of(request), principal.user_id)
        if data.get("account_id") is not None and data["account_id"] not in visible:
            raise AccountNotFound(f"no account {data['account_id']}")
        if data.get("user_id", principal.user_id) != principal.user_id:
            raise NotFound(f"no user {data['user_id']}")
        if data.get("account_id") is None:
            data["user_id"] = principal.user_id
    result = await runtime_of(request).execution.handle_signal(data, source="api")
    return _out(result, visible, 200 if result.replay else 201)


@router.get("/{signal_id}", response_model=SignalOut, summary="A signal's outcome at each account")
async def get_signal(request: Request, principal: CurrentPrincipal,
                     signal_id: Annotated[str, Path(max_length=128)]) -> JSONResponse:
    """The signal's order at each account the caller may see, with each order's current status."""
    found = await signal_orders(engine_of(request), signal_id)
    rows = [r for r in found or [] if _may_see(principal, r.user_id)]
    if found is None or (not rows and not principal.is_admin):
        raise NotFound(f"no signal {signal_id}")
    outcomes = [Outcome(account_id=r.account_id, order_id=r.order_id, status=r.status,
                        reasons=_reasons(r.status, r.reject_reason)) for r in rows]
    body = SignalOut(signal_id=signal_id, replay=True, outcomes=outcomes)
    return JSONResponse(body.model_dump(mode="json"))


def _reasons(status: str, reject_reason: str | None) -> list[str]:
    return reject_reason.split(", ") if status == "denied" and reject_reason else []


def _may_see(principal: Principal, owner: str) -> bool:
    return principal.is_admin or owner == principal.user_id
