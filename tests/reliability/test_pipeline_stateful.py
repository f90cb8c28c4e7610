"""The whole order pipeline as a hypothesis state machine against the paper Binance, with faults.

Steps mix new signals (market and resting limit buys), the same signal again (replayed) or reused
with other content (``SignalConflict``), submits, lost answers to the next send (the paper broker's
``hold_after`` / ``drop_after`` / ``error_after``, plus ``error_before`` and 429s), submits that
"crash" at a named point of the submit path (the manager's ``on_step`` seam raises), stream faults
(duplicates, reordering, disconnects), stream events applied through the Ingestor in an order
hypothesis chooses (some held back, some twice), price moves that fill resting orders, restarts (a
fresh adapter, Intake, OrderManager, Reconciler and Ingestor over the same database, running
``Reconciler.startup``) and "settle" (faults cleared, start-up run, every event applied).

After every step: at most one broker order per intent and none without its intent; each fill
stored once and never more filled than the broker filled; filled quantity never decreases; every
order event has its audit entry. After each settle (and at the end of every example): nothing in
``pending_submit`` / ``submitting`` / ``unknown``, every row agrees with the broker (status, filled
quantity, broker order id), and the audit ledger verifies.

Semi-manual approvals join it: signals whose intent waits in ``pending_approval``, approvals (every
check again, then one send), declines, and the approval TTL passing (every waiting intent
declined, none sent).

Kill switches (HALTED or REDUCING, on the account or its user, and releases) join the mix: right
after HALTED nothing of the account is left unsent or working at the broker (but what was caught
mid-send), and while it holds every new signal is denied.

The machine runs in a worker thread with its own event loop (hypothesis drives it synchronously),
on one database per engine (a fresh paper account and database account per example): 25 examples
of 20 steps on SQLite, 6 on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from boltztrader.audit import verify_ledger
from boltztrader.brokers.base import Broker
from boltztrader.brokers.binance import BinanceBroker
from boltztrader.brokers.transport import Timeouts
from boltztrader.db import orders as repo
from boltztrader.db.engine import create_engine
from boltztrader.db.tables import audit_ledger, broker_accounts, broker_orders, fills, order_events
from boltztrader.domain.clock import SystemClock
from boltztrader.domain.enums import Broker as BrokerName
from boltztrader.domain.enums import TradingState
from boltztrader.domain.order_states import OrderStatus
from boltztrader.domain.reports import BrokerEvent
from boltztrader.domain.targets import AccountRef
from boltztrader.errors import InvalidTransition, SignalConflict
from boltztrader.orders.approvals import Approvals
from boltztrader.orders.ingest import Ingestor
from boltztrader.orders.intake import Intake
from boltztrader.orders.killswitch import KillSwitch, Scope
from boltztrader.orders.manager import STEP_POINTS, OrderManager
from boltztrader.orders.reconcile import Reconciler
from boltztrader.orders.resolve import Resolver
from boltztrader.paper.binance import SPEC
from boltztrader.paper.engine import EngineConfig
from boltztrader.paper.venue import VenueConfig
from boltztrader.risk import most_restrictive
from boltztrader.router import Router

from ..contract.harness import admin, set_faults, set_price
from ..contract.harness_binance import config_for
from ..integration.orders.helpers import seed_account
from ..paper.conftest import RunningPaper
from .conftest import FAST_RESOLVE, FAST_SUBMIT, READ_TIMEOUT

S = OrderStatus
T = TypeVar("T")
SYMBOL = "BTCUSDT"
START_PRICE = Decimal("60000")
TICK = Decimal("0.01")
UNSETTLED = {S.PENDING_SUBMIT, S.SUBMITTING, S.UNKNOWN}
# The only statuses a row without a broker order may end in (cancelled: withdrawn by a kill switch).
NEVER_SENT = {S.DENIED, S.REJECTED, S.CANCELLED, S.DECLINED}
WAITING = {S.PENDING_APPROVAL}  # a semi-manual intent: nothing sent until a human approves
# Audit entries of a human's decision, beside the order_events-backed ones (order.approve, ...).
DECISIONS = {"order.approved", "order.declined", "order.approval_denied"}
LOST_ANSWERS: dict[str, dict[str, Any]] = {
    "hold_after": {"hold_ms": int(READ_TIMEOUT * 1000 * 2.5)},
    "drop_after": {},
    "error_after": {"status": 500},
    "error_before": {"status": 503},
    "rate_limit": {"retry_after_s": 0},
}
# Examples per engine: most on SQLite (fastest); a few on PostgreSQL for its transaction semantics.
EXAMPLES = {"sqlite": 25, "postgresql": 6}
STEPS = 20
_examples = itertools.count(1)


class SimulatedCrash(Exception):
    """Raised by the manager's ``on_step`` hook: the submit stops dead at that point, as if killed."""


