"""Rows the order tests need: a user, a broker account, an order intent; and invariant checks."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.audit import verify_ledger
from boltztrader.db import orders as repo
from boltztrader.db.tables import audit_ledger, broker_accounts, order_events, users
from boltztrader.domain.ids import client_order_id, new_id

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
_seq = itertools.count(1)


async def seed_account(conn: AsyncConnection, *, broker: str = "binance", user_id: str | None = None,
                       account_id: str | None = None) -> tuple[str, str]:
    """Insert a user and one paper account of ``broker``; return (user id, account id)."""
    user_id = user_id or new_id()
    account_id = account_id or new_id()
    await conn.execute(insert(users).values(id=user_id, email=f"{user_id}@example.com", display_name="T",
                                            role="user", created_at=NOW))
    region = {"binance": "crypto", "alpaca": "us", "zerodha": "india"}[broker]
    await conn.execute(insert(broker_accounts).values(
        id=account_id, user_id=user_id, broker=broker, label="main", mode="paper", region=region,
        api_key="k", execution_mode="automated", trading_state="active", settings={}, created_at=NOW,
        updated_at=NOW))
    return user_id, account_id


def intent(user_id: str, account_id: str, *, broker: str = "binance", symbol: str = "BTCUSDT",
           market: str = "crypto", quantity: Decimal = Decimal("0.001"), order_type: str = "market",
           price: Decimal | None = None, time_in_force: str = "gtc", product: str | None = None,
           signal_id: str | None = None) -> repo.OrderIntent:
    """An order intent with a fresh signal id (so a fresh deterministic client order id)."""
    signal_id = signal_id or f"sig-{next(_seq)}-{new_id()[:8]}"
    return repo.OrderIntent(
        id=new_id(), user_id=user_id, account_id=account_id,
        client_order_id=client_order_id(signal_id, account_id), broker=broker, symbol=symbol, market=market,
        side="buy", order_type=order_type, time_in_force=time_in_force, quantity=quantity, mode="paper",
        price=price, product=product)


async def audit_actions(engine: AsyncEngine, order_id: str) -> list[str]:
    """The audit actions recorded for one order, in ledger order."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(audit_ledger.c.action).where(
            audit_ledger.c.entity == "order", audit_ledger.c.entity_id == order_id).order_by(
            audit_ledger.c.chain, audit_ledger.c.seq))
        return [row[0] for row in rows]


async def assert_audited(engine: AsyncEngine, order_id: str) -> None:
    """Every order_events row has its audit entry, and the whole ledger verifies."""
    async with engine.connect() as conn:
        events = (await conn.execute(select(order_events.c.event).where(
            order_events.c.order_id == order_id).order_by(order_events.c.id))).scalars().all()
    actions = await audit_actions(engine, order_id)
    # Only the order's own state changes pair with order_events rows; reconciliation flags and the
    # risk guard's decision (written by the intake next to the intent) are entries of their own.
    actions = [a for a in actions if a.startswith("order.")]
    assert actions == [f"order.{event}" for event in events], (actions, events)
    report = await verify_ledger(engine)
    assert report.ok, report.first_failure()
