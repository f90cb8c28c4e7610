"""The paper engine's state and internal steps (validation, matching, fills); ``engine.Engine`` wraps it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from boltztrader.paper import engine_funds as funds
from boltztrader.paper.engine_book import AccountBook, SymbolBook
from boltztrader.paper.engine_rules import (
    LIMIT_KINDS,
    check_lot,
    check_notional,
    check_prices,
    check_quantity_fields,
    fires_up,
    trigger_crossed,
)
from boltztrader.paper.engine_util import ceil_to, fee_reserve, floor_to, split_quantity
from boltztrader.paper.model import (
    ZERO,
    AssetClass,
    Event,
    EventKind,
    Fill,
    Instrument,
    Kind,
    NotCancelable,
    Order,
    OrderRequest,
    Rejected,
    RejectReason,
    Side,
    State,
    TimeInForce,
    UnknownOrder,
)

_BPS = Decimal(10000)
_IMMEDIATE = (TimeInForce.IOC, TimeInForce.FOK)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    spread_bps: Decimal = Decimal("2")  # full bid-ask spread around the last price, in basis points
    slippage_bps: Decimal = Decimal("0")  # extra price move against a taker
    fill_parts: int = 1  # split every fill into this many fills
    allow_short: bool = False  # EQUITY: may sell more than held (Kite MIS intraday shorts)


class EngineCore:
    """State of the engine and the steps its public methods are made of."""

    def __init__(self, instruments: Iterable[Instrument], config: EngineConfig | None = None) -> None:
        self._config = config or EngineConfig()
        if self._config.fill_parts < 1:
            raise ValueError("fill_parts must be at least 1")
        self._instruments: dict[str, Instrument] = {i.symbol: i for i in instruments}
        self._instruments_view = MappingProxyType(self._instruments)
        half = self._config.spread_bps / 2 / _BPS
        slip = self._config.slippage_bps / _BPS
        self._ask_factor, self._bid_factor = 1 + half, 1 - half
        self._buy_slip, self._sell_slip = 1 + slip, 1 - slip
        self._prices: dict[str, Decimal] = {}
        self._price_times: dict[str, datetime] = {}
        self._books: dict[str, SymbolBook] = {}
        self._accounts: dict[str, AccountBook] = {}
        self._next_order_id = 1
        self._next_trade_id = 1
        self._next_seq = 1

    # -- prices ----------------------------------------------------------------------------------
    def _instrument(self, symbol: str) -> Instrument:
        found = self._instruments.get(symbol)
        if found is None:
            raise Rejected(RejectReason.UNKNOWN_SYMBOL, f"unknown symbol {symbol!r}")
        return found

    def _last(self, symbol: str) -> Decimal:
        last = self._prices.get(symbol)
        if last is None:
            raise Rejected(RejectReason.INVALID_PRICE, f"no market price for {symbol}")
        return last

    def _bid_ask(self, inst: Instrument, last: Decimal) -> tuple[Decimal, Decimal]:
        bid = floor_to(last * self._bid_factor, inst.tick_size)
        ask = ceil_to(last * self._ask_factor, inst.tick_size)
        return (bid if bid > 0 else last), ask

    def _taker_price(self, inst: Instrument, side: Side) -> Decimal:
        """Where a market order fills now: ask (buy) / bid (sell) moved by slippage, rounded to the tick."""
        bid, ask = self._bid_ask(inst, self._last(inst.symbol))
        if side is Side.BUY:
            return ceil_to(ask * self._buy_slip, inst.tick_size)
        price = floor_to(bid * self._sell_slip, inst.tick_size)
        return price if price > 0 else bid

    def _crosses(self, symbol: str, side: Side, limit: Decimal) -> bool:
        last = self._prices.get(symbol)
        if last is None:
            return False
        return last <= limit if side is Side.BUY else last >= limit

    def _reference(self, inst: Instrument, request: OrderRequest) -> Decimal:
        """The price an order is sized and reserved at: its limit, else its trigger, else the taker price."""
        if request.kind in LIMIT_KINDS and request.price is not None:
            return request.price
        if request.kind.has_trigger and request.trigger_price is not None:
            return request.trigger_price
        return self._taker_price(inst, request.side)

    # -- validation and reservations -------------------------------------------------------------
    def _validate(self, book: AccountBook, request: OrderRequest) -> tuple[Instrument, Decimal, Decimal]:
        """(instrument, quantity, amount to reserve) of an acceptable order; ``Rejected`` otherwise."""
        inst = self._instrument(request.symbol)
        check_quantity_fields(inst, request)
        check_prices(inst, request)
        reference = self._reference(inst, request)
        qty = request.quantity
        if qty is None:
            assert request.quote_quantity is not None
            qty = floor_to(request.quote_quantity / reference, inst.step_size)
            if qty <= 0:
                raise Rejected(RejectReason.LOT_SIZE, f"quote_quantity {request.quote_quantity} buys less "
                               f"than one step {inst.step_size} at {reference}")
        check_lot(inst, qty)
        check_notional(inst, qty, reference)
        side = request.side
        if (inst.asset_class is AssetClass.FUTURES and request.reduce_only
                and funds.reducible(book.account, inst, side) == 0):
            raise Rejected(RejectReason.REDUCE_ONLY, f"a reduce-only {side} would not reduce the position")
        need = self._reserve(book, inst, request, qty, reference)
        self._check_funds(book, inst, side, need)
        return inst, qty, need

    def _reserve(self, book: AccountBook, inst: Instrument, request: OrderRequest, quantity: Decimal,
                 reference: Decimal) -> Decimal:
        rate = inst.taker_fee if request.kind is Kind.MARKET else max(inst.maker_fee, inst.taker_fee)
        leverage = book.account.leverage.get(inst.symbol, 1)
        return funds.reserve(book.account, inst, request.side, quantity, reference, rate, leverage)

    def _check_funds(self, book: AccountBook, inst: Instrument, side: Side, need: Decimal,
                     credit: Decimal = ZERO) -> None:
        have = funds.available(book, inst, side) + credit
        if inst.asset_class is AssetClass.EQUITY and side is Side.SELL:
            if not self._config.allow_short and need > have:
                raise Rejected(RejectReason.INSUFFICIENT_POSITION,
                               f"selling {need} {inst.symbol} but only {have} is held and not reserved")
            return
        if need > have:
            asset = funds.lock_asset(inst, side)
            raise Rejected(RejectReason.INSUFFICIENT_FUNDS, f"needs {need} {asset}, {have} available")

    def _affordable(self, inst: Instrument, order: Order, quantity: Decimal, price: Decimal) -> bool:
        """Whether the order's reservation plus free funds still pay for filling ``quantity`` at ``price``."""
        asset = funds.lock_asset(inst, order.side)
        if asset is None or inst.asset_class is AssetClass.FUTURES:
            return True
        found = self._accounts[order.account_id].account.balances.get(asset)
        free = ZERO if found is None else found.free
        if order.side is Side.SELL:
            need = quantity
        else:
            need = quantity * price + fee_reserve(inst, inst.taker_fee, quantity * price)
        return need <= order.locked + free

    # -- orders ------------------------------------------------------------------------------------
    def _new_order(self, book: AccountBook, request: OrderRequest, now: datetime, state: State,
                   quantity: Decimal) -> Order:
        order = Order(self._next_order_id, book.account.account_id, request, state, now, now, quantity)
        self._next_order_id += 1
        book.orders[order.order_id] = order
        if request.client_order_id:
            book.by_client[request.client_order_id] = order
        return order

    def _order(self, account_id: str, order_id: int) -> Order:
        book = self._accounts.get(account_id)
        order = None if book is None else book.orders.get(order_id)
        if order is None:
            raise UnknownOrder(f"no order {order_id} for account {account_id!r}")
        return order

    def _live_order(self, account_id: str, order_id: int) -> Order:
        order = self._order(account_id, order_id)
        if order.state.is_final:
            raise NotCancelable(f"order {order_id} is already {order.state}")
        return order

    def _event(self, kind: EventKind, order: Order, now: datetime, fill: Fill | None = None) -> Event:
        event = Event(self._next_seq, kind, order.account_id, order, order.state, order.filled_quantity,
                      order.filled_quote, fill, now)
        self._next_seq += 1
        return event

    def _sbook(self, symbol: str) -> SymbolBook:
        found = self._books.get(symbol)
        if found is None:
            found = self._books[symbol] = SymbolBook()
        return found

    def _wait_or_trigger(self, inst: Instrument, order: Order, now: datetime, events: list[Event]) -> None:
        req = order.request
        assert req.trigger_price is not None
        last = self._prices.get(inst.symbol)
        if last is not None and trigger_crossed(req.kind, req.side, req.trigger_price, last):
            self._trigger(inst, order, now, events)
        else:
            self._sbook(inst.symbol).wait(order, req.trigger_price, fires_up=fires_up(req.kind, req.side))

    def _trigger(self, inst: Instrument, order: Order, now: datetime, events: list[Event]) -> None:
        order.state = State.OPEN
        order.triggered_at = order.updated_at = now
        events.append(self._event(EventKind.TRIGGERED, order, now))
        self._activate(inst, order, now, events)

    def _activate(self, inst: Instrument, order: Order, now: datetime, events: list[Event]) -> None:
        """A live, untriggered-or-triggered order meets the price: fill as taker, rest, or expire."""
        req = order.request
        side = req.side
        if req.kind.is_market:
            price = self._taker_price(inst, side)
        else:
            limit = req.price
            assert limit is not None
            if not self._crosses(inst.symbol, side, limit):
                if req.time_in_force in _IMMEDIATE:
                    self._finish(inst, order, State.EXPIRED, now, events)
                else:
                    self._sbook(inst.symbol).rest(order, limit)
                return
            taker = self._taker_price(inst, side)
            price = min(limit, taker) if side is Side.BUY else max(limit, taker)
        qty = self._fillable(inst, order)
        if qty == 0 or (req.time_in_force is TimeInForce.FOK and qty < order.remaining):
            self._finish(inst, order, State.EXPIRED, now, events)
            return
        if not self._affordable(inst, order, qty, price):
            self._finish(inst, order, State.EXPIRED, now, events, RejectReason.INSUFFICIENT_FUNDS,
                         f"insufficient funds to fill at {price}")
            return
        self._fill(inst, order, qty, price, False, now, events)
        if not order.state.is_final:  # only a reduce-only order clipped to the position gets here
            self._finish(inst, order, State.EXPIRED, now, events)

    def _fillable(self, inst: Instrument, order: Order) -> Decimal:
        """The remaining quantity, clipped to the position for a FUTURES reduce-only order."""
        remaining = order.remaining
        if order.request.reduce_only and inst.asset_class is AssetClass.FUTURES:
            account = self._accounts[order.account_id].account
            remaining = min(remaining, funds.reducible(account, inst, order.side))
        return remaining

    def _fill(self, inst: Instrument, order: Order, quantity: Decimal, price: Decimal, is_maker: bool,
              now: datetime, events: list[Event]) -> None:
        """Fill ``quantity`` at ``price`` in ``fill_parts`` fills; release what the rest no longer needs."""
        book = self._accounts[order.account_id]
        rate = inst.maker_fee if is_maker else inst.taker_fee
        leverage = book.account.leverage.get(inst.symbol, 1)
        for part in split_quantity(quantity, inst.step_size, self._config.fill_parts):
            fee = funds.settle(book, inst, order, part, price, rate, leverage)
            fill = Fill(self._next_trade_id, order.order_id, order.account_id, inst.symbol, order.side, part,
                        price, fee, inst.quote_asset, is_maker, now)
            self._next_trade_id += 1
            order.filled_quantity += part
            order.filled_quote += part * price
            order.fills.append(fill)
            book.fills.append(fill)
            order.state = State.FILLED if order.remaining == 0 else State.PARTIALLY_FILLED
            order.updated_at = now
            events.append(self._event(EventKind.FILL, order, now, fill))
        if order.remaining == 0:
            order.final_at = now
            self._close(inst, book, order)
        elif order.locked > 0:
            reference = self._reference(inst, order.request)
            target = self._reserve(book, inst, order.request, order.remaining, reference)
            if order.locked > target:
                funds.unlock(book, inst, order, order.locked - target)

    def _close(self, inst: Instrument, book: AccountBook, order: Order) -> None:
        funds.unlock(book, inst, order)
        book.open.pop(order.order_id, None)
        sbook = self._books.get(inst.symbol)
        if sbook is not None:
            sbook.remove(order.order_id)

    def _finish(self, inst: Instrument, order: Order, state: State, now: datetime, events: list[Event],
                reason: RejectReason | None = None, message: str = "") -> None:
        """End a live order as CANCELLED or EXPIRED, releasing its reservation."""
        order.state = state
        order.updated_at = order.final_at = now
        if reason is not None:
            order.reject_reason = reason
            order.reject_message = message
        self._close(inst, self._accounts[order.account_id], order)
        kind = EventKind.CANCELLED if state is State.CANCELLED else EventKind.EXPIRED
        events.append(self._event(kind, order, now))
