"""Signals are idempotent on their id; routing reads linked accounts, subscriptions and kill switches."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from boltztrader.db.accounts import account_refs, subscriptions, trading_state_rows
from boltztrader.db.signals import Recorded, record_signal
from boltztrader.db.tables import broker_accounts, model_subscriptions, signals, trading_states, users
from boltztrader.domain.enums import Broker, TradingState
from boltztrader.domain.signals import Signal
from boltztrader.domain.targets import Sizing
from boltztrader.errors import SignalConflict

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def _signal(quantity: str = "0.01") -> Signal:
    return Signal.create(id="sig-1", model_id="m1", symbol="BTCUSDT", market="crypto", side="buy",
                         confidence="0.9", created_at=NOW, quantity=quantity)


async def _accounts(conn: AsyncConnection) -> None:
    for user in ("alice", "bob"):
        await conn.execute(insert(users).values(id=user, email=f"{user}@example.com", display_name=user,
                                                role="user", created_at=NOW))
    rows = [("a1", "alice", "binance", None), ("a2", "alice", "zerodha", None), ("a3", "bob", "binance", NOW)]
    for account_id, user, broker, unlinked in rows:
        await conn.execute(insert(broker_accounts).values(
            id=account_id, user_id=user, broker=broker, label="main", mode="paper", region="crypto",
            api_key="k", execution_mode="automated", trading_state="active", settings={}, created_at=NOW,
            updated_at=NOW, unlinked_at=unlinked))


async def test_a_signal_is_new_once_then_a_replay(engine: AsyncEngine) -> None:
    """The first write of a signal id is new; the same content again is a replay and writes nothing."""
    async with engine.begin() as conn:
        assert await record_signal(conn, _signal(), received_at=NOW, source="api") is Recorded.NEW
    async with engine.begin() as conn:
        assert await record_signal(conn, _signal(), received_at=NOW, source="cli") is Recorded.REPLAY
        assert (await conn.execute(select(func.count()).select_from(signals))).scalar_one() == 1


async def test_same_id_with_other_content_is_a_conflict(engine: AsyncEngine) -> None:
    """A signal id reused with a different quantity raises SignalConflict and leaves the first intact."""
    async with engine.begin() as conn:
        await record_signal(conn, _signal(), received_at=NOW, source="api")
    with pytest.raises(SignalConflict):
        async with engine.begin() as conn:
            await record_signal(conn, _signal("0.02"), received_at=NOW, source="api")
    async with engine.connect() as conn:
        stored = (await conn.execute(select(signals.c.quantity))).scalar_one()
    assert stored == Decimal("0.01")


async def test_account_refs_leave_out_unlinked_accounts(engine: AsyncEngine) -> None:
    """Accounts are found by id or by owner, and an unlinked account is never a target."""
    async with engine.begin() as conn:
        await _accounts(conn)
        by_user = await account_refs(conn, user_ids=["alice", "bob"])
        by_id = await account_refs(conn, account_ids=["a3"])
    found = sorted((a.account_id, a.broker) for a in by_user)
    assert found == [("a1", Broker.BINANCE), ("a2", Broker.ZERODHA)]
    assert by_id == []


async def test_subscriptions_and_trading_states_are_read_per_scope(engine: AsyncEngine) -> None:
    """Active subscriptions of a model are listed; kill-switch rows come back keyed by scope."""
    async with engine.begin() as conn:
        await _accounts(conn)
        await conn.execute(insert(model_subscriptions).values(
            id="s1", user_id="alice", model_id="m1", sizing="fixed_notional", sizing_value=Decimal("250"),
            active=True, created_at=NOW))
        await conn.execute(insert(model_subscriptions).values(
            id="s2", user_id="bob", model_id="m1", sizing="signal", active=False, created_at=NOW))
        for scope, scope_id, state in (("global", "*", "active"), ("user", "alice", "reducing"),
                                       ("account", "a9", "halted")):
            await conn.execute(insert(trading_states).values(scope=scope, scope_id=scope_id, state=state,
                                                             reason="", updated_at=NOW, updated_by="test"))
        subs = await subscriptions(conn, "m1")
        states = await trading_state_rows(conn, user_id="alice", account_id="a1")
    assert [(s.user_id, s.sizing, s.sizing_value) for s in subs] == [
        ("alice", Sizing.FIXED_NOTIONAL, Decimal("250"))]
    assert states == {"global": TradingState.ACTIVE, "user": TradingState.REDUCING}
