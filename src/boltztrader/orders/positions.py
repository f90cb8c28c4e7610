"""Positions: ours (kept from our orders' executions) against the broker's, with drift flagged."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.brokers.base import Broker
from boltztrader.db import positions as positions_repo
from boltztrader.db.audit import log_audit
from boltztrader.domain.clock import Clock


@dataclass(frozen=True, slots=True)
class PositionDrift:
    symbol: str
    ours: Decimal
    broker: Decimal


async def reconcile_positions(engine: AsyncEngine, *, user_id: str, account_id: str, broker: Broker,
                              clock: Clock, actor: str = "reconciler") -> list[PositionDrift]:
    """Compare our positions with the broker's; each difference is flagged in the audit ledger.

    Nothing is corrected automatically: a difference may be a trade made outside BoltzTrader (the
    broker is right) or a report we have not applied yet (the next sweep settles it), and only a
    human can tell which.
    """
    reported = {p.symbol: p.quantity for p in await broker.get_positions()}
    async with engine.begin() as conn:
        ours = {s: h.quantity for s, h in (await positions_repo.holdings(conn, account_id)).items()}
        drifts = [PositionDrift(symbol, ours.get(symbol, Decimal(0)), reported.get(symbol, Decimal(0)))
                  for symbol in sorted(set(ours) | set(reported))
                  if ours.get(symbol, Decimal(0)) != reported.get(symbol, Decimal(0))]
        for drift in drifts:
            await log_audit(conn, "position", f"{account_id}:{drift.symbol}", "reconcile.position_drift",
                            actor, {"ours": drift.ours, "broker": drift.broker}, chain=f"user:{user_id}",
                            now=clock.now())
    return drifts
