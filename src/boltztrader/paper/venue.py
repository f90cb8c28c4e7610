"""One paper broker's world: its engine, prices, fault plan, accounts with credentials, and streams.

A broker module (``kite``, ``binance``, ``alpaca``) owns one Venue and translates its own wire
protocol into calls on it. Everything that changes orders goes through ``Venue`` methods so that
the events reach every stream subscriber and listener (with the fault plan's stream faults).
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boltztrader.paper.engine import Engine, EngineConfig
from boltztrader.paper.faults import FaultPlan
from boltztrader.paper.hours import MarketHours
from boltztrader.paper.market import MarketData
from boltztrader.paper.model import Event, Instrument

Clock = Callable[[], datetime]
Listener = Callable[[Sequence[Event]], None]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class PaperAccount:
    """A paper account and its credentials; ``extra`` holds broker-specific session state."""

    account_id: str
    api_key: str
    api_secret: str
    created_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)


class Disconnect:
    """Queued to a subscriber when the fault plan drops its stream: close the connection."""


DISCONNECT = Disconnect()


@dataclass(slots=True)
class Subscription:
    """One stream client's queue of events (or DISCONNECT) for one account."""

    account_id: str
    queue: asyncio.Queue[Event | Disconnect] = field(default_factory=asyncio.Queue)
    delivered: int = 0
    _held: Event | None = None  # an event held back to be delivered after the next (reorder)


@dataclass(frozen=True, slots=True)
class VenueConfig:
    seed: int = 7
    engine: EngineConfig = field(default_factory=EngineConfig)
    real_hours: bool = False
    tick_seconds: float = 1.0  # random-walk step interval of the running server; 0 = only on demand
    volatility_bps: Decimal = Decimal(10)
    # The broker's own request/order rate limits (429, Binance 418). Off only for throughput
    # benchmarks, which send far more than one real account or IP may.
    rate_limits: bool = True


class Venue:
    def __init__(self, name: str, instruments: Sequence[Instrument], start_prices: Mapping[str, Decimal],
                 default_cash: Mapping[str, Decimal], *, config: VenueConfig | None = None,
                 clock: Clock = utc_now) -> None:
        self.name = name
        self.config = config or VenueConfig()
        self.clock = clock
        self._instruments = list(instruments)
        self._start_prices = dict(start_prices)
        self.default_cash = dict(default_cash)
        self.hours = MarketHours(real_hours=self.config.real_hours)
        self.listeners: list[Listener] = []
        self._subscriptions: dict[str, list[Subscription]] = {}
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every account, order and fault; prices back to their start (same seed)."""
        self.engine = Engine(self._instruments, self.config.engine)
        self.market = MarketData(self._start_prices, {i.symbol: i.tick_size for i in self._instruments},
                                 seed=self.config.seed, volatility_bps=self.config.volatility_bps)
        self.faults = FaultPlan()
        self.accounts: dict[str, PaperAccount] = {}
        self._by_key: dict[str, PaperAccount] = {}
        self._ids = itertools.count(1)
        now = self.now()
        for symbol, price in self.market.prices.items():
            self.engine.set_price(symbol, price, now)

    def now(self) -> datetime:
        return self.clock()

    # -- accounts --------------------------------------------------------------------------------
    def create_account(self, cash: Mapping[str, Decimal] | None = None, *, key_prefix: str = "",
                       extra: Mapping[str, Any] | None = None) -> PaperAccount:
        """A new account funded with ``cash`` (asset -> amount; the venue's default when None)."""
        account_id = f"{self.name[:2].upper()}{next(self._ids):06d}"
        account = PaperAccount(
            account_id=account_id, api_key=key_prefix + secrets.token_hex(10),
            api_secret=secrets.token_hex(24), created_at=self.now(), extra=dict(extra or {}),
        )
        self.engine.open_account(account_id, dict(self.default_cash if cash is None else cash))
        self.accounts[account_id] = account
        self._by_key[account.api_key] = account
        return account

    def by_api_key(self, api_key: str) -> PaperAccount | None:
        return self._by_key.get(api_key)

    def revoke(self, account_id: str) -> None:
        """Revoke the account's API key, as a user deleting it in the broker's console would."""
        account = self.accounts[account_id]
        self._by_key.pop(account.api_key, None)

    # -- prices ----------------------------------------------------------------------------------
    def set_price(self, symbol: str, price: Decimal, *, liquidity: Decimal | None = None) -> list[Event]:
        """Set a price by hand and match against it (at most ``liquidity`` per side filled at this
        price, when given: partial fills of resting orders); the events are published."""
        price = self.market.set_price(symbol, price)
        return self.publish(self.engine.set_price(symbol, price, self.now(), liquidity=liquidity))

    def advance(self, steps: int = 1) -> dict[str, Decimal]:
        """Move every symbol ``steps`` steps along its price source, matching after each step."""
        moved: dict[str, Decimal] = {}
        for _ in range(steps):
            now = self.now()
            for symbol, price in self.market.step().items():
                self.publish(self.engine.set_price(symbol, price, now))
                moved[symbol] = price
        return moved

    # -- events ----------------------------------------------------------------------------------
    def publish(self, events: Iterable[Event]) -> list[Event]:
        """Hand events to every listener and every stream subscriber of their account."""
        events = list(events)
        if not events:
            return events
        for listener in self.listeners:
            listener(events)
        for event in events:
            for subscription in self._subscriptions.get(event.account_id, ()):
                self._deliver(subscription, event)
        return events

    def subscribe(self, account_id: str) -> Subscription:
        subscription = Subscription(account_id)
        self._subscriptions.setdefault(account_id, []).append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subs = self._subscriptions.get(subscription.account_id, [])
        if subscription in subs:
            subs.remove(subscription)

    def _deliver(self, subscription: Subscription, event: Event) -> None:
        stream = self.faults.stream
        if not stream.active:
            subscription.queue.put_nowait(event)
            return
        batch: list[Event | Disconnect] = [event]
        if subscription._held is not None:
            batch.append(subscription._held)  # the held event now arrives after a newer one
            subscription._held = None
        elif self.faults.roll(stream.reorder):
            subscription._held = event
            batch = []
        if batch and self.faults.roll(stream.duplicate):
            batch.append(event)
        subscription.delivered += 1
        if stream.disconnect_every and subscription.delivered % stream.disconnect_every == 0:
            batch.append(DISCONNECT)
            self.unsubscribe(subscription)
        for item in batch:
            if stream.delay_ms:
                loop = asyncio.get_running_loop()
                loop.call_later(stream.delay_ms / 1000, subscription.queue.put_nowait, item)
            else:
                subscription.queue.put_nowait(item)
