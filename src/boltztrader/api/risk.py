"""``/v1/risk/limits`` and ``/v1/killswitch``: a user's risk limits and trading levels, and the admin's.

Limits are stored per user (``?account_id=`` absent) or per account (its fields override the
user's); ``effective`` is what the risk guard applies to that scope now: the stored fields over
the defaults, under the global policy, which only tightens. A user may store a looser value than
the policy: it is kept, and the policy's wins in ``effective``. ``/v1/risk/limits/global`` is the
admin's policy; once one is stored, its unset fields hold their defaults, and those bind too.

The kill switch sets a level (``halted``, ``reducing``, ``active``) for the caller, one of their
accounts, or (admins only) everyone; an account trades at the strictest of the three.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from boltztrader.accounts.limits import LimitScope, set_limits, stored_limits
from boltztrader.accounts.owned import owned_account
from boltztrader.accounts.users import Principal
from boltztrader.api.auth import AdminPrincipal, CurrentPrincipal
from boltztrader.api.deps import engine_of, runtime_of
from boltztrader.errors import Forbidden, InvalidInput
from boltztrader.orders.killswitch import Scope
from boltztrader.orders.switch_states import SwitchStates, switch_states
from boltztrader.risk import Limits

__all__ = ["LimitsIn", "LimitsOut", "SwitchIn", "SwitchOut", "SwitchStatesOut", "router"]

router = APIRouter(prefix="/v1", tags=["risk"])

AccountQuery = Annotated[str | None, Query(max_length=64, description="An account of the caller's; "
                                                                      "absent: the caller's own limits.")]

Fraction = Annotated[Decimal | None, Field(description="A decimal (text or number).")]
Seconds = Annotated[Decimal | None, Field(description="A duration in seconds (text or number).")]
Cap = Annotated[Decimal | None, Field(description="A cap (text or number); null: no cap.")]
Count = Annotated[int | None, Field(description="A whole number.")]
Flag = Annotated[StrictBool | None, Field(description="true or false.")]


class LimitsIn(BaseModel):
    """Any fields of the risk limits; each is checked by the limits' own rules. Absent: the default."""

    model_config = ConfigDict(extra="forbid")

    min_confidence: Fraction = None
    max_signal_age: Seconds = None
    max_clock_skew: Seconds = None
    lookalike_window: Seconds = None
    max_exposure: Fraction = None
    max_order_notional: Cap = None
    max_order_qty: Cap = None
    collar_equities: Fraction = None
    collar_crypto: Fraction = None
    reference_max_age_equities: Seconds = None
    reference_max_age_crypto: Seconds = None
    max_position_notional: Cap = None
    max_gross_exposure: Cap = None
    cash_gross_exposure: Fraction = None
    max_daily_loss: Fraction = None
    kite_orders_per_second: Count = None
    kite_orders_per_minute: Count = None
    alpaca_orders_per_second: Count = None
    alpaca_orders_per_minute: Count = None
    binance_headroom: Fraction = None
    max_open_orders_account: Count = None
    max_open_orders_symbol: Count = None
    allow_amo: Flag = None
    allow_extended_hours: Flag = None
    repeated_fills: Count = None
    repeated_window: Seconds = None
    approval_ttl: Seconds = None


class LimitsOut(BaseModel):
    scope: Literal["user", "account", "global"]
    stored: dict[str, Any] = Field(description="The fields stored at this scope (amounts, seconds as text).")
    effective: dict[str, Any] = Field(description="Every field as the risk guard applies it here now.")


async def _limits_out(request: Request, principal: Principal, account_id: str | None) -> LimitsOut:
    engine = engine_of(request)
    if account_id is None:
        stored = await stored_limits(engine, LimitScope.USER, principal.user_id)
        effective = await runtime_of(request).intake.limits_for(principal.user_id, "")
        return LimitsOut(scope="user", stored=stored, effective=effective.to_mapping())
    owner = await owned_account(engine, principal, account_id)
    stored = await stored_limits(engine, LimitScope.ACCOUNT, account_id)
    effective = await runtime_of(request).intake.limits_for(owner, account_id)
    return LimitsOut(scope="account", stored=stored, effective=effective.to_mapping())


@router.get("/risk/limits", response_model=LimitsOut, summary="The caller's or an account's risk limits")
async def get_limits(request: Request, principal: CurrentPrincipal,
                     account_id: AccountQuery = None) -> LimitsOut:
    """The limits stored for the caller (or one of their accounts), and those the guard applies."""
    return await _limits_out(request, principal, account_id)


@router.put("/risk/limits", response_model=LimitsOut, summary="Replace the caller's or an account's limits",
            responses={404: {"description": "No such account of the caller's"},
                       422: {"description": "An unknown field, or a value the limits refuse"}})
