"""The tables keep money exact, time in UTC, and the uniqueness that exactly-once depends on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.db.tables import broker_accounts, broker_orders, fills, order_events, signals, users

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


async def _seed_account(conn: AsyncConnection) -> None:
    await conn.execute(insert(users).values(id="u1", email="trader@example.com", display_name="T",
                                            role="user", created_at=NOW))
    await conn.execute(insert(broker_accounts).values(
        id="a1", user_id="u1", broker="binance", label="main", mode="paper", region="crypto", api_key="k",
        api_secret_ciphertext=b"\x00ciphertext", execution_mode="automated", trading_state="active",
        settings={"leverage": 2}, created_at=NOW, updated_at=NOW))


def _order(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict(
        id="o1", user_id="u1", account_id="a1", client_order_id="bzabc", broker="binance", symbol="BTCUSDT",
        market="crypto", side="buy", order_type="limit", time_in_force="gtc", quantity=Decimal("0.00012345"),
        price=Decimal("64250.10"), status="pending_submit", filled_quantity=Decimal("0"), mode="paper",
        version=1, created_at=NOW, updated_at=NOW,
    )
    row.update(overrides)
    return row


@pytest.mark.parametrize("value", ["0.00000001", "123456789012345678.123456789012", "64250.10", "-0.5"])
async def test_decimals_round_trip_exactly(engine: AsyncEngine, value: str) -> None:
    """A Decimal written to a money column is read back equal, with the same digits, on both engines."""
    async with engine.begin() as conn:
        await _seed_account(conn)
        await conn.execute(insert(broker_orders).values(_order(price=Decimal(value))))
        stored = (await conn.execute(select(broker_orders.c.price))).scalar_one()
    assert isinstance(stored, Decimal)
    assert stored == Decimal(value)
    assert stored.as_tuple() == Decimal(value).as_tuple()


async def test_floats_are_refused_for_money(engine: AsyncEngine) -> None:
    """Writing a float into a money column fails instead of storing a binary approximation."""
    async with engine.begin() as conn:
        await _seed_account(conn)
        with pytest.raises(Exception, match="Decimal, never float"):
            await conn.execute(insert(broker_orders).values(_order(price=0.1)))


async def test_datetimes_come_back_aware_in_utc(engine: AsyncEngine) -> None:
    """A time written with any offset is read back as the same instant, in UTC."""
    ist = timezone(timedelta(hours=5, minutes=30))
    async with engine.begin() as conn:
        await _seed_account(conn)
        local = datetime(2026, 11, 26, 15, 0, tzinfo=ist)
        await conn.execute(insert(broker_orders).values(_order(created_at=local)))
        stored = (await conn.execute(select(broker_orders.c.created_at))).scalar_one()
    assert stored.tzinfo is not None
    assert stored == datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


async def test_client_order_id_is_unique(engine: AsyncEngine) -> None:
    """A second order row with the same client order id is refused by the database itself."""
    async with engine.begin() as conn:
        await _seed_account(conn)
        await conn.execute(insert(broker_orders).values(_order()))
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(broker_orders).values(_order(id="o2")))


async def test_a_fill_is_recorded_once_per_broker_trade_id(engine: AsyncEngine) -> None:
    """Two fills with the same account and broker trade id cannot both be stored."""
    fill = dict(order_id="o1", account_id="a1", broker_trade_id="T-1", symbol="BTCUSDT", side="buy",
                quantity=Decimal("0.0001"), price=Decimal("64250.1"), executed_at=NOW, recorded_at=NOW)
    async with engine.begin() as conn:
        await _seed_account(conn)
        await conn.execute(insert(broker_orders).values(_order()))
        await conn.execute(insert(fills).values(id="f1", **fill))
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(fills).values(id="f2", **fill))


async def test_unknown_order_status_is_refused(engine: AsyncEngine) -> None:
    """The status column accepts only the state machine's statuses."""
    async with engine.begin() as conn:
        await _seed_account(conn)
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(broker_orders).values(_order(status="done")))


async def test_a_signal_needs_exactly_one_of_quantity_and_notional(engine: AsyncEngine) -> None:
    """The signals table refuses a row with both quantity and notional set."""
    row = dict(id="s1", model_id="m1", symbol="INFY", market="nse", side="buy", quantity=Decimal("1"),
               notional=Decimal("1000"), confidence=Decimal("0.8"), created_at=NOW, received_at=NOW,
               fingerprint="0" * 64, source="api")
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(signals).values(row))


async def test_order_events_keep_their_order_and_json_detail(engine: AsyncEngine) -> None:
    """Order events read back in insertion order with their JSON detail intact."""
    async with engine.begin() as conn:
        await _seed_account(conn)
        await conn.execute(insert(broker_orders).values(_order()))
        for i, (old, new) in enumerate([(None, "pending_submit"), ("pending_submit", "submitting")]):
            await conn.execute(insert(order_events).values(
                order_id="o1", event=f"e{i}", from_status=old, to_status=new, detail={"n": i}, actor="system",
                created_at=NOW))
        rows = (await conn.execute(select(order_events).order_by(order_events.c.id))).all()
    assert [(r.to_status, r.detail) for r in rows] == [("pending_submit", {"n": 0}), ("submitting", {"n": 1})]
