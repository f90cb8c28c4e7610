"""``/v1/audit``: the caller's own audit trail, newest first, and its verification.

A user reads their own chain (``user:<id>``: their accounts, orders, limits, subscriptions, kill
switches); another chain answers 404 as if it did not exist. Admins may read any chain
(``global``, ``signals``, ``user:<id>``) and verify the whole ledger.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from boltztrader.accounts.users import Principal
from boltztrader.api.auth import CurrentPrincipal
from boltztrader.api.deps import Cursor, Limit, Page, decode_cursor, encode_cursor, engine_of
from boltztrader.audit import verify_ledger
from boltztrader.errors import InvalidInput, NotFound
from boltztrader.ledger import AuditEntry
from boltztrader.orders.audit_log import decoded_payload, entries, verify_chain

__all__ = ["AuditEntryOut", "ChainOut", "VerifyOut", "router"]

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class AuditEntryOut(BaseModel):
    chain: str
    seq: int
    recorded_at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    payload: dict[str, Any] = Field(description="What the entry records: the JSON object it was written as.")
    hash: str


class ChainOut(BaseModel):
    chain: str
    entries: int
    ok: bool
    problem: str | None = Field(description="The chain's first bad entry and why; null when it verifies.")


class VerifyOut(BaseModel):
    ok: bool
    chains: list[ChainOut]


def entry_out(entry: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(chain=entry.chain, seq=entry.seq, recorded_at=entry.recorded_at, actor=entry.actor,
                         action=entry.action, entity=entry.entity, entity_id=entry.entity_id,
                         payload=decoded_payload(entry), hash=entry.hash)


def own_chain(principal: Principal) -> str:
    return f"user:{principal.user_id}"


def _chain(principal: Principal, chain: str | None) -> str:
    if chain is None or chain == own_chain(principal):
        return own_chain(principal)
    if not principal.is_admin:
        raise NotFound(f"no audit chain {chain}")
    return chain


def _before(cursor: str | None) -> int | None:
    key = decode_cursor(cursor)
    if key is None:
        return None
    if len(key) != 1 or not isinstance(key[0], int) or isinstance(key[0], bool):
        raise InvalidInput("cursor is not one this API returned", "cursor")
    return key[0]


@router.get("", response_model=Page[AuditEntryOut], summary="The caller's audit entries, newest first")
async def get_audit(
    request: Request, principal: CurrentPrincipal, limit: Limit = 50, cursor: Cursor = None,
    entity_id: Annotated[str | None, Query(max_length=200, description="Only entries about this id.")] = None,
    action: Annotated[str | None, Query(max_length=100, description="Only this action, e.g. "
                                                                    "risk.limits_set.")] = None,
    chain: Annotated[str | None, Query(max_length=100, description="Admins: any chain (global, signals, "
                                                                   "user:<id>); users: their own.")] = None,
) -> Page[AuditEntryOut]:
    """Entries of the caller's chain (an admin's: any chain), optionally about one entity or action."""
    found = await entries(engine_of(request), _chain(principal, chain), entity_id=entity_id, action=action,
                          before_seq=_before(cursor), limit=limit + 1)
    items = found[:limit]
    next_cursor = encode_cursor([items[-1].seq]) if len(found) > limit else None
    return Page[AuditEntryOut](items=[entry_out(e) for e in items], next_cursor=next_cursor)


@router.get("/verify", response_model=VerifyOut, summary="Verify the caller's audit chain (admins: all)")
async def get_verify(request: Request, principal: CurrentPrincipal) -> VerifyOut:
    """Check every hash of the caller's chain against its head; an admin's call checks every chain."""
    engine = engine_of(request)
    if principal.is_admin:
        report = await verify_ledger(engine)
        chains = [ChainOut(chain=c.chain, entries=c.entries, ok=c.problem is None,
                           problem=None if c.problem is None else str(c.problem)) for c in report.chains]
        return VerifyOut(ok=report.ok, chains=chains)
    check = await verify_chain(engine, own_chain(principal))
    return VerifyOut(ok=check.ok, chains=[ChainOut(chain=check.chain, entries=check.entries, ok=check.ok,
                                                   problem=check.problem)])
