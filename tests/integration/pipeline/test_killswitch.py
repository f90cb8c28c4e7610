"""The kill switch end to end: halting cancels at the paper broker and in our rows, and blocks new signals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from boltztrader.audit import verify_ledger
from boltztrader.db import orders as repo
from boltztrader.db.tables import trading_states
from boltztrader.domain.clock import SystemClock
from boltztrader.domain.enums import TradingState
from boltztrader.domain.ids import new_id
from boltztrader.domain.order_states import OrderStatus
from boltztrader.orders.killswitch import GLOBAL_ID, KillSwitch, Scope

from ...contract.harness import price_of
from .conftest import World, audit_actions, row, signal

HALTED = TradingState.HALTED
S = OrderStatus


def switch(world: World) -> KillSwitch:
    return KillSwitch(world.engine, world.brokers, SystemClock())


def price(world: World, factor: str) -> str:
    return str((price_of(world.paper, "BTCUSDT") * Decimal(factor)).quantize(Decimal("0.01")))


async def intent(world: World, sig: str, account: str, **overrides: Any) -> str:
    """One intent through the intake (not yet sent)."""
    result = await world.intake.process_signal(signal(id=sig, account_id=account, **overrides))
    (outcome,) = result.outcomes
    assert outcome.status in (S.PENDING_SUBMIT, S.PENDING_APPROVAL), outcome
    return outcome.order_id


async def resting(world: World, sig: str, account: str, **overrides: Any) -> str:
    """A limit buy 2 % under the market, sent and resting at the paper broker."""
    order_id = await intent(world, sig, account, limit_price=price(world, "0.98"), **overrides)
    assert (await world.manager.submit(order_id)).status is S.OPEN
    return order_id


async def new_signal_status(world: World, sig: str, account: str) -> tuple[OrderStatus, tuple[str, ...]]:
    result = await world.intake.process_signal(signal(id=sig, account_id=account, quantity="0.001"))
    (outcome,) = result.outcomes
    return outcome.status, outcome.reasons


async def test_halting_an_account_cancels_its_orders_withdraws_intents_and_blocks_it(world: World) -> None:
    """HALTED on alice's account: her resting order is cancelled at the broker and here, her unsent intent
    withdrawn, a new signal denied TRADING_HALTED; bob is untouched; release lets a new signal pass."""
    working = await resting(world, "sig-1", "acct-alice")
    unsent = await intent(world, "sig-2", "acct-alice", quantity="0.02")
    bobs = await resting(world, "sig-3", "acct-bob")
    kill = switch(world)

    report = await kill.engage(Scope.ACCOUNT, "acct-alice", HALTED, actor="ops", reason="runaway model")

    assert report.cancelled == (working,)
    assert report.withdrawn == (unsent,)
    cancelled = await row(world, working)
    assert cancelled.status is S.CANCELLED
    assert world.paper_states("acct-alice", cancelled.client_order_id) == ["CANCELLED"]
    withdrawn = await row(world, unsent)
    assert withdrawn.status is S.CANCELLED
    assert withdrawn.reject_reason == "kill switch"
    assert world.broker_orders_at_paper("acct-alice", withdrawn.client_order_id) == 0
    assert (await row(world, bobs)).status is S.OPEN
    assert world.paper_states("acct-bob", (await row(world, bobs)).client_order_id) == ["OPEN"]
    assert await kill.effective("alice", "acct-alice") is HALTED
    assert await kill.effective("bob", "acct-bob") is TradingState.ACTIVE
    status, reasons = await new_signal_status(world, "sig-4", "acct-alice")
    assert status is S.DENIED
    assert "TRADING_HALTED" in reasons
    engaged = (await audit_actions(world, "account:acct-alice"))["killswitch.engaged"]
    assert engaged["chain"] == "user:alice"
    assert engaged["reason"] == "runaway model"
    assert (await verify_ledger(world.engine)).ok

    await kill.release(Scope.ACCOUNT, "acct-alice", actor="ops")

    assert await kill.effective("alice", "acct-alice") is TradingState.ACTIVE
    assert (await new_signal_status(world, "sig-5", "acct-alice"))[0] is S.PENDING_SUBMIT
    assert (await audit_actions(world, "account:acct-alice"))["killswitch.released"]["actor"] == "ops"
    assert (await verify_ledger(world.engine)).ok


async def test_a_global_halt_reaches_every_account_and_every_kind_of_order(world: World) -> None:
    """Global HALTED: a resting order (alice), an unsent intent (bob) and an approval (carol) all end, every
    account's new signal is denied TRADING_HALTED, and the entry is on the global chain."""
    working = await resting(world, "sig-1", "acct-alice")
    unsent = await intent(world, "sig-2", "acct-bob")
    waiting = await intent(world, "sig-3", "acct-carol")
    kill = switch(world)

    report = await kill.engage(Scope.GLOBAL, "", HALTED, actor="admin", reason="exchange incident")

    assert report.scope_id == GLOBAL_ID
    assert report.cancelled == (working,)
    assert set(report.withdrawn) == {unsent, waiting}
    assert (await row(world, working)).status is S.CANCELLED
    assert world.paper_states("acct-alice", (await row(world, working)).client_order_id) == ["CANCELLED"]
    assert (await row(world, unsent)).status is S.CANCELLED
    declined = await row(world, waiting)
    assert declined.status is S.DECLINED
    assert declined.reject_reason == "kill switch"
    accounts = (("alice", "acct-alice"), ("bob", "acct-bob"), ("carol", "acct-carol"))
    for n, (user, account) in enumerate(accounts):
        assert await kill.effective(user, account) is HALTED
        status, reasons = await new_signal_status(world, f"sig-halted-{n}", account)
        assert status is S.DENIED
        assert "TRADING_HALTED" in reasons
    assert (await audit_actions(world, f"global:{GLOBAL_ID}"))["killswitch.engaged"]["chain"] == "global"
    assert (await verify_ledger(world.engine)).ok

    await kill.release(Scope.GLOBAL, GLOBAL_ID, actor="admin")

    assert (await new_signal_status(world, "sig-after", "acct-bob"))[0] is S.PENDING_SUBMIT
    assert (await verify_ledger(world.engine)).ok


