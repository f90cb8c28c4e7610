"""``/v1/accounts``: link broker accounts, open paper ones, read, rename, check and unlink them;
``/v1/kite/callback``: where Kite's daily login comes back.

An account shows its API key's last four characters only; secrets go in and never come out. A user
sees their own accounts (another user's answer 404); an admin reads everyone's but changes only
their own. Every link, unlink and login takes effect in the running process at once.
"""

from __future__ import annotations

import html
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from boltztrader.accounts.kite_login import IST
from boltztrader.accounts.service import AccountService, AccountView, get_account, list_accounts
from boltztrader.api.auth import CurrentPrincipal
from boltztrader.api.deps import engine_of, runtime_of
from boltztrader.domain.clock import SystemClock
from boltztrader.domain.enums import AccountMode, Broker, ExecutionMode, Region, TradingState
from boltztrader.domain.secrets import Secret
from boltztrader.settings import RunMode
from boltztrader.wiring.brokers import paper_urls

router = APIRouter(prefix="/v1", tags=["accounts"])

AccountId = Annotated[str, Path(max_length=36, description="The account's id.")]
Label = Field(min_length=1, max_length=100, description="Your name for the account, unique per broker.")
_CLOCK = SystemClock()
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such account among those the caller may see"}}
IncludeUnlinked = Annotated[bool, Query(description="Also list unlinked accounts")]


class SessionOut(BaseModel):
    expires_at: datetime | None = Field(description="When Kite stops accepting the day's token (06:00 IST)")
    valid: bool


class AccountOut(BaseModel):
    id: str
    broker: Broker
    mode: AccountMode
    label: str
    region: Region
    execution_mode: ExecutionMode
    trading_state: TradingState = Field(description="The strictest kill-switch level over the account")
    api_key_hint: str = Field(description="The API key's last four characters")
    session: SessionOut | None = Field(description="Kite's daily session; null for other brokers")
    created_at: datetime
    unlinked_at: datetime | None


class AccountIn(BaseModel):
    """A broker account's credentials. A Binance key that may withdraw is refused."""

    model_config = ConfigDict(extra="forbid")

    broker: Broker
    mode: AccountMode = Field(description="paper (the paper brokers) or live (only when the service is live)")
    label: str = Label
    api_key: str = Field(min_length=1, max_length=200)
    api_secret: SecretStr = Field(min_length=1, max_length=500)
    access_token: SecretStr | None = Field(None, min_length=1, max_length=500,
                                           description="Kite only: today's token, if already logged in")
    execution_mode: ExecutionMode = ExecutionMode.AUTOMATED


class PaperAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    broker: Broker
    label: str = Field("paper", min_length=1, max_length=100, description="Defaults to paper.")
    execution_mode: ExecutionMode = ExecutionMode.AUTOMATED


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(None, min_length=1, max_length=100)
    execution_mode: ExecutionMode | None = None


class BalanceOut(BaseModel):
    currency: str
    equity: Decimal


class CheckOut(BaseModel):
    ok: bool
    checked_at: datetime
    detail: str
    balance: BalanceOut | None = None


class KiteLoginOut(BaseModel):
    login_url: str = Field(description="Send the user's browser here; Kite comes back to /v1/kite/callback")


def _service(request: Request) -> AccountService:
    """The process's one account service (it holds pending Kite logins), made on first use."""
    runtime = runtime_of(request)
    state = request.app.state
    found: tuple[object, AccountService] | None = getattr(state, "accounts_service", None)
    if found is not None and found[0] is runtime:
        return found[1]
    settings = state.container.settings
    service = AccountService(engine_of(request), runtime.vault, runtime.directory, runtime.factory, _CLOCK,
                             live_allowed=settings.mode is RunMode.LIVE, paper_urls=paper_urls(settings),
                             on_added=runtime.execution.account_added,
                             on_removed=runtime.execution.account_removed)
    state.accounts_service = (runtime, service)
    return service


def _out(view: AccountView) -> AccountOut:
    session = None if view.session is None else SessionOut(expires_at=view.session.expires_at,
                                                          valid=view.session.valid)
    return AccountOut(id=view.id, broker=view.broker, mode=view.mode, label=view.label, region=view.region,
                      execution_mode=view.execution_mode, trading_state=view.trading_state,
                      api_key_hint=view.api_key_hint, session=session, created_at=view.created_at,
                      unlinked_at=view.unlinked_at)


def _secret(value: SecretStr | None) -> Secret | None:
    return None if value is None else Secret(value.get_secret_value())


@router.post("/accounts", status_code=201, response_model=AccountOut, summary="Link a broker account",
             responses={409: {"description": "You already have a linked account there under that label"},
                        422: {"description": "Malformed details, a live account in paper mode, or a key "
                                              "the broker refused or that may withdraw"}})
