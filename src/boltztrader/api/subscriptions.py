"""``/v1/subscriptions``: follow a model, so that its signals fan out to one of the caller's accounts.

A signal sent with only its model (no account, no user) reaches every active subscriber, on the
subscription's account or, without one, the subscriber's account for the signal's market, sized
by the subscription's rule. Every change is audited on the subscriber's chain.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from boltztrader.accounts.subscriptions import (
    SubscriptionRecord,
    create_subscription,
    delete_subscription,
    get_subscription,
    list_subscriptions,
    update_subscription,
)
from boltztrader.api.auth import CurrentPrincipal
from boltztrader.api.deps import Cursor, Limit, Page, decode_cursor, encode_cursor, engine_of
from boltztrader.errors import InvalidInput

__all__ = ["SubscriptionIn", "SubscriptionOut", "SubscriptionPatch", "router"]

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])

SizingName = Literal["signal", "fixed_quantity", "fixed_notional", "percent_equity"]
SubscriptionId = Annotated[str, Path(max_length=64)]
_SIZING_VALUE = ("Required and > 0 for all but signal: the quantity, the notional, or the percent of "
                 "equity (at most 100). Text or number.")


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_id: str = Field(min_length=1, max_length=100)
    account_id: str | None = Field(default=None, max_length=64,
                                   description="One of the caller's accounts; absent: the account for the "
                                               "signal's market.")
    sizing: SizingName = Field(description="signal: the signal's own size; or a fixed quantity, a fixed "
                                           "notional, a percent of the account's equity.")
    sizing_value: Decimal | None = Field(default=None, description=_SIZING_VALUE)
    active: bool = True


class SubscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str | None = Field(default=None, max_length=64)
    sizing: SizingName | None = None
    sizing_value: Decimal | None = Field(default=None, description=_SIZING_VALUE)
    active: bool | None = None


class SubscriptionOut(BaseModel):
    id: str
    user_id: str
    model_id: str
    account_id: str | None
    sizing: SizingName
    sizing_value: str | None
    active: bool
    created_at: datetime


def _out(record: SubscriptionRecord) -> SubscriptionOut:
    value = None if record.sizing_value is None else format(record.sizing_value, "f")
    return SubscriptionOut(id=record.id, user_id=record.user_id, model_id=record.model_id,
                           account_id=record.account_id, sizing=record.sizing.value, sizing_value=value,
                           active=record.active, created_at=record.created_at)


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    key = decode_cursor(cursor)
    if key is None:
        return None
    try:
        at, last_id = key
        return datetime.fromisoformat(at), str(last_id)
    except (TypeError, ValueError):
        raise InvalidInput("cursor is not one this API returned", "cursor") from None


@router.get("", response_model=Page[SubscriptionOut], summary="The caller's model subscriptions")
async def get_subscriptions(request: Request, principal: CurrentPrincipal, limit: Limit = 50,
                            cursor: Cursor = None) -> Page[SubscriptionOut]:
    """The caller's subscriptions, oldest first."""
    found = await list_subscriptions(engine_of(request), principal.user_id, after=_after(cursor),
                                     limit=limit + 1)
    items = found[:limit]
    more = len(found) > limit
    next_cursor = encode_cursor([items[-1].created_at.isoformat(), items[-1].id]) if more else None
    return Page[SubscriptionOut](items=[_out(r) for r in items], next_cursor=next_cursor)


@router.post("", status_code=201, response_model=SubscriptionOut, summary="Subscribe to a model",
             responses={404: {"description": "No such account of the caller's"},
                        409: {"description": "Already subscribed to the model on that account"},
                        422: {"description": "A sizing rule without its value, or an unknown field"}})
async def post_subscription(request: Request, principal: CurrentPrincipal,
                            body: Annotated[SubscriptionIn, Body()]) -> SubscriptionOut:
    """Follow the model: its signals sent without a target reach the caller's account; audited."""
    record = await create_subscription(engine_of(request), principal, model_id=body.model_id,
                                       account_id=body.account_id, sizing=body.sizing,
                                       sizing_value=body.sizing_value, active=body.active)
    return _out(record)


@router.get("/{subscription_id}", response_model=SubscriptionOut, summary="One subscription",
            responses={404: {"description": "No such subscription of the caller's"}})
async def get_one_subscription(request: Request, principal: CurrentPrincipal,
                               subscription_id: SubscriptionId) -> SubscriptionOut:
    """One of the caller's subscriptions (an admin's: anyone's)."""
    return _out(await get_subscription(engine_of(request), principal, subscription_id))


@router.patch("/{subscription_id}", response_model=SubscriptionOut, summary="Change a subscription",
              responses={404: {"description": "No such subscription or account of the caller's"},
                         409: {"description": "Already subscribed to the model on that account"},
                         422: {"description": "A sizing rule without its value, or an unknown field"}})
async def patch_subscription(request: Request, principal: CurrentPrincipal, subscription_id: SubscriptionId,
                             body: Annotated[SubscriptionPatch, Body()]) -> SubscriptionOut:
    """Change the account, sizing rule or active flag of one of the caller's subscriptions; audited."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if changes.get("active", False) is None:
        raise InvalidInput("active must be true or false", "active")
    if "sizing" in changes and changes["sizing"] is None:
        raise InvalidInput("sizing must not be null", "sizing")
    record = await update_subscription(engine_of(request), principal, subscription_id, changes)
    return _out(record)


@router.delete("/{subscription_id}", status_code=204, response_class=Response, summary="Unsubscribe",
               responses={404: {"description": "No such subscription of the caller's"}})
async def remove_subscription(request: Request, principal: CurrentPrincipal,
                              subscription_id: SubscriptionId) -> Response:
    """Stop following the model on that account; audited."""
    await delete_subscription(engine_of(request), principal, subscription_id)
    return Response(status_code=204)
