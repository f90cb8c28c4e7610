"""The shared, pure matching engine behind every paper broker.

No I/O and no clock of its own: every call gets ``now``. Deterministic: order ids, trade ids and
event sequence numbers are counters, and fills depend only on the calls made and prices set.

Rules:
- A market order fills at the quote: buys at the ask, sells at the bid (``EngineConfig.spread_bps``
  around the last price), moved by ``slippage_bps`` against the taker, rounded to the tick.
- A limit order that crosses the quote on arrival fills as a taker at its own limit or better
  (at the quote); otherwise it rests and fills as a maker at its limit price when a later price
  crosses it (buy: price <= limit; sell: price >= limit).
- Stop / take-profit orders wait in PENDING_TRIGGER; a stop buy triggers when price >= trigger,
  a stop sell when price <= trigger; a take-profit buy when price <= trigger, sell when price >=
  trigger. Once triggered they behave as a market or limit order.
- IOC fills what it can at once and expires the rest; FOK fills entirely at once or expires with
  no fill.
- ``EngineConfig.fill_parts`` > 1 splits each fill into that many fills (separate trade ids) of
  step-rounded quantities: several fills per order, as brokers report them.
- Funds are checked before acceptance and reserved for resting orders (balances move from free to
  locked), released on cancel / expiry, spent on fills. Fees: rate x notional, charged in the quote
  asset.
- EQUITY: one cash balance in the quote asset; selling more than held is refused unless
  ``allow_short``. SPOT: a buy spends the quote asset and receives the base asset; a sell the
  reverse. FUTURES: margin = notional / leverage in the quote asset, positions may go short,
  realised P&L settles into the quote balance; ``reduce_only`` orders may only shrink a position.

"Crossing" is judged against the last price, for arriving and resting orders alike (buy: last <=
limit; sell: last >= limit), so an order rests only if the current price would not fill it; an
arriving order that crosses fills at min(limit, taker ask) / max(limit, taker bid).
Fees are truncated to 8 decimal places (SPOT, FUTURES) or 2 (EQUITY); reservations round them up
(see ``engine_util``). A stop-market is reserved at its trigger price; if, when triggered, the
account cannot pay at the market price it EXPIREs (reject_reason INSUFFICIENT_FUNDS). A FUTURES
reduce-only order is clipped to the position when it fills; what cannot reduce EXPIREs.
Reservations and settlement are in ``engine_funds``; the per-symbol heaps of
live orders in ``engine_book``; instrument-only checks in ``engine_rules``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal

from boltztrader.paper import engine_funds as funds
from boltztrader.paper.engine_book import AccountBook
from boltztrader.paper.engine_core import EngineConfig, EngineCore
from boltztrader.paper.engine_rules import (
    LIMIT_KINDS,
    check_lot,
    check_notional,
    check_price,
    trigger_crossed,
)
from boltztrader.paper.engine_util import floor_to, split_quantity
from boltztrader.paper.model import (
    ZERO,
    Account,
    AssetClass,
    Balance,
    Event,
    EventKind,
    Fill,
    Instrument,
    Kind,
    Order,
    OrderRequest,
    Quote,
    Rejected,
    RejectReason,
    Side,
    State,
    TimeInForce,
)

__all__ = ["Engine", "EngineConfig", "split_quantity"]


class Engine(EngineCore):
    """Accounts, order books per account and symbol, and matching against the simulated price."""

    def __init__(self, instruments: Iterable[Instrument], config: EngineConfig | None = None) -> None:
        super().__init__(instruments, config)

    # -- reference data and prices -------------------------------------------------------------
    def instrument(self, symbol: str) -> Instrument:
        """The instrument; ``Rejected(UNKNOWN_SYMBOL)`` when there is none."""
        return self._instrument(symbol)

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return self._instruments_view

    def set_price(self, symbol: str, price: Decimal, now: datetime, *,
                  liquidity: Decimal | None = None) -> list[Event]:
        """Move the last price; trigger stops and fill resting orders that it crosses.

        Triggered orders go first (oldest first), then resting limits, best price first and oldest
        first at a price. ``liquidity`` (an extension; None = unlimited) caps the quantity resting
        orders of each side may fill at this price, step-rounded: the way to get partial fills.
        """
        inst = self._instrument(symbol)
        if not price.is_finite() or price <= 0:
            raise Rejected(RejectReason.INVALID_PRICE, f"price must be positive, got {price}")
        self._prices[symbol] = price
        self._price_times[symbol] = now
        sbook = self._books.get(symbol)
        events: list[Event] = []
        if sbook is None or not sbook.live:
            return events
        for waiting in sbook.triggered(price):
            self._trigger(inst, waiting, now, events)
        for heap, threshold in ((sbook.bids, -price), (sbook.asks, price)):
            budget = liquidity
            while (order := sbook.peek(heap, threshold)) is not None:
                qty = self._fillable(inst, order)
                if qty == 0:
                    self._finish(inst, order, State.EXPIRED, now, events)
                    continue
                if budget is not None:
                    qty = min(qty, floor_to(budget, inst.step_size))
                    if qty <= 0:
                        break
                    budget -= qty
                assert order.request.price is not None
                self._fill(inst, order, qty, order.request.price, True, now, events)
                if not order.state.is_final:
                    if order.request.reduce_only and self._fillable(inst, order) == 0:
                        self._finish(inst, order, State.EXPIRED, now, events)
                        continue
                    break
        return events

    def quote(self, symbol: str) -> Quote:
        """Bid, ask and last around the current price (``Rejected(UNKNOWN_SYMBOL)`` if unknown).

        ``Rejected(INVALID_PRICE)`` when no price was ever set. The bid is rounded down and the ask
        up to the tick.
        """
        inst = self.instrument(symbol)
        last = self._last(symbol)
        bid, ask = self._bid_ask(inst, last)
        return Quote(symbol, bid, ask, last, self._price_times[symbol])

    def would_trigger_immediately(self, request: OrderRequest) -> bool:
        """True when ``request`` is a stop / take-profit whose trigger the current price has crossed."""
        last = self._prices.get(request.symbol)
        if not request.kind.has_trigger or request.trigger_price is None or last is None:
            return False
        return trigger_crossed(request.kind, request.side, request.trigger_price, last)

    def would_match_immediately(self, request: OrderRequest) -> bool:
        """True when ``request`` is a LIMIT order that would fill on arrival as a taker (post-only checks)."""
        last = self._prices.get(request.symbol)
        if request.kind is not Kind.LIMIT or request.price is None or last is None:
            return False
        return last <= request.price if request.side is Side.BUY else last >= request.price

    # -- accounts --------------------------------------------------------------------------------
    def open_account(self, account_id: str, balances: Mapping[str, Decimal]) -> Account:
        """Create an account holding ``balances`` (asset -> free amount)."""
        if account_id in self._accounts:
            raise ValueError(f"account {account_id!r} already exists")
        for asset, amount in balances.items():
            if amount < 0:
                raise ValueError(f"negative opening balance for {asset}: {amount}")
        account = Account(account_id, {a: Balance(a, free=amt) for a, amt in balances.items()})
        self._accounts[account_id] = AccountBook(account)
        return account

    def account(self, account_id: str) -> Account:
        """The account; KeyError when there is none."""
        return self._accounts[account_id].account

    def set_leverage(self, account_id: str, symbol: str, leverage: int) -> None:
        """FUTURES: the leverage for new positions in ``symbol`` (1..instrument.max_leverage)."""
        account = self.account(account_id)
        inst = self.instrument(symbol)
        if inst.asset_class is not AssetClass.FUTURES:
            raise ValueError(f"{symbol} is not a futures contract")
        if not 1 <= leverage <= inst.max_leverage:
            raise ValueError(f"leverage must be between 1 and {inst.max_leverage}, got {leverage}")
        account.leverage[symbol] = leverage

    def buying_power(self, account_id: str, asset: str) -> Decimal:
        """Free amount of ``asset`` (cash for equities) that new orders may use."""
        found = self.account(account_id).balances.get(asset)
        return ZERO if found is None else found.free

    # -- orders ------------------------------------------------------------------------------------
    def submit(self, account_id: str, request: OrderRequest, now: datetime, *,
               record_rejection: bool = False) -> tuple[Order, list[Event]]:
        """Validate, accept and (if it can) match an order; events in the order they happened.

        Raises ``Rejected`` with a reason when the order is refused, unless ``record_rejection``,
        in which case a REJECTED order is stored and returned with a REJECTED event (Kite shows
        RMS rejections as orders).
        """
        book = self._accounts[account_id]
        try:
            inst, quantity, need = self._validate(book, request)
        except Rejected as exc:
            if not record_rejection:
                raise
            order = self._new_order(book, request, now, State.REJECTED, request.quantity or ZERO)
            order.final_at = now
            order.reject_reason = exc.reason
            order.reject_message = exc.message
            return order, [self._event(EventKind.REJECTED, order, now)]
        kind = request.kind
        waiting = kind.has_trigger
        state = State.PENDING_TRIGGER if waiting else State.OPEN
        order = self._new_order(book, request, now, state, quantity)
        book.open[order.order_id] = order
        events = [self._event(EventKind.NEW, order, now)]
        if kind is not Kind.MARKET:
            funds.lock(book, inst, order, need)
        if waiting:
            self._wait_or_trigger(inst, order, now, events)
        else:
            self._activate(inst, order, now, events)
        return order, events

    def cancel(self, account_id: str, order_id: int, now: datetime) -> tuple[Order, list[Event]]:
        """Cancel a live order. ``UnknownOrder`` / ``NotCancelable`` otherwise."""
        order = self._live_order(account_id, order_id)
        events: list[Event] = []
        self._finish(self._instruments[order.symbol], order, State.CANCELLED, now, events)
        return order, events

    def replace(self, account_id: str, order_id: int, now: datetime, *,
                quantity: Decimal | None = None, price: Decimal | None = None,
                trigger_price: Decimal | None = None) -> tuple[Order, list[Event]]:
        """Modify a live order in place (Kite modify); it may then match at once.

        ``quantity`` is the new total quantity and must exceed what already filled. Checks as on
        submit (``Rejected``, order unchanged); funds are checked net of the order's own reservation.
        """
        order = self._live_order(account_id, order_id)
        book = self._accounts[account_id]
        inst = self._instruments[order.symbol]
        req = order.request
        if price is not None:
            if req.kind not in LIMIT_KINDS:
                raise Rejected(RejectReason.INVALID_PRICE, f"a {req.kind} order has no limit price")
            check_price(inst, price, "price")
        if trigger_price is not None:
            if order.state is not State.PENDING_TRIGGER:
                raise Rejected(RejectReason.INVALID_PRICE, "the order has no pending trigger")
            check_price(inst, trigger_price, "trigger price")
        new_qty = order.quantity if quantity is None else quantity
        if not new_qty.is_finite() or new_qty <= order.filled_quantity:
            raise Rejected(RejectReason.INVALID_QUANTITY,
                           f"quantity {new_qty} must exceed the filled quantity {order.filled_quantity}")
        check_lot(inst, new_qty)
        new_req = dataclasses.replace(
            req, quantity=new_qty, price=req.price if price is None else price,
            trigger_price=req.trigger_price if trigger_price is None else trigger_price)
        reference = self._reference(inst, new_req)
        check_notional(inst, new_qty, reference)
        need = self._reserve(book, inst, new_req, new_qty - order.filled_quantity, reference)
        self._check_funds(book, inst, order.side, need, credit=order.locked)
        funds.unlock(book, inst, order)
        self._sbook(order.symbol).remove(order.order_id)
        order.request = new_req
        order.quantity = new_qty
        order.updated_at = now
        funds.lock(book, inst, order, need)
        events = [self._event(EventKind.REPLACED, order, now)]
        if order.state is State.PENDING_TRIGGER:
            self._wait_or_trigger(inst, order, now, events)
        else:
            self._activate(inst, order, now, events)
        return order, events

    def get(self, account_id: str, order_id: int) -> Order:
        """``UnknownOrder`` when the account has no such order."""
        return self._order(account_id, order_id)

    def find_by_client_id(self, account_id: str, client_order_id: str) -> Order | None:
        """The newest order of the account with that client order id, or None."""
        book = self._accounts.get(account_id)
        return None if book is None else book.by_client.get(client_order_id)

    def orders(self, account_id: str, *, open_only: bool = False, symbol: str | None = None) -> list[Order]:
        """The account's orders, oldest first."""
        book = self._accounts[account_id]
        source = book.open if open_only else book.orders
        if symbol is None:
            return list(source.values())
        return [o for o in source.values() if o.request.symbol == symbol]

    def fills(self, account_id: str, *, symbol: str | None = None) -> list[Fill]:
        """The account's fills, oldest first."""
        book = self._accounts[account_id]
        if symbol is None:
            return list(book.fills)
        return [f for f in book.fills if f.symbol == symbol]

    def expire_day_orders(self, now: datetime, *, symbols: Iterable[str] | None = None) -> list[Event]:
        """Expire every live DAY order (of ``symbols``, or all): the session ended."""
        books = self._books.values() if symbols is None else [b for s in symbols if (b := self._books.get(s))]
        day = TimeInForce.DAY
        due = sorted((o for b in books for o in b.live.values() if o.request.time_in_force is day),
                     key=lambda o: o.order_id)
        events: list[Event] = []
        for order in due:
            self._finish(self._instruments[order.symbol], order, State.EXPIRED, now, events)
        return events