async def link(request: Request, principal: CurrentPrincipal,
               body: Annotated[AccountIn, Body()]) -> AccountOut:
    """Link one of your broker accounts with its API key; it trades from now on."""
    secret = _secret(body.api_secret)
    assert secret is not None
    view = await _service(request).link(principal, broker=body.broker, mode=body.mode, label=body.label,
                                        api_key=body.api_key, api_secret=secret,
                                        access_token=_secret(body.access_token),
                                        execution_mode=body.execution_mode)
    return _out(view)


@router.post("/accounts/paper", status_code=201, response_model=AccountOut,
             summary="Open and link a funded paper account",
             responses={409: {"description": "You already have a linked account there under that label"},
                        502: {"description": "The paper broker did not answer"}})
async def open_paper(request: Request, principal: CurrentPrincipal,
                     body: Annotated[PaperAccountIn, Body()]) -> AccountOut:
    """Open a funded account on the configured paper broker and link it (Kite: logged in already)."""
    view = await _service(request).open_paper(principal, broker=body.broker, label=body.label,
                                              execution_mode=body.execution_mode)
    return _out(view)


@router.get("/accounts", response_model=list[AccountOut], summary="Your broker accounts")
async def accounts(request: Request, principal: CurrentPrincipal,
                   include_unlinked: IncludeUnlinked = False) -> list[AccountOut]:
    """Your linked accounts, oldest first (an admin's list holds everyone's)."""
    views = await list_accounts(engine_of(request), principal, now=_CLOCK.now(),
                                include_unlinked=include_unlinked)
    return [_out(view) for view in views]


@router.get("/accounts/{account_id}", response_model=AccountOut, summary="One broker account",
            responses=_NOT_FOUND)
async def account(request: Request, principal: CurrentPrincipal, account_id: AccountId) -> AccountOut:
    """One of your accounts, linked or unlinked."""
    return _out(await get_account(engine_of(request), principal, account_id, now=_CLOCK.now()))


@router.patch("/accounts/{account_id}", response_model=AccountOut, summary="Rename an account or change "
              "its execution mode", responses={**_NOT_FOUND, 409: {"description": "The label is taken"}})
async def patch(request: Request, principal: CurrentPrincipal, account_id: AccountId,
                body: Annotated[AccountPatch, Body()]) -> AccountOut:
    """Change the label or the execution mode (automated or semi_manual); audited."""
    view = await _service(request).update(principal, account_id, label=body.label,
                                          execution_mode=body.execution_mode)
    return _out(view)


@router.post("/accounts/{account_id}/check", response_model=CheckOut, summary="Check the credentials",
             responses=_NOT_FOUND)
async def check(request: Request, principal: CurrentPrincipal, account_id: AccountId) -> CheckOut:
    """Ask the broker for the account's balance (one read-only call): do the credentials work?"""
    result = await _service(request).check(principal, account_id)
    balance = (None if result.currency is None or result.equity is None
               else BalanceOut(currency=result.currency, equity=result.equity))
    return CheckOut(ok=result.ok, checked_at=result.checked_at, detail=result.detail, balance=balance)


@router.delete("/accounts/{account_id}", status_code=204, response_class=Response,
               summary="Unlink an account", responses=_NOT_FOUND)
async def unlink(request: Request, principal: CurrentPrincipal, account_id: AccountId) -> Response:
    """Unlink the account: its secrets are erased and it stops trading; its history stays."""
    await _service(request).unlink(principal, account_id)
    return Response(status_code=204)


@router.get("/accounts/{account_id}/kite/login", response_model=KiteLoginOut,
            summary="Start Kite's daily login", responses=_NOT_FOUND)
async def kite_login(request: Request, principal: CurrentPrincipal, account_id: AccountId) -> KiteLoginOut:
    """Kite's login page for the account; the link works once, within 10 minutes."""
    return KiteLoginOut(login_url=await _service(request).kite_login_url(principal, account_id))


@router.get("/kite/callback", response_class=HTMLResponse, summary="Kite's login redirect (no API token)",
            responses={200: {"description": "A page saying until when the session is valid"},
                       400: {"description": "Unknown, used or expired login state, or login not completed"}})
async def kite_callback(
    request: Request,
    request_token: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(max_length=50)] = None,
    state: Annotated[str | None, Query(max_length=100)] = None,
    account_id: Annotated[str | None, Query(max_length=36)] = None,
) -> HTMLResponse:
    """Where Kite sends the browser back: the one-time state proves the login was started here."""
    view = await _service(request).complete_kite_login(state=state, account_id=account_id, status=status,
                                                       request_token=request_token)
    expires = view.session.expires_at if view.session is not None else None
    stamp = "" if expires is None else expires.isoformat()
    until = "unknown" if expires is None else (
        f"{stamp} ({expires.astimezone(IST).strftime('%Y-%m-%d %H:%M')} IST)")
    page = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>Kite session renewed</title></head>"
            f"<body><h1>Kite session renewed</h1><p>Account <strong>{html.escape(view.label)}</strong> can "
            f"trade: its session is valid until <time datetime=\"{stamp}\">{html.escape(until)}</time>.</p>"
            f"<p>You can close this page.</p></body></html>")
    return HTMLResponse(page)
