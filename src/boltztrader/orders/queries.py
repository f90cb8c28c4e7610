"""Read-only questions the API asks about signals, orders and accounts (each in its own short read)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.db.tables import broker_accounts, broker_orders, signals

__all__ = ["SignalOrder", "owned_account_ids", "signal_orders"]


@dataclass(frozen=True, slots=True)
class SignalOrder:
    """A signal's order at one account, as it stands now."""

    account_id: str
    order_id: str
    user_id: str
    status: str
    reject_reason: str | None


async def owned_account_ids(engine: AsyncEngine, user_id: str) -> set[str]:
    """Every account the user owns (linked or not)."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(broker_accounts.c.id).where(broker_accounts.c.user_id == user_id))
        return {row[0] for row in rows}


async def signal_orders(engine: AsyncEngine, signal_id: str) -> list[SignalOrder] | None:
    """The signal's orders by account; None when no such signal was received."""
    async with engine.connect() as conn:
        known = (await conn.execute(select(signals.c.id).where(signals.c.id == signal_id))).first()
        if known is None:
            return None
        o = broker_orders.c
        rows = await conn.execute(select(o.account_id, o.id, o.user_id, o.status, o.reject_reason)
                                  .where(o.signal_id == signal_id).order_by(o.account_id))
        return [SignalOrder(r.account_id, r.id, r.user_id, r.status, r.reject_reason) for r in rows]
