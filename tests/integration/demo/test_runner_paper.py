"""The demo model, polling our real adapters against running paper brokers, emits valid signals."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest

from boltztrader.demo.runner import DemoInstrument, DemoModel
from boltztrader.domain.signals import Signal
from boltztrader.paper.venue import VenueConfig

from ...contract.conftest import load
from ...contract.harness import admin
from ...paper import conftest as paper_conftest
from ...paper.conftest import RunningPaper

paper_factory = paper_conftest.paper_factory

FAST_WALK = VenueConfig(tick_seconds=0.05)  # twenty random-walk steps a second


@dataclass(frozen=True)
class Pace:
    """How fast the model may poll a broker within that broker's real quote rate limit."""

    interval: float
    fast: int
    slow: int


PACES = {
    "binance": Pace(0.1, 3, 10),  # 4 of 6,000 request weight a minute per poll
    "alpaca": Pace(0.7, 2, 4),  # 2 of 200 requests a minute per poll (latest quote + latest trade)
    "kite": Pace(1.05, 2, 4),  # 1 quote request a second; its quote times are whole seconds anyway
}


class Collect:
    """The sink: keeps signals and sets ``got`` at the first one."""

    def __init__(self) -> None:
        self.signals: list[Signal] = []
        self.got = asyncio.Event()

    async def __call__(self, signal: Signal) -> None:
        self.signals.append(signal)
        self.got.set()


async def run_until_a_signal(demo: DemoModel, sink: Collect, within: float = 60) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(demo.run(stop))
    try:
        await asyncio.wait_for(sink.got.wait(), within)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.mark.parametrize("name", ["binance", "alpaca", "kite"])
async def test_the_model_emits_a_valid_signal_for_the_watched_instrument(
        name: str, paper_factory: Callable[..., RunningPaper]) -> None:
    """On a fast price walk, quotes through our adapter become a signal that round-trips as a Signal."""
    harness = load(name)
    harness.start(paper_factory, FAST_WALK)
    if name == "kite":  # the harness switches Kite's limits off; the demo must live within the real ones
        admin(harness.paper, "PUT", "/_paper/limits", json={"quotes_per_second": 1})
    broker = await harness.broker()
    spot, pace, sink = harness.spot, PACES[name], Collect()
    demo = DemoModel([DemoInstrument(spot.symbol, spot.market, broker, quantity=spot.quantity)], sink,
                     interval=pace.interval, fast=pace.fast, slow=pace.slow)
    try:
        await run_until_a_signal(demo, sink)
    finally:
        await broker.close()
    signal = sink.signals[0]
    assert (signal.symbol, signal.market, signal.quantity) == (spot.symbol, spot.market, spot.quantity)
    assert signal.id.startswith(f"demo-crossover-{spot.symbol}-")
    assert Decimal("0.5") <= signal.confidence <= 1
    assert Signal.from_mapping(as_mapping(signal)) == signal
    assert demo.stats.errors == 0
    assert demo.stats.signals == len(sink.signals)


async def test_an_unknown_symbol_is_counted_and_the_known_one_still_signals(
        paper_factory: Callable[..., RunningPaper]) -> None:
    """A symbol the broker refuses to quote costs an error per poll and does not stop the other one."""
    harness = load("binance")
    harness.start(paper_factory, FAST_WALK)
    broker = await harness.broker()
    sink = Collect()
    demo = DemoModel([DemoInstrument("NOSUCHUSDT", harness.spot.market, broker, notional=Decimal(20)),
                      DemoInstrument("BTCUSDT", harness.spot.market, broker, notional=Decimal(20))],
                     sink, interval=PACES["binance"].interval)
    try:
        await run_until_a_signal(demo, sink)
    finally:
        await broker.close()
    assert {s.symbol for s in sink.signals} == {"BTCUSDT"}
    assert 1 <= demo.stats.polls <= demo.stats.quote_errors <= demo.stats.polls + 1  # +1: a poll cut by stop


def as_mapping(signal: Signal) -> dict[str, object]:
    """The signal as decoded JSON would carry it (numbers as text)."""
    return {"id": signal.id, "model_id": signal.model_id, "symbol": signal.symbol,
            "market": str(signal.market), "side": str(signal.side), "confidence": str(signal.confidence),
            "created_at": signal.created_at.isoformat(),
            "quantity": None if signal.quantity is None else str(signal.quantity),
            "notional": None if signal.notional is None else str(signal.notional)}