class Pipeline(RuleBasedStateMachine):
    """One account at the paper Binance driven through intake, submit, stream and restarts."""

    signals = Bundle("signals")

    def __init__(self, loop: asyncio.AbstractEventLoop, engine: AsyncEngine, paper: RunningPaper) -> None:
        super().__init__()
        self.loop, self.engine, self.paper = loop, engine, paper
        self.example = next(_examples)
        self.counter = itertools.count(1)
        self.bodies: dict[str, dict[str, Any]] = {}  # signal id -> the body sent
        self.order_of: dict[str, str] = {}  # signal id -> order id
        self.max_filled: dict[str, Decimal] = {}  # order id -> the highest filled quantity seen
        self.pending: list[BrokerEvent] = []  # stream events read, not applied yet
        self.crash_at: str | None = None
        self.fault_rules: list[dict[str, Any]] = []
        self.stream: dict[str, Any] = {}
        self.levels: dict[Scope, TradingState] = {}  # kill switches engaged on this account or its user
        set_faults(paper, {})
        set_price(paper, SYMBOL, START_PRICE)
        self.paper_account = admin(paper, "POST", "/_paper/accounts", json={})
        self.account_id = self.user_id = ""
        self.run(self._seed())
        self.collector: asyncio.Task[None] | None = None
        self._boot()

    # -- plumbing ---------------------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    async def _seed(self) -> None:
        async with self.engine.begin() as conn:
            self.user_id, self.account_id = await seed_account(conn, broker="binance")

    def _boot(self) -> None:
        """A fresh process: adapter, intake, manager, reconciler, ingestor, and the stream reader."""
        self.broker = BinanceBroker(config_for(
            self.paper, self.paper_account["api_key"], self.paper_account["api_secret"],
            timeouts=Timeouts(connect=2, read=READ_TIMEOUT)))
        clock = SystemClock()
        brokers: dict[str, Broker] = {self.account_id: self.broker}

        def broker_for(account: AccountRef) -> Broker:
            return brokers[account.account_id]

        self.intake = Intake(self.engine, Router(BrokerName.BINANCE), broker_for, clock)
        self.manager = OrderManager(self.engine, brokers, clock, policy=FAST_SUBMIT, on_step=self._on_step,
                                    resolver=Resolver(self.engine, brokers, clock, policy=FAST_RESOLVE))
        self.reconciler = Reconciler(self.engine, brokers, clock, self.manager)
        self.killswitch = KillSwitch(self.engine, brokers, clock)
        self.approvals = Approvals(self.engine, self.intake, self.manager, clock)
        self.ingestor = Ingestor(self.engine, self.account_id, self.broker, clock,
                                 on_gap=self.reconciler.sweep)
        self.pending = []
        self.collector = self.loop.create_task(self._collect())

    async def _collect(self) -> None:
        async for event in self.broker.events():
            self.pending.append(event)

    async def _shutdown(self) -> None:
        if self.collector is not None:
            self.collector.cancel()
            await asyncio.gather(self.collector, return_exceptions=True)
            self.collector = None
        await self.broker.close()

    def _on_step(self, point: str, order_id: str) -> None:
        if point == self.crash_at:
            self.crash_at = None
            raise SimulatedCrash(f"{point} {order_id}")

    def _push_faults(self) -> None:
        set_faults(self.paper, {"seed": self.example, "rules": self.fault_rules, "stream": self.stream})

    async def _drain(self, pause: float = 0.05) -> list[BrokerEvent]:
        await asyncio.sleep(pause)  # let the stream reader take what the stream has sent
        events, self.pending = self.pending, []
        return events

    def _paper_orders(self) -> list[Any]:
        venue, account = self.paper.venue, self.paper_account["account_id"]
        found = self.paper.call(lambda: list(venue.engine.orders(account)))
        assert isinstance(found, list)
        return found

    async def _rows(self) -> list[repo.OrderRecord]:
        async with self.engine.connect() as conn:
            ids = (await conn.execute(select(broker_orders.c.id).where(
                broker_orders.c.account_id == self.account_id))).scalars().all()
            return [await repo.get(conn, order_id) for order_id in ids]

    async def _order_count(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(broker_orders).where(
                broker_orders.c.account_id == self.account_id))).scalar_one())

    # -- rules --------------------------------------------------------------------------------------

    @initialize(target=signals)
    def first_signal(self) -> str:
        return self._signal("market")

    @rule(target=signals, kind=st.sampled_from(["market", "market", "limit"]))
    def new_signal(self, kind: str) -> str:
        return self._signal(kind)

    @rule(target=signals, kind=st.sampled_from(["market", "market", "limit"]))
    def new_signal_submitted(self, kind: str) -> str:
        """The usual path: a signal, then its submit."""
        signal_id = self._signal(kind)
        self.run(self.manager.submit(self.order_of[signal_id]))
        return signal_id

    @rule(target=signals, kind=st.sampled_from(["market", "limit"]))
    def new_signal_for_approval(self, kind: str) -> str:
        """The account is semi-manual for this signal: its intent waits in pending_approval."""
        return self._signal(kind, semi_manual=True)

    @rule(signal_id=signals)
    def approve(self, signal_id: str) -> None:
        """A human approves: every check runs again with a fresh price, then the order is sent once."""
        order_id = self.order_of[signal_id]
        if self.run(self._row(order_id)).status is not S.PENDING_APPROVAL:
            with pytest.raises(InvalidTransition):
                self.run(self.approvals.approve(order_id, actor="user:test"))
            return
        record = self.run(self.approvals.approve(order_id, actor="user:test"))
        assert record.status is not S.PENDING_APPROVAL, record
        if self._level() is TradingState.HALTED:
            assert record.status in NEVER_SENT, record

    @rule(signal_id=signals)
    def decline(self, signal_id: str) -> None:
        order_id = self.order_of[signal_id]
        waiting = self.run(self._row(order_id)).status is S.PENDING_APPROVAL
        try:
            record = self.run(self.approvals.decline(order_id, actor="user:test", reason="no"))
        except InvalidTransition:
            assert not waiting
            return
        assert record.status is S.DECLINED

    @rule()
    def approvals_expire(self) -> None:
        """Past the approval TTL every waiting intent is declined, and none is sent."""
        self.run(self.approvals.expire(datetime.now(UTC) + timedelta(hours=1)))
        assert all(r.status is not S.PENDING_APPROVAL for r in self.run(self._rows()))

    async def _row(self, order_id: str) -> repo.OrderRecord:
        async with self.engine.connect() as conn:
            return await repo.get(conn, order_id)

    async def _set_mode(self, mode: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(broker_accounts).where(broker_accounts.c.id == self.account_id)
                               .values(execution_mode=mode))

    def _signal(self, kind: str, *, semi_manual: bool = False) -> str:
        n = next(self.counter)
        signal_id = f"sig-{self.example}-{n}"
        body: dict[str, Any] = {
            "id": signal_id, "model_id": f"model-{n}", "symbol": SYMBOL, "market": "crypto", "side": "buy",
            # distinct sizes, so that the risk guard's look-alike rule does not deny them
            "quantity": str(Decimal("0.001") + n * Decimal("0.00001")), "confidence": "0.9",
            "created_at": datetime.now(UTC).isoformat(), "account_id": self.account_id}
        if kind == "limit":
            price = Decimal(admin(self.paper, "GET", "/_paper/prices")["prices"][SYMBOL])
            body["limit_price"] = str((price * Decimal("0.99") / TICK).to_integral_value() * TICK)
        if semi_manual:
            self.run(self._set_mode("semi_manual"))
        try:
            result = self.run(self.intake.process_signal(body))
        finally:
            if semi_manual:
                self.run(self._set_mode("automated"))
        assert not result.replay
        (outcome,) = result.outcomes
        waiting = S.PENDING_APPROVAL if semi_manual else S.PENDING_SUBMIT
        assert outcome.status in (waiting, S.DENIED), outcome
        if self._level() is TradingState.HALTED:
            assert outcome.status is S.DENIED, outcome
            assert "TRADING_HALTED" in outcome.reasons, outcome
        self.bodies[signal_id] = body
        self.order_of[signal_id] = outcome.order_id
        return signal_id

    @rule(signal_id=signals)
    def same_signal_again(self, signal_id: str) -> None:
        before = self.run(self._order_count())
        result = self.run(self.intake.process_signal(self.bodies[signal_id]))
        assert result.replay
        assert [o.order_id for o in result.outcomes] == [self.order_of[signal_id]]
        assert self.run(self._order_count()) == before

    @rule(signal_id=signals)
    def same_id_other_content(self, signal_id: str) -> None:
        before = self.run(self._order_count())
        body = {**self.bodies[signal_id], "quantity": "0.00777"}
        with pytest.raises(SignalConflict):
            self.run(self.intake.process_signal(body))
        assert self.run(self._order_count()) == before

    @rule(signal_id=signals)
    def submit(self, signal_id: str) -> None:
        self.run(self.manager.submit(self.order_of[signal_id]))

    @rule(signal_id=signals, point=st.sampled_from(STEP_POINTS))
    def submit_and_crash(self, signal_id: str, point: str) -> None:
        """The submit stops dead at ``point`` (when it gets there: a settled intent is not sent)."""
        self.crash_at = point
        try:
            self.run(self.manager.submit(self.order_of[signal_id]))
        except SimulatedCrash:
            pass
        finally:
            self.crash_at = None

    @rule(action=st.sampled_from(sorted(LOST_ANSWERS)))
    def fail_next_send(self, action: str) -> None:
        self.fault_rules = [{"op": "place_order", "action": action, "count": 1, **LOST_ANSWERS[action]}]
        self._push_faults()

    @rule(duplicate=st.sampled_from(["0", "0.5", "1"]), reorder=st.sampled_from(["0", "0.5"]),
          disconnect_every=st.sampled_from([0, 0, 4]))
    def stream_faults(self, duplicate: str, reorder: str, disconnect_every: int) -> None:
        self.stream = {"duplicate": duplicate, "reorder": reorder, "disconnect_every": disconnect_every}
        self._push_faults()

    @rule(data=st.data())
    def apply_stream_events(self, data: st.DataObject) -> None:
        """Apply what the stream delivered in an order hypothesis picks, some twice, some held back."""
        events = self.run(self._drain())
        if not events:
            return
        indices = list(range(len(events)))
        order = data.draw(st.permutations(indices), label="order")
        held = data.draw(st.sets(st.sampled_from(indices), max_size=len(events) // 2), label="held back")
        again = data.draw(st.lists(st.sampled_from(indices), max_size=3), label="twice")
        for i in [*order, *again]:
            if i not in held:
                self.run(self.ingestor.handle(events[i]))
        self.pending[:0] = [events[i] for i in sorted(held)]  # late: applied by a later step

    @rule(move=st.sampled_from(["-0.02", "-0.005", "0.005"]))
    def move_price(self, move: str) -> None:
        price = Decimal(admin(self.paper, "GET", "/_paper/prices")["prices"][SYMBOL])
        set_price(self.paper, SYMBOL, (price * (1 + Decimal(move)) / TICK).to_integral_value() * TICK)

    @rule(state=st.sampled_from([TradingState.HALTED, TradingState.REDUCING]),
          scope=st.sampled_from([Scope.ACCOUNT, Scope.USER]))
    def kill_switch(self, state: TradingState, scope: Scope) -> None:
        scope_id = self.account_id if scope is Scope.ACCOUNT else self.user_id
        report = self.run(self.killswitch.engage(scope, scope_id, state, actor="test", reason="stateful"))
        self.levels[scope] = state
        if state is TradingState.HALTED:
            for record in self.run(self._rows()):
                if record.id in report.in_flight:
                    continue
                assert record.status not in (S.PENDING_SUBMIT, S.OPEN, S.PARTIALLY_FILLED), record

    @rule(scope=st.sampled_from([Scope.ACCOUNT, Scope.USER]))
    def release_kill_switch(self, scope: Scope) -> None:
        scope_id = self.account_id if scope is Scope.ACCOUNT else self.user_id
        self.run(self.killswitch.release(scope, scope_id, actor="test"))
        self.levels.pop(scope, None)

    def _level(self) -> TradingState:
        return most_restrictive(TradingState.ACTIVE, *self.levels.values())

    @rule()
    def restart(self) -> None:
        """The process dies (held events and all) and starts again: start-up before anything else."""
        self.run(self._shutdown())
        self._boot()
        self.run(self.reconciler.startup(self.account_id))

    @rule()
    def settle(self) -> None:
        self.run(self._settle())

    # -- invariants ---------------------------------------------------------------------------------

    @invariant()
    def always(self) -> None:
        self.run(self._always())

    async def _always(self) -> None:
        rows = await self._rows()
        by_client = {r.client_order_id: r for r in rows}
        at_broker: dict[str, Any] = {}
        for order in self._paper_orders():
            client_id = order.request.client_order_id
            assert client_id not in at_broker, f"two broker orders for intent {client_id}"  # invariant 3
            assert client_id in by_client, f"a broker order without its intent: {client_id}"
            at_broker[client_id] = order
        async with self.engine.connect() as conn:
            stored = (await conn.execute(select(
                fills.c.order_id, fills.c.broker_trade_id, fills.c.quantity).where(
                fills.c.account_id == self.account_id))).all()
            events = (await conn.execute(select(order_events.c.order_id, order_events.c.event).where(
                order_events.c.order_id.in_([r.id for r in rows])).order_by(order_events.c.id))).all()
            ledger = audit_ledger.c
            audited = (await conn.execute(select(ledger.entity_id, ledger.action).where(
                ledger.entity == "order", ledger.entity_id.in_([r.id for r in rows]),
                ledger.action.like("order.%")).order_by(ledger.chain, ledger.seq))).all()
        assert len({t for _, t, _ in stored}) == len(stored)  # invariant 5: each trade stored once
        for record in rows:
            paper = at_broker.get(record.client_order_id)
            broker_filled = Decimal(0) if paper is None else paper.filled_quantity
            fill_total = sum((q for o, _, q in stored if o == record.id), Decimal(0))
            assert fill_total <= record.filled_quantity <= broker_filled <= record.quantity, (
                record.id, fill_total, record.filled_quantity, broker_filled)  # no fill counted twice
            assert record.filled_quantity >= self.max_filled.get(record.id, Decimal(0))  # never decreases
            self.max_filled[record.id] = record.filled_quantity
            if paper is None:  # never sent (yet): nothing filled, and no status the broker must have given
                assert record.filled_quantity == 0, record
                assert record.broker_order_id is None, record
                assert record.status in NEVER_SENT | UNSETTLED | WAITING, record
            mine = [f"order.{e}" for o, e in events if o == record.id]
            logged = [a for o, a in audited if o == record.id and a not in DECISIONS]
            assert logged == mine, record.id  # invariant 6

    async def _settle(self) -> None:
        """Faults off, start-up, every event applied: then nothing is unsettled and DB == broker."""
        self.fault_rules, self.stream = [], {}
        self._push_faults()
        await self.reconciler.startup(self.account_id)
        for event in await self._drain(0.2):
            await self.ingestor.handle(event)
        await self.reconciler.sweep(self.account_id)
        at_broker = {o.request.client_order_id: o for o in self._paper_orders()}
        for record in await self._rows():
            assert record.status not in UNSETTLED, (record.id, record.status)  # invariant 2
            paper = at_broker.get(record.client_order_id)
            if paper is None:
                assert record.status in NEVER_SENT | WAITING, record
                assert record.filled_quantity == 0, record
                continue
            report = await self.broker.get_order(SYMBOL, client_order_id=record.client_order_id)
            assert (record.status, record.filled_quantity, record.broker_order_id) == (  # invariant 4
                report.status, report.filled_quantity, report.broker_order_id), (record, report)
        ledger = await verify_ledger(self.engine)
        assert ledger.ok, ledger.first_failure()  # invariant 6

    def teardown(self) -> None:
        try:
            self.run(self._settle())
        finally:
            self.run(self._shutdown())


def _run(db_url: str, paper: RunningPaper, examples: int) -> None:
    loop = asyncio.new_event_loop()
    engine = create_engine(db_url)

    class Bound(Pipeline):
        def __init__(self) -> None:
            super().__init__(loop, engine, paper)

    try:
        run_state_machine_as_test(Bound, settings=settings(
            max_examples=examples, stateful_step_count=STEPS, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()


async def test_the_pipeline_keeps_its_invariants_under_any_mix_of_faults(
        db_kind: str, db_url: str, paper_factory: Callable[..., RunningPaper]) -> None:
    """Any sequence of signals, submits, lost answers, crashes, stream faults and restarts keeps the
    invariants after every step and settles with the database agreeing with the broker."""
    # Rate limits off: a dozen accounts in a few seconds from one IP weigh more than Binance allows.
    config = VenueConfig(tick_seconds=0, engine=EngineConfig(fill_parts=3), rate_limits=False)
    paper = paper_factory(SPEC, config)
    await asyncio.to_thread(_run, db_url, paper, EXAMPLES[db_kind])