async def put_limits(request: Request, principal: CurrentPrincipal, body: Annotated[LimitsIn, Body()],
                     account_id: AccountQuery = None) -> LimitsOut:
    """Store exactly the given fields at this scope (the rest fall back to their defaults); audited."""
    engine = engine_of(request)
    values = body.model_dump(exclude_unset=True)
    if account_id is None:
        await set_limits(engine, LimitScope.USER, principal.user_id, values, owner=principal.user_id,
                         actor=_actor(principal))
    else:
        owner = await owned_account(engine, principal, account_id)
        await set_limits(engine, LimitScope.ACCOUNT, account_id, values, owner=owner, actor=_actor(principal))
    return await _limits_out(request, principal, account_id)


async def _global_out(request: Request) -> LimitsOut:
    stored = await stored_limits(engine_of(request), LimitScope.GLOBAL, "")
    effective = Limits.from_mapping(stored).to_mapping() if stored else {}
    return LimitsOut(scope="global", stored=stored, effective=effective)


@router.get("/risk/limits/global", response_model=LimitsOut, summary="The global risk policy (admin)")
async def get_global_limits(request: Request, principal: AdminPrincipal) -> LimitsOut:
    """The admin's policy, which only tightens every account's limits; effective is empty when none is set."""
    return await _global_out(request)


@router.put("/risk/limits/global", response_model=LimitsOut, summary="Replace the global risk policy (admin)",
            responses={422: {"description": "An unknown field, or a value the limits refuse"}})
async def put_global_limits(request: Request, principal: AdminPrincipal,
                            body: Annotated[LimitsIn, Body()]) -> LimitsOut:
    """Store the policy: every account is held to the stricter of its limits and these; audited."""
    values = body.model_dump(exclude_unset=True)
    await set_limits(engine_of(request), LimitScope.GLOBAL, "", values, owner=None, actor=_actor(principal))
    return await _global_out(request)


# -- kill switch ----------------------------------------------------------------------------------

State = Literal["active", "reducing", "halted"]


class SwitchStatesOut(BaseModel):
    global_state: State = Field(serialization_alias="global", description="The level set for everyone.")
    user: State = Field(description="The level set for the caller.")
    accounts: dict[str, State] = Field(description="The level set on each of the caller's accounts.")
    effective: dict[str, State] = Field(description="The level each of the caller's accounts trades at: "
                                                    "the strictest of the three.")


class SwitchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Literal["user", "account", "global"]
    account_id: str | None = Field(default=None, max_length=64, description="For the account scope only.")
    state: State = Field(description="active releases this scope's switch.")
    reason: str = Field(min_length=1, max_length=500)


class SwitchOut(BaseModel):
    scope: Literal["user", "account", "global"]
    scope_id: str
    state: State
    cancelled: list[str] = Field(description="Orders asked to cancel at their broker.")
    withdrawn: list[str] = Field(description="Intents never sent, cancelled or declined here.")
    failed: list[str] = Field(description="Orders whose cancel failed; they wait for the reconcile.")
    in_flight: list[str] = Field(description="Orders being sent: cancel them once the broker has them.")
    states: SwitchStatesOut


def _states_out(states: SwitchStates) -> SwitchStatesOut:
    return SwitchStatesOut(global_state=states.global_state.value, user=states.user.value,
                           accounts={k: v.value for k, v in states.accounts.items()},
                           effective={k: v.value for k, v in states.effective.items()})


@router.get("/killswitch", response_model=SwitchStatesOut, summary="The caller's kill-switch levels")
async def get_killswitch(request: Request, principal: CurrentPrincipal) -> SwitchStatesOut:
    """The level set globally, for the caller and on each of their accounts, and what each trades at."""
    return _states_out(await switch_states(engine_of(request), principal.user_id))


@router.post("/killswitch", response_model=SwitchOut, summary="Halt, reduce or release trading",
             responses={403: {"description": "The global switch needs an admin"},
                        404: {"description": "No such account of the caller's"}})
async def post_killswitch(request: Request, principal: CurrentPrincipal,
                          body: Annotated[SwitchIn, Body()]) -> SwitchOut:
    """Set the level of a scope; halted cancels its working orders and withdraws unsent intents,
    reducing only those that would grow a position, active releases it."""
    if body.scope != "account" and body.account_id is not None:
        raise InvalidInput("account_id is only for the account scope", "account_id")
    if body.scope == "global":
        if not principal.is_admin:
            raise Forbidden("the global kill switch needs an admin's API token")
        scope_id = ""
    elif body.scope == "user":
        scope_id = principal.user_id
    else:
        if body.account_id is None:
            raise InvalidInput("the account scope needs an account_id", "account_id")
        await owned_account(engine_of(request), principal, body.account_id)
        scope_id = body.account_id
    report = await runtime_of(request).killswitch.engage(Scope(body.scope), scope_id, body.state,
                                                         actor=_actor(principal), reason=body.reason)
    states = await switch_states(engine_of(request), principal.user_id)
    return SwitchOut(scope=body.scope, scope_id=report.scope_id, state=body.state,
                     cancelled=list(report.cancelled), withdrawn=list(report.withdrawn),
                     failed=list(report.failed), in_flight=list(report.in_flight), states=_states_out(states))


def _actor(principal: Principal) -> str:
    return f"user:{principal.user_id}"
