"""Shared helpers for the ledger's integration tests: appends and raw-SQL tampering."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.db.audit import log_audit, read_entries
from boltztrader.ledger import AuditEntry


def payload(i: int) -> dict[str, object]:
    return {"order_id": f"o-{i}", "symbol": "RELIANCE", "side": "buy", "quantity": Decimal("10"),
            "price": Decimal("2950.05")}


async def append(engine: AsyncEngine, n: int, *, chain: str = "global") -> list[AuditEntry]:
    """Append ``n`` entries to ``chain``, one transaction each."""
    entries = []
    for i in range(n):
        async with engine.begin() as conn:
            entries.append(await log_audit(conn, "order", f"o-{i}", "order.placed", "test", payload(i),
                                           chain=chain))
    return entries


async def all_entries(engine: AsyncEngine, chain: str = "global") -> list[AuditEntry]:
    async with engine.connect() as conn:
        return await read_entries(conn, chain, limit=1_000_000)


async def disable_append_only(conn: AsyncConnection) -> None:
    """Remove the triggers that refuse UPDATE and DELETE, as an attacker with DDL rights would."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("ALTER TABLE audit_ledger DISABLE TRIGGER USER"))
    else:
        await conn.execute(text("DROP TRIGGER audit_ledger_no_update"))
        await conn.execute(text("DROP TRIGGER audit_ledger_no_delete"))


async def tamper(engine: AsyncEngine, *statements: tuple[str, dict[str, object]]) -> None:
    """Run raw SQL against the ledger with its append-only triggers out of the way."""
    async with engine.begin() as conn:
        await disable_append_only(conn)
        for sql, params in statements:
            await conn.execute(text(sql), params)
