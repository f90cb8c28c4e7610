"""Rate limits: request weight per IP per minute, unfilled order counts per account, 429 then 418.

Fixed windows keyed by the window number, so each request costs a few dict operations:

- REQUEST_WEIGHT: ``weight_limit`` per IP per minute. Over it: HTTP 429, -1003 and Retry-After (seconds
  to the next minute), for every request until that minute ends. An IP that sends ``ban_after``
  more requests while refused gets HTTP 418 (IP ban) for ``ban_seconds`` (doubling for each later
  ban), with Retry-After; requests during the ban get 418 too. Failed requests pay their weight;
  successful order placements and cancels cost 0 (spot, since 2026-04-02).
- ORDERS: ``orders_10s`` per account per 10 s and ``orders_1d`` per day (unfilled orders: an accepted
  order adds 1, its first fill subtracts 1). Over either: HTTP 429, -1015, Retry-After.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from boltztrader.paper.binance import errors


@dataclass(slots=True)
class _IpState:
    window: int = -1
    used: int = 0
    refused: int = 0  # requests refused with 429 in this window
    banned_until: float = 0.0
    bans: int = 0


@dataclass(slots=True)
class _OrderCounts:
    window_10s: int = -1
    count_10s: int = 0
    window_1d: int = -1
    count_1d: int = 0


@dataclass(slots=True)
class RateLimits:
    weight_limit: int = 6000
    orders_10s: int = 100
    orders_1d: int = 200000
    ban_after: int = 2
    ban_seconds: int = 120
    long_window_s: int = 86400  # the second ORDERS window: 1 day on spot, 1 minute on futures
    long_label: str = "1D"
    enforced: bool = True  # False (VenueConfig.rate_limits off, for benchmarks): count, never refuse
    _ips: dict[str, _IpState] = field(default_factory=dict)
    _orders: dict[str, _OrderCounts] = field(default_factory=dict)

    def charge(self, ip: str, weight: int, now: float) -> int:
        """Add ``weight`` to the IP's minute; return the used weight or raise -1003 (429 / 418)."""
        state = self._ips.get(ip)
        if state is None:
            state = self._ips[ip] = _IpState()
        if not self.enforced:
            window = int(now // 60)
            if window != state.window:
                state.window, state.used = window, 0
            state.used += weight
            return state.used
        if state.banned_until > now:
            raise errors.banned(int(state.banned_until * 1000), max(1, int(state.banned_until - now + 0.999)))
        window = int(now // 60)
        if window != state.window:
            state.window, state.used, state.refused = window, 0, 0
        if state.refused or state.used + weight > self.weight_limit:
            state.refused += 1
            if state.refused > self.ban_after:
                state.bans += 1
                seconds = self.ban_seconds * 2 ** (state.bans - 1)
                state.banned_until = now + seconds
                raise errors.banned(int(state.banned_until * 1000), seconds)
            raise errors.too_much_weight(self.weight_limit, max(1, int((window + 1) * 60 - now + 0.999)))
        state.used += weight
        return state.used

    def used(self, ip: str, now: float) -> int:
        state = self._ips.get(ip)
        return state.used if state is not None and state.window == int(now // 60) else 0

    def refund(self, ip: str, weight: int) -> None:
        state = self._ips.get(ip)
        if state is not None:
            state.used = max(0, state.used - weight)

    # -- orders -----------------------------------------------------------------------------------
    def _counts(self, account_id: str, now: float) -> _OrderCounts:
        counts = self._orders.get(account_id)
        if counts is None:
            counts = self._orders[account_id] = _OrderCounts()
        w10, w1d = int(now // 10), int(now // self.long_window_s)
        if counts.window_10s != w10:
            counts.window_10s, counts.count_10s = w10, 0
        if counts.window_1d != w1d:
            counts.window_1d, counts.count_1d = w1d, 0
        return counts

    def current(self, account_id: str, now: float) -> tuple[int, int]:
        """The (10 s, long window) unfilled order counts now."""
        counts = self._counts(account_id, now)
        return counts.count_10s, counts.count_1d

    def check_order(self, account_id: str, now: float) -> None:
        """-1015 (429) when one more order would exceed a window."""
        counts = self._counts(account_id, now)
        if not self.enforced:
            return
        if counts.count_1d + 1 > self.orders_1d:
            interval = "1 DAY" if self.long_label == "1D" else "1 MINUTE"
            raise errors.too_many_orders(
                self.orders_1d, interval, max(1, int(self.long_window_s - now % self.long_window_s))
            )
        if counts.count_10s + 1 > self.orders_10s:
            raise errors.too_many_orders(self.orders_10s, "10 SECOND", max(1, int(10 - now % 10 + 0.999)))

    def count_order(self, account_id: str, now: float) -> tuple[int, int]:
        """One more unfilled order; the (10 s, 1 day) counts afterwards."""
        counts = self._counts(account_id, now)
        counts.count_1d += 1
        counts.count_10s += 1
        return counts.count_10s, counts.count_1d

    def order_filled(self, account_id: str, now: float) -> None:
        """An order's first fill: it no longer counts as unfilled."""
        counts = self._counts(account_id, now)
        counts.count_10s = max(0, counts.count_10s - 1)
        counts.count_1d = max(0, counts.count_1d - 1)
