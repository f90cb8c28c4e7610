"""Indexes of the paper engine: per-symbol heaps of live orders and per-account order books.

Heaps delete lazily: every entry carries a token, and an entry whose token is no longer the order's
current one is skipped (and counted, so the heaps are compacted once stale entries dominate).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from decimal import Decimal

from boltztrader.paper.model import Account, Fill, Order, Side

_Entry = tuple[Decimal, int, int, Order]  # key, order id (time priority), token, order
_COMPACT_AT = 256


class SymbolBook:
    """The live orders of one symbol.

    ``bids`` / ``asks``: resting limit orders, best price first. ``up``: waiting orders that trigger
    when the price rises to their trigger (stop buys, take-profit sells); ``down``: those that
    trigger when it falls to it (stop sells, take-profit buys). In every heap an entry is due when
    its key <= the threshold passed to ``peek``.
    """

    __slots__ = ("_next_token", "asks", "bids", "down", "live", "stale", "tokens", "up")

    def __init__(self) -> None:
        self.bids: list[_Entry] = []  # key -limit
        self.asks: list[_Entry] = []  # key limit
        self.up: list[_Entry] = []  # key trigger
        self.down: list[_Entry] = []  # key -trigger
        self.live: dict[int, Order] = {}
        self.tokens: dict[int, int] = {}
        self.stale = 0
        self._next_token = 1

    def rest(self, order: Order, limit: Decimal) -> None:
        if order.side is Side.BUY:
            self._push(self.bids, -limit, order)
        else:
            self._push(self.asks, limit, order)

    def wait(self, order: Order, trigger: Decimal, *, fires_up: bool) -> None:
        if fires_up:
            self._push(self.up, trigger, order)
        else:
            self._push(self.down, -trigger, order)

    def _push(self, heap: list[_Entry], key: Decimal, order: Order) -> None:
        oid = order.order_id
        if oid in self.tokens:
            self.stale += 1
        token = self._next_token
        self._next_token += 1
        self.tokens[oid] = token
        self.live[oid] = order
        heapq.heappush(heap, (key, oid, token, order))

    def peek(self, heap: list[_Entry], threshold: Decimal) -> Order | None:
        """The heap's best live order if its key <= threshold, else None."""
        while heap:
            _key, oid, token, order = heap[0]
            if self.tokens.get(oid) != token:
                heapq.heappop(heap)
                self.stale -= 1
                continue
            return order if heap[0][0] <= threshold else None
        return None

    def take(self, heap: list[_Entry]) -> Order:
        """Pop the top entry (just returned by ``peek``); the order stays live until ``remove``."""
        _key, oid, _token, order = heapq.heappop(heap)
        del self.tokens[oid]
        return order

    def triggered(self, price: Decimal) -> list[Order]:
        """Pop every waiting order that ``price`` triggers, oldest first."""
        due: list[Order] = []
        for heap, threshold in ((self.up, price), (self.down, -price)):
            while self.peek(heap, threshold) is not None:
                due.append(self.take(heap))
        due.sort(key=lambda o: o.order_id)
        return due

    def remove(self, order_id: int) -> None:
        """The order left the book (filled, cancelled, expired, or about to be re-entered)."""
        if self.tokens.pop(order_id, None) is not None:
            self.stale += 1
            if self.stale > _COMPACT_AT and self.stale * 2 > self._entries():
                self._compact()
        self.live.pop(order_id, None)

    def _entries(self) -> int:
        return len(self.bids) + len(self.asks) + len(self.up) + len(self.down)

    def _compact(self) -> None:
        for heap in (self.bids, self.asks, self.up, self.down):
            heap[:] = [e for e in heap if self.tokens.get(e[1]) == e[2]]
            heapq.heapify(heap)
        self.stale = 0


@dataclass(slots=True)
class AccountBook:
    """One account with its orders (all, and the live ones), client-id index, fills and position locks."""

    account: Account
    orders: dict[int, Order] = field(default_factory=dict)
    open: dict[int, Order] = field(default_factory=dict)
    by_client: dict[str, Order] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    position_locked: dict[str, Decimal] = field(default_factory=dict)  # EQUITY: qty held by resting sells