async def test_a_user_halt_is_stricter_than_an_active_account(world: World) -> None:
    """HALTED for the user bob governs his account even though the account level says ACTIVE."""
    kill = switch(world)
    await kill.engage(Scope.ACCOUNT, "acct-bob", TradingState.ACTIVE, actor="ops", reason="all clear")
    await kill.engage(Scope.USER, "bob", HALTED, actor="ops", reason="margin call")
    assert await kill.effective("bob", "acct-bob") is HALTED
    assert (await new_signal_status(world, "sig-1", "acct-bob"))[0] is S.DENIED
    assert (await new_signal_status(world, "sig-2", "acct-alice"))[0] is S.PENDING_SUBMIT
    assert (await audit_actions(world, "user:bob"))["killswitch.engaged"]["chain"] == "user:bob"
    assert (await verify_ledger(world.engine)).ok


async def test_reducing_cancels_only_the_orders_that_would_grow_a_position(world: World) -> None:
    """REDUCING on alice, who holds 0.01 BTC: her resting buy is cancelled, her resting exit works on."""
    bought = await intent(world, "sig-1", "acct-alice")
    assert (await world.manager.submit(bought)).status is S.FILLED
    buy = await resting(world, "sig-2", "acct-alice", quantity="0.02")
    sell = new_id()
    async with world.engine.begin() as conn:  # an exit, written as an operator's order would be
        await repo.insert_intent(conn, repo.OrderIntent(
            id=sell, user_id="alice", account_id="acct-alice", client_order_id="exit-1", broker="binance",
            symbol="BTCUSDT", market="crypto", side="sell", order_type="limit", time_in_force="gtc",
            quantity=Decimal("0.005"), mode="paper", price=Decimal(price(world, "1.02"))), actor="ops")
    assert (await world.manager.submit(sell)).status is S.OPEN

    report = await switch(world).engage(Scope.ACCOUNT, "acct-alice", TradingState.REDUCING, actor="ops",
                                        reason="daily loss")

    assert report.cancelled == (buy,)
    assert (await row(world, buy)).status is S.CANCELLED
    assert (await row(world, sell)).status is S.OPEN
    assert world.paper_states("acct-alice", "exit-1") == ["OPEN"]
    status, reasons = await new_signal_status(world, "sig-3", "acct-alice")  # a buy grows: denied
    assert status is S.DENIED
    assert "TRADING_HALTED" in reasons
    assert (await verify_ledger(world.engine)).ok


async def test_an_intent_planned_before_a_halt_is_withdrawn_at_submission(world: World) -> None:
    """A halt that commits between intake and submission wins: the intent is cancelled, nothing is sent."""
    pending = await intent(world, "sig-race", "acct-alice")
    async with world.engine.begin() as conn:  # the switch row alone, as if another process just wrote it
        await conn.execute(insert(trading_states).values(scope="user", scope_id="alice", state="halted",
                                                         reason="test", updated_at=SystemClock().now(),
                                                         updated_by="ops"))
    record = await world.manager.submit(pending)
    assert record.status is S.CANCELLED
    assert record.reject_reason == "kill switch: trading halted"
    assert record.broker_order_id is None
    assert world.broker_orders_at_paper("acct-alice", record.client_order_id) == 0
