"""The demo runner turns scripted quotes into signals: once per cross, with stable ids, through errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from boltztrader.demo.crossover import Crossover
from boltztrader.demo.runner import DemoInstrument, DemoModel, signal_id
from boltztrader.domain.clock import FixedClock
from boltztrader.domain.enums import Market, Side
from boltztrader.domain.reports import QuoteReport
from boltztrader.domain.signals import InvalidSignal, Signal
from boltztrader.errors import ConnectionFailed

T0 = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FALL_THEN_RISE = ["10", "9", "8", "7", "6", "9", "12"]  # fast=2/slow=4: one buy, on the last price
RISE_FALL_RISE = [*FALL_THEN_RISE, "8", "5", "4", "9", "14"]  # then a sell and another buy

Step = str | Exception | tuple[str, int]  # a price at T0 + its index (s), an error, or (price, second)


class PriceScript:
    """A quote source serving a scripted list; when it runs out it sets ``stop`` and hangs until cancelled."""

    def __init__(self, steps: Sequence[Step], stop: asyncio.Event) -> None:
        self.steps = list(steps)
        self.stop = stop
        self.served = 0

    async def get_quote(self, symbol: str) -> QuoteReport:
        if self.served == len(self.steps):
            self.stop.set()
            await asyncio.Event().wait()
        step, index = self.steps[self.served], self.served
        self.served += 1
        if isinstance(step, Exception):
            raise step
        price, second = step if isinstance(step, tuple) else (step, index)
        return QuoteReport(symbol, Decimal(price), None, None, T0 + timedelta(seconds=second))


class Sink:
    """Keeps every signal; raises instead for the calls numbered in ``fail_on`` (1-based)."""

    def __init__(self, fail_on: frozenset[int] = frozenset()) -> None:
        self.fail_on = fail_on
        self.calls = 0
        self.signals: list[Signal] = []

    async def __call__(self, signal: Signal) -> None:
        self.calls += 1
        if self.calls in self.fail_on:
            raise RuntimeError("database is locked")
        self.signals.append(signal)


def model(source: PriceScript, sink: Sink, *, quantity: str | None = "0.002",
          notional: str | None = None) -> DemoModel:
    size = {"quantity": None if quantity is None else Decimal(quantity),
            "notional": None if notional is None else Decimal(notional)}
    instrument = DemoInstrument("BTCUSDT", Market.CRYPTO, source, **size)
    return DemoModel([instrument], sink, clock=FixedClock(NOW), interval=0.001, fast=2, slow=4)


async def run(demo: DemoModel, stop: asyncio.Event) -> None:
    await asyncio.wait_for(demo.run(stop), 5)


async def test_a_scripted_cross_makes_exactly_one_signal_with_the_crosses_side_and_confidence() -> None:
    """Falling then rising prices make one buy signal, sized and stamped as configured."""
    stop, sink = asyncio.Event(), Sink()
    demo = model(PriceScript(FALL_THEN_RISE, stop), sink)
    await run(demo, stop)
    pure = Crossover(fast=2, slow=4)
    crosses = [c for i, p in enumerate(FALL_THEN_RISE) if (c := pure.feed(Decimal(p), T0)) is not None]
    [signal] = sink.signals
    assert (signal.side, signal.confidence) == (Side.BUY, crosses[0].confidence)
    assert (signal.symbol, signal.market, signal.model_id) == ("BTCUSDT", Market.CRYPTO, "demo-crossover")
    assert (signal.quantity, signal.notional, signal.created_at) == (Decimal("0.002"), None, NOW)
    assert Signal.from_mapping(_as_mapping(signal)) == signal
    assert (demo.stats.polls, demo.stats.signals, demo.stats.errors) == (len(FALL_THEN_RISE), 1, 0)


async def test_a_notional_instrument_sends_its_notional_and_no_quantity() -> None:
    """An instrument sized by notional makes signals carrying that notional only."""
    stop, sink = asyncio.Event(), Sink()
    await run(model(PriceScript(FALL_THEN_RISE, stop), sink, quantity=None, notional="25"), stop)
    assert [(s.quantity, s.notional) for s in sink.signals] == [(None, Decimal(25))]


async def test_ids_come_from_model_symbol_and_quote_time_so_a_restart_makes_the_same_ids() -> None:
    """Two runs over the same quotes (a restart) make the same ids, built from the quote's timestamp."""
    runs = []
    for _ in range(2):
        stop, sink = asyncio.Event(), Sink()
        await run(model(PriceScript(RISE_FALL_RISE, stop), sink), stop)
        runs.append([s.id for s in sink.signals])
    assert runs[0] == runs[1]
    assert runs[0][0] == "demo-crossover-BTCUSDT-20261126T093006.000000Z"
    assert runs[0][0] == signal_id("demo-crossover", "BTCUSDT", T0 + timedelta(seconds=6))
    assert len(set(runs[0])) == len(runs[0]) == 3


async def test_a_quote_with_an_already_seen_timestamp_is_not_fed_again() -> None:
    """Re-polling a quote of the same (or an older) time makes no signal, whatever its price."""
    stale: list[Step] = [*FALL_THEN_RISE[:-1], ("12", 5), ("12", 4)]  # the crossing price, but at an old time
    stop, sink = asyncio.Event(), Sink()
    demo = model(PriceScript(stale, stop), sink)
    await run(demo, stop)
    assert sink.signals == []
    assert demo.stats.polls == len(stale)


