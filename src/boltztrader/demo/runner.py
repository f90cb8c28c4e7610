"""The demo model's loop: poll quotes, feed each symbol's ``Crossover``, hand every cross to a sink.

The defaults (1 s poll, ``fast=3, slow=10``) are tuned so that ``make run`` shows a signal within a
minute on the paper brokers' default walk (one step a second, 10 bps a step): one poll sees one
step, so a symbol needs ``slow + 1`` quotes before its first possible cross. Measured with our
adapters against the real paper Kite (INFY), Binance (BTCUSDT) and Alpaca (AAPL), seeds 1-5 and 7:
first signal after 10-37 s, median 14 s (seed 7, ``boltz paper serve``'s default: 10 s, 37 s, 25 s),
then 5-8 a minute per symbol, with no rate-limit errors over 90 s (a Kite quote is 1 of its 1
request/s, an Alpaca one 2 of its 200 requests/min). On the walk alone (200 seeds x 3 symbols) the
first cross comes after a median 16 steps, 43 at the 99th percentile, 56 at worst; the crossover's
own 5/20 needs a median 30 and up to 110.

A signal's id is made of the model id, the symbol and the quote's timestamp, so a restart that polls
the same quote again makes the same id (the intake is idempotent on it). A quote whose timestamp is
not newer than the last one seen for its symbol is not fed again (Kite's are whole seconds, so
polling Kite faster than once a second adds nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol, TypeVar

from boltztrader.demo.crossover import Cross, Crossover
from boltztrader.domain.clock import Clock, SystemClock, utc
from boltztrader.domain.enums import Market, Side
from boltztrader.domain.reports import QuoteReport
from boltztrader.domain.signals import Signal
from boltztrader.errors import TradingError

__all__ = ["DemoInstrument", "DemoModel", "DemoStats", "QuoteSource", "SignalSink", "signal_id"]

log = logging.getLogger(__name__)
SignalSink = Callable[[Signal], Awaitable[object]]
T = TypeVar("T")
_MAX_ID = 128


class QuoteSource(Protocol):
    """Anything that quotes a symbol; every ``Broker`` is one."""

    async def get_quote(self, symbol: str) -> QuoteReport: ...


@dataclass(frozen=True, slots=True)
class DemoInstrument:
    """One symbol to watch, where its quotes come from, and the size of its signals (one of two)."""

    symbol: str
    market: Market
    source: QuoteSource
    quantity: Decimal | None = None
    notional: Decimal | None = None

    def __post_init__(self) -> None:
        sizes = [size for size in (self.quantity, self.notional) if size is not None]
        if len(sizes) != 1 or not sizes[0] > 0:
            raise ValueError(f"{self.symbol}: give exactly one of quantity or notional, above zero")


@dataclass(frozen=True, slots=True)
class DemoStats:
    """Counters for a status line."""

    polls: int = 0  # rounds in which every instrument was asked for a quote
    signals: int = 0  # signals the sink accepted
    quote_errors: int = 0
    sink_errors: int = 0

    @property
    def errors(self) -> int:
        return self.quote_errors + self.sink_errors


def signal_id(model_id: str, symbol: str, quote_time: datetime) -> str:
    """``<model>-<symbol>-<quote time, UTC, µs>``; hashed when that is longer than a signal id may be."""
    readable = f"{model_id}-{symbol}-{utc(quote_time):%Y%m%dT%H%M%S.%fZ}"
    if len(readable) <= _MAX_ID:
        return readable
    return f"{model_id[:60]}-{hashlib.sha256(readable.encode()).hexdigest()[:64]}"


class DemoModel:
    """Polls every instrument each ``interval`` seconds and sends a ``Signal`` on each crossover."""

    def __init__(self, instruments: Sequence[DemoInstrument], sink: SignalSink, *,
                 clock: Clock | None = None, model_id: str = "demo-crossover", interval: float = 1.0,
                 fast: int = 3, slow: int = 10, sensitivity: Decimal = Decimal(200)) -> None:
        symbols = [instrument.symbol for instrument in instruments]
        if not symbols or len(set(symbols)) != len(symbols):
            raise ValueError("need at least one instrument, each symbol once")
        if not interval > 0:
            raise ValueError("interval must be above zero seconds")
        self.model_id = model_id
        self.interval = interval
        self._instruments = list(instruments)
        self._sink = sink
        self._clock = clock or SystemClock()
        self._models = {s: Crossover(fast=fast, slow=slow, sensitivity=sensitivity) for s in symbols}
        self._seen: dict[str, datetime] = {}
        self._stats = DemoStats()
        for instrument in self._instruments:  # a bad symbol or model id fails here, not mid-run
            self._signal(instrument, Cross(Side.BUY, Decimal(1), Decimal(1), self._clock.now()))

    @property
    def stats(self) -> DemoStats:
        return self._stats

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set: a quote request in flight is abandoned, a delivery is finished."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            started = loop.time()
            quotes = await _until(stop, asyncio.gather(*(self._quote(i) for i in self._instruments)))
            if quotes is None:
                return
            self._count(polls=1)
            for instrument, quote in zip(self._instruments, quotes, strict=True):
                signal = None if quote is None else self._feed(instrument, quote)
                if signal is not None:
                    await self._deliver(signal)
            delay = max(0.0, self.interval - (loop.time() - started))
            await _until(stop, asyncio.sleep(delay))

    async def _quote(self, instrument: DemoInstrument) -> QuoteReport | None:
        try:
            quote = await instrument.source.get_quote(instrument.symbol)
            utc(quote.time)  # a naive time would make no id; refuse it here, as a bad quote
        except Exception as exc:
            self._count(quote_errors=1)
            log.warning("demo %s: quote for %s failed: %s", self.model_id, instrument.symbol, _describe(exc))
            return None
        return quote

    def _feed(self, instrument: DemoInstrument, quote: QuoteReport) -> Signal | None:
        at = utc(quote.time)
        last = self._seen.get(instrument.symbol)
        if last is not None and at <= last:
            return None
        self._seen[instrument.symbol] = at
        cross = self._models[instrument.symbol].feed(quote.last, at)
        return None if cross is None else self._signal(instrument, cross)

    def _signal(self, instrument: DemoInstrument, cross: Cross) -> Signal:
        return Signal(
            id=signal_id(self.model_id, instrument.symbol, cross.at), model_id=self.model_id,
            symbol=instrument.symbol, market=instrument.market, side=cross.side,
            confidence=cross.confidence, created_at=self._clock.now(),
            quantity=instrument.quantity, notional=instrument.notional,
        )

    async def _deliver(self, signal: Signal) -> None:
        try:
            await self._sink(signal)
        except Exception as exc:
            self._count(sink_errors=1)
            log.warning("demo %s: signal %s was not taken: %s", self.model_id, signal.id, _describe(exc))
            return
        self._count(signals=1)
        log.info("demo %s: %s %s (confidence %s) as %s", self.model_id, signal.side, signal.symbol,
                 signal.confidence, signal.id)

    def _count(self, **counts: int) -> None:
        self._stats = replace(self._stats, **{k: getattr(self._stats, k) + n for k, n in counts.items()})


async def _until(stop: asyncio.Event, work: Awaitable[T]) -> T | None:
    """``work``'s result, or None (``work`` cancelled) as soon as ``stop`` is set."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((task, stopper), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        finished = task.done()
        if not finished:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return task.result() if finished else None


def _describe(exc: BaseException) -> str:
    """The class, and the message only for our own errors, whose texts are written to be shown."""
    if isinstance(exc, TradingError):
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return type(exc).__name__
