"""The paper Binance venue: the shared ``Venue`` plus Binance's own session state.

- Futures wallets: each paper account has a second engine account ``<account_id>:F`` holding its
  USD-M wallet (default 100000 USDT) and positions, so spot balances and futures margin never mix.
  Admin cash keys prefixed ``F:`` (``{"USDT": "5000", "F:USDT": "2000"}``) fund the futures wallet.
- Perpetual prices follow the spot price of the same wire symbol (no basis): setting or stepping
  ``BTCUSDT`` also moves ``BTCUSDT.PERP``.
- Rate-limit windows, listenKeys and cancel ids live here and are forgotten on reset.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

from boltztrader.paper.binance import catalogue
from boltztrader.paper.binance.limits import RateLimits
from boltztrader.paper.http import VENUE_KEY
from boltztrader.paper.model import Event, EventKind
from boltztrader.paper.venue import Clock, PaperAccount, Venue, VenueConfig, utc_now

LISTEN_KEY_TTL_S = 3600.0


@dataclass(slots=True)
class ListenKey:
    key: str
    account_id: str  # the engine account: spot id, or the futures id
    futures: bool
    expires: float


@dataclass(slots=True)
class BinanceState:
    spot_limits: RateLimits = field(default_factory=RateLimits)
    futures_limits: RateLimits = field(
        default_factory=lambda: RateLimits(
            weight_limit=2400, orders_10s=300, orders_1d=1200, long_window_s=60, long_label="1M"
        )
    )
    cancel_ids: dict[int, str] = field(default_factory=dict)  # order id -> the cancel request's client id
    listen_keys: dict[str, ListenKey] = field(default_factory=dict)
    key_of: dict[str, str] = field(default_factory=dict)  # engine account id -> its active listenKey

    def listen_key(self, account_id: str, futures: bool) -> str:
        """The account's active key (its 60 minutes restarted), or a new 64-character one."""
        now = time.time()
        key = self.key_of.get(account_id)
        entry = self.listen_keys.get(key) if key else None
        if entry is None or entry.expires <= now:
            key = secrets.token_urlsafe(48)[:64]
            entry = ListenKey(key, account_id, futures, now + LISTEN_KEY_TTL_S)
            self.listen_keys[key] = entry
            self.key_of[account_id] = key
        entry.expires = now + LISTEN_KEY_TTL_S
        return entry.key

    def lookup(self, key: str) -> ListenKey | None:
        entry = self.listen_keys.get(key)
        return entry if entry is not None and entry.expires > time.time() else None

    def close(self, key: str) -> None:
        entry = self.listen_keys.pop(key, None)
        if entry is not None and self.key_of.get(entry.account_id) == key:
            del self.key_of[entry.account_id]


class BinanceVenue(Venue):
    binance: BinanceState

    def __init__(self, config: VenueConfig | None = None, clock: Clock = utc_now) -> None:
        super().__init__(
            "binance",
            catalogue.instruments(),
            catalogue.start_prices(),
            catalogue.DEFAULT_SPOT_CASH,
            config=config,
            clock=clock,
        )
        self.listeners.append(self._count_fills)

    def reset(self) -> None:
        self.binance = BinanceState()
        self.binance.spot_limits.enforced = self.binance.futures_limits.enforced = self.config.rate_limits
        super().reset()

    def create_account(
        self,
        cash: Mapping[str, Decimal] | None = None,
        *,
        key_prefix: str = "",
        extra: Mapping[str, Any] | None = None,
    ) -> PaperAccount:
        spot: dict[str, Decimal] | None = None
        futures: dict[str, Decimal] = dict(catalogue.DEFAULT_FUTURES_CASH)
        if cash is not None:
            prefix = catalogue.FUTURES_CASH_PREFIX
            spot = {a: v for a, v in cash.items() if not a.startswith(prefix)}
            given = {a[len(prefix) :]: v for a, v in cash.items() if a.startswith(prefix)}
            futures = given or futures
            if not spot and given:
                spot = None
        account = super().create_account(spot, key_prefix=key_prefix, extra=extra)
        futures_id = catalogue.futures_account(account.account_id)
        self.engine.open_account(futures_id, futures)
        for perp in catalogue.PERPS:
            self.engine.set_leverage(
                futures_id, catalogue.perp_engine_symbol(perp), catalogue.DEFAULT_LEVERAGE
            )
        return account

    def set_price(self, symbol: str, price: Decimal, *, liquidity: Decimal | None = None) -> list[Event]:
        events = super().set_price(symbol, price, liquidity=liquidity)
        if symbol in catalogue.PERPS:
            perp = catalogue.perp_engine_symbol(symbol)
            events += super().set_price(perp, self.market.prices[symbol], liquidity=liquidity)
        return events

    def advance(self, steps: int = 1) -> dict[str, Decimal]:
        moved: dict[str, Decimal] = {}
        for _ in range(steps):
            now = self.now()
            for symbol, price in self.market.step(list(catalogue.SPOT)).items():
                self.publish(self.engine.set_price(symbol, price, now))
                moved[symbol] = price
                if symbol in catalogue.PERPS:
                    perp = catalogue.perp_engine_symbol(symbol)
                    self.publish(self.engine.set_price(perp, self.market.set_price(perp, price), now))
        return moved

    def _count_fills(self, events: Sequence[Event]) -> None:
        for event in events:
            if (
                event.kind is EventKind.FILL
                and event.fill is not None
                and event.filled_quantity == event.fill.quantity
            ):
                limits = (
                    self.binance.futures_limits
                    if event.account_id.endswith(":F")
                    else self.binance.spot_limits
                )
                limits.order_filled(event.account_id, event.time.timestamp())


def venue_of(request: web.Request) -> BinanceVenue:
    venue = request.app[VENUE_KEY]
    assert isinstance(venue, BinanceVenue)
    return venue