async def test_quote_and_sink_errors_are_counted_and_the_loop_goes_on() -> None:
    """Failed quotes are skipped and a failed delivery is dropped; later crosses still become signals."""
    steps: list[Step] = [ConnectionFailed("refused"), *RISE_FALL_RISE[:6], RuntimeError("boom"),
                         *RISE_FALL_RISE[6:]]
    stop, sink = asyncio.Event(), Sink(fail_on=frozenset({1}))
    demo = model(PriceScript(steps, stop), sink)
    await run(demo, stop)
    assert [s.side for s in sink.signals] == [Side.SELL, Side.BUY]
    assert (demo.stats.quote_errors, demo.stats.sink_errors, demo.stats.signals) == (2, 1, 2)
    assert demo.stats.polls == len(steps)


async def test_a_failed_quote_is_logged_in_one_line_without_a_foreign_errors_text(
        caplog: pytest.LogCaptureFixture) -> None:
    """A quote error logs the symbol and the error class, not a third-party message that may hold a key."""
    stop = asyncio.Event()
    with caplog.at_level(logging.WARNING, logger="boltztrader.demo.runner"):
        await run(model(PriceScript([RuntimeError("api_key=s3cr3t")], stop), Sink()), stop)
    [record] = caplog.records
    assert "BTCUSDT" in record.getMessage()
    assert "RuntimeError" in record.getMessage()
    assert "s3cr3t" not in caplog.text
    assert "\n" not in record.getMessage()


async def test_every_instrument_is_polled_concurrently() -> None:
    """Two instruments' quote requests are in flight at the same time (each waits for the other)."""
    barrier, met, stop = asyncio.Barrier(2), asyncio.Event(), asyncio.Event()

    class Meeting:
        async def get_quote(self, symbol: str) -> QuoteReport:
            await barrier.wait()
            met.set()
            return QuoteReport(symbol, Decimal(1), None, None, T0)

    demo = DemoModel([DemoInstrument(s, Market.CRYPTO, Meeting(), quantity=Decimal(1)) for s in ("A", "B")],
                     Sink(), interval=0.001)
    task = asyncio.create_task(demo.run(stop))
    await asyncio.wait_for(met.wait(), 5)
    stop.set()
    await asyncio.wait_for(task, 1)
    assert demo.stats.errors == 0


async def test_stop_ends_the_loop_during_a_hanging_quote_and_during_the_wait() -> None:
    """Setting stop ends ``run`` at once, whether a quote request hangs or the loop waits an hour."""
    stop = asyncio.Event()
    hanging = model(PriceScript([], stop), Sink())  # its first request sets stop and hangs
    await run(hanging, stop)
    assert hanging.stats.polls == 0

    stop = asyncio.Event()
    slow = DemoModel([DemoInstrument("BTCUSDT", Market.CRYPTO, PriceScript(["1"] * 5, asyncio.Event()),
                                     quantity=Decimal(1))], Sink(), interval=3600)
    task = asyncio.create_task(slow.run(stop))
    await asyncio.wait_for(_polled(slow, 1), 5)
    stop.set()
    await asyncio.wait_for(task, 1)
    assert slow.stats.polls == 1


async def test_cancelling_the_task_ends_the_loop() -> None:
    """A cancelled ``run`` raises CancelledError promptly, even with a quote request in flight."""
    stop = asyncio.Event()
    task = asyncio.create_task(model(PriceScript([], asyncio.Event()), Sink()).run(stop))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 1)


def test_an_instrument_needs_exactly_one_positive_size_and_each_symbol_once() -> None:
    """Both sizes, neither, a zero size, or a repeated symbol are refused when the model is built."""
    source = PriceScript([], asyncio.Event())
    for size in ({}, {"quantity": Decimal(1), "notional": Decimal(1)}, {"quantity": Decimal(0)}):
        with pytest.raises(ValueError, match="exactly one"):
            DemoInstrument("BTCUSDT", Market.CRYPTO, source, **size)
    twice = [DemoInstrument("BTCUSDT", Market.CRYPTO, source, quantity=Decimal(1))] * 2
    with pytest.raises(ValueError, match="each symbol once"):
        DemoModel(twice, Sink())


def test_a_symbol_or_model_id_no_signal_could_carry_is_refused_when_the_model_is_built() -> None:
    """A spaced symbol or an empty model id fails at construction, not at the first cross."""
    source = PriceScript([], asyncio.Event())
    spaced = DemoInstrument("BTC USDT", Market.CRYPTO, source, quantity=Decimal(1))
    with pytest.raises(InvalidSignal, match="symbol"):
        DemoModel([spaced], Sink())
    plain = DemoInstrument("BTCUSDT", Market.CRYPTO, source, quantity=Decimal(1))
    with pytest.raises(InvalidSignal, match="model_id"):
        DemoModel([plain], Sink(), model_id="")


def test_an_id_too_long_to_read_is_hashed_but_stays_deterministic() -> None:
    """A long model id gives a hashed id within the signal id limit, the same every time."""
    long_id = signal_id("m" * 120, "BTCUSDT", T0)
    assert len(long_id) <= 128
    assert long_id == signal_id("m" * 120, "BTCUSDT", T0)
    assert long_id != signal_id("m" * 120, "BTCUSDT", T0 + timedelta(microseconds=1))


async def _polled(demo: DemoModel, polls: int) -> None:
    while demo.stats.polls < polls:  # noqa: ASYNC110 - the counters are what a status line reads
        await asyncio.sleep(0.001)


def _as_mapping(signal: Signal) -> dict[str, object]:
    return {"id": signal.id, "model_id": signal.model_id, "symbol": signal.symbol,
            "market": str(signal.market), "side": str(signal.side), "confidence": str(signal.confidence),
            "created_at": signal.created_at.isoformat(), "quantity": _text(signal.quantity),
            "notional": _text(signal.notional)}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
