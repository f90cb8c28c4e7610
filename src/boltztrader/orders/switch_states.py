"""What the kill switch says for one user: the level set at each scope, and what governs each account.

The levels are those ``KillSwitch.engage`` writes; a scope with none set is ``active``. An
account's effective level is the strictest of the global one, its user's and its own, exactly as
the intake judges it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db.tables import broker_accounts, trading_states
from boltztrader.domain.enums import TradingState
from boltztrader.risk import most_restrictive

__all__ = ["SwitchStates", "switch_states"]

_STATES = trading_states.c


@dataclass(frozen=True, slots=True)
class SwitchStates:
    global_state: TradingState
    user: TradingState
    accounts: dict[str, TradingState]  # the level set on each of the user's linked accounts
    effective: dict[str, TradingState]  # the level that governs each of them


async def switch_states(engine: AsyncEngine, user_id: str) -> SwitchStates:
    """The user's levels at every scope, and each of their linked accounts' effective level."""
    accounts = broker_accounts.c
    async with engine.connect() as conn:
        ids = [row[0] for row in await conn.execute(select(accounts.id).where(
            accounts.user_id == user_id, accounts.unlinked_at.is_(None)).order_by(accounts.id))]
        rows = await conn.execute(select(_STATES.scope, _STATES.scope_id, _STATES.state).where(or_(
            _STATES.scope == "global",
            and_(_STATES.scope == "user", _STATES.scope_id == user_id),
            and_(_STATES.scope == "account", _STATES.scope_id.in_(ids)),
        )))
        found = {(row.scope, row.scope_id if row.scope != "global" else ""): TradingState(row.state)
                 for row in rows}
        await conn.rollback()
    active = TradingState.ACTIVE
    global_state = found.get(("global", ""), active)
    user = found.get(("user", user_id), active)
    own = {account_id: found.get(("account", account_id), active) for account_id in ids}
    effective = {account_id: most_restrictive(global_state, user, state) for account_id, state in own.items()}
    return SwitchStates(global_state, user, own, effective)
