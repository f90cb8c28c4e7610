"""Signals as received: written durably before they are acknowledged, idempotent on their id."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from boltztrader.db.tables import signals
from boltztrader.domain.signals import Signal
from boltztrader.errors import SignalConflict


class Recorded(StrEnum):
    NEW = "new"  # first time this id is seen: go on and route it
    REPLAY = "replay"  # the same id with the same content: answer as before, send nothing new


async def record_signal(conn: AsyncConnection, signal: Signal, *, received_at: datetime,
                        source: str) -> Recorded:
    """Insert the signal in the caller's transaction; a replay is recognised by its fingerprint.

    Raises SignalConflict when the id is known with different content.
    """
    fingerprint = signal.content_fingerprint()
    values = {
        "id": signal.id, "model_id": signal.model_id, "symbol": signal.symbol, "market": str(signal.market),
        "side": str(signal.side), "quantity": signal.quantity, "notional": signal.notional,
        "limit_price": signal.limit_price, "confidence": signal.confidence, "created_at": signal.created_at,
        "received_at": received_at, "broker_hint": None if signal.broker is None else str(signal.broker),
        "account_id_hint": signal.account_id, "user_id_hint": signal.user_id,
        "region_hint": None if signal.region is None else str(signal.region), "fingerprint": fingerprint,
        "source": source,
    }
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    result = await conn.execute(insert(signals).values(values).on_conflict_do_nothing(index_elements=["id"]))
    if result.rowcount == 1:
        return Recorded.NEW
    known = (await conn.execute(select(signals.c.fingerprint).where(signals.c.id == signal.id))).scalar_one()
    if known != fingerprint:
        raise SignalConflict(f"signal {signal.id} was already received with different content")
    return Recorded.REPLAY
