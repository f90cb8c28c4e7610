"""Alpaca's order book keeping on top of the shared engine.

The engine knows integer order ids and in-place changes; Alpaca has UUIDs, permanent
``client_order_id`` uniqueness, orders queued (``accepted``) while the market is shut, a
``pending_cancel`` step, and replaces that make a new order. ``Book`` keeps that per venue and
rebuilds itself when the venue is reset (the engine object changes).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from boltztrader.paper.alpaca import errors
from boltztrader.paper.alpaca.catalogue import BY_SYMBOL, CURRENCY
from boltztrader.paper.alpaca.records import FINAL, AlpacaOrder, Notice, Sink
from boltztrader.paper.alpaca.wire import OrderInput, num
from boltztrader.paper.engine import Engine
from boltztrader.paper.hours import ET, Session
from boltztrader.paper.model import (
    ZERO,
    Event,
    EventKind,
    Kind,
    NotCancelable,
    OrderRequest,
    Rejected,
    RejectReason,
    Side,
    TimeInForce,
    UnknownOrder,
)
from boltztrader.paper.venue import Venue

KINDS = {"market": Kind.MARKET, "limit": Kind.LIMIT, "stop": Kind.STOP_MARKET, "stop_limit": Kind.STOP_LIMIT}
TIFS = {"day": TimeInForce.DAY, "opg": TimeInForce.DAY, "cls": TimeInForce.DAY, "gtc": TimeInForce.GTC,
        "ioc": TimeInForce.IOC, "fok": TimeInForce.FOK}


@dataclass(slots=True)
class _AccountBook:
    orders: list[AlpacaOrder] = field(default_factory=list)  # submission order
    open: dict[str, AlpacaOrder] = field(default_factory=dict)
    by_client_id: dict[str, AlpacaOrder] = field(default_factory=dict)


class Book:
    """Every Alpaca order of one venue, indexed the ways the API looks them up."""

    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self.sinks: dict[str, list[Sink]] = {}
        venue.listeners.append(self._on_events)
        self._clear()

    def _clear(self) -> None:
        self.engine: Engine = self.venue.engine
        self._rng = random.Random(self.venue.config.seed)
        self._exec_salt = self._rng.getrandbits(62)
        self.by_id: dict[str, AlpacaOrder] = {}
        self._by_engine: dict[tuple[str, int], AlpacaOrder] = {}
        self._accounts: dict[str, _AccountBook] = {}
        self._queued: list[AlpacaOrder] = []
        self._session: Session | None = None
        self._notices = 0

    def fresh(self) -> Book:
        """This book, emptied first if the venue was reset since it was last used."""
        if self.venue.engine is not self.engine:
            self._clear()
        return self

    # -- ids ---------------------------------------------------------------------------------------
    def new_uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def execution_id(self, trade_id: int) -> str:
        return str(uuid.UUID(int=(self._exec_salt << 64) | trade_id, version=4))

    # -- lookups -----------------------------------------------------------------------------------
    def account(self, account_id: str) -> _AccountBook:
        book = self._accounts.get(account_id)
        if book is None:
            book = self._accounts[account_id] = _AccountBook()
        return book

    def get(self, account_id: str, order_id: str) -> AlpacaOrder:
        order = self.by_id.get(order_id)
        if order is None or order.account_id != account_id:
            raise errors.order_not_found()
        return order

    def by_client_id(self, account_id: str, client_order_id: str) -> AlpacaOrder:
        order = self.account(account_id).by_client_id.get(client_order_id)
        if order is None:
            raise errors.order_not_found()
        return order

    def of_engine(self, account_id: str, order_id: int) -> AlpacaOrder | None:
        return self._by_engine.get((account_id, order_id))

    def open_orders(self, account_id: str) -> list[AlpacaOrder]:
        return list(self.account(account_id).open.values())

    def iter_orders(self, account_id: str, *, newest_first: bool) -> Iterator[AlpacaOrder]:
        orders = self.account(account_id).orders
        return reversed(orders) if newest_first else iter(orders)

    def held_for_orders(self, account_id: str, symbol: str) -> tuple[Decimal, list[str]]:
        """Shares locked by open sell orders of ``symbol`` and those orders' ids."""
        held, ids = ZERO, []
        for order in self.account(account_id).open.values():
            if order.symbol == symbol and order.spec.side == "sell":
                held += _remaining(order)
                ids.append(order.id)
        return held, ids

    # -- orders ------------------------------------------------------------------------------------
    def submit(self, account_id: str, spec: OrderInput, now: datetime, *, replaces: str | None = None,
               client_order_id: str | None = None) -> AlpacaOrder:
        """Accept an order: route it to the engine, or queue it while its session is shut."""
        self.sync_session(now)
        book = self.account(account_id)
        cid = client_order_id or spec.client_order_id
        if cid is not None and cid in book.by_client_id and replaces is None:
            raise errors.duplicate_client_order_id()
        asset = BY_SYMBOL.get(spec.symbol)
        if asset is None:
            raise errors.unknown_symbol(spec.symbol)
        self._check_opg_cls(spec, now)
        position = self._position(account_id, spec.symbol)
        intent = ("buy_to_close" if position < 0 else "buy_to_open") if spec.side == "buy" else \
            ("sell_to_close" if position > 0 else "sell_to_open")
        order = AlpacaOrder(id=self.new_uuid(), client_order_id=cid or self.new_uuid(), account_id=account_id,
                            spec=spec, asset_id=asset.asset_id, position_intent=intent, submitted_at=now,
                            updated_at=now, replaces=replaces)
        if self._routable(spec, self.venue.hours.us(now)):
            self._route(order, now, record_rejection=replaces is not None)
        else:
            self._precheck(order)
            self._queued.append(order)
        self._register(order)
        return order

    def cancel(self, account_id: str, order_id: str, now: datetime) -> AlpacaOrder:
        """Request a cancel (DELETE answers 204): pending_cancel, then canceled."""
        self.sync_session(now)
        order = self.get(account_id, order_id)
        status = order.status
        if status in FINAL:
            raise errors.already_in_state(status)
        if order.engine is None:
            order.queued_status, order.canceled_at, order.updated_at = "canceled", now, now
            self._queued.remove(order)
            self.account(account_id).open.pop(order.id, None)
            self.notify(order, "canceled", now)
            return order
        if order.pending_cancel:
            return order
        order.pending_cancel, order.updated_at = True, now
        self.notify(order, "pending_cancel", now)
        if self.venue.hours.us(now) is not Session.CLOSED:
            self._engine_cancel(order, now)
        return order

    def replace(self, account_id: str, order_id: str, now: datetime, *, qty: Decimal | None,
                limit_price: Decimal | None, stop_price: Decimal | None, time_in_force: str | None,
                client_order_id: str | None) -> AlpacaOrder:
        """PATCH: the old order ends ``replaced``; a new order (new id) takes its place."""
        self.sync_session(now)
        old = self.get(account_id, order_id)
        status = old.status
        if status in FINAL:
            raise errors.already_in_state(status)
        if old.engine is None or status in ("pending_cancel",):
            raise errors.unprocessable("unable to replace order, order isn't sent to exchange yet")
        if old.spec.notional is not None:
            raise errors.unprocessable("cannot replace a notional order")
        spec = old.spec
        changed = [
            qty is not None and qty != spec.qty,
            limit_price is not None and limit_price != spec.limit_price,
            stop_price is not None and stop_price != spec.stop_price,
            bool(time_in_force) and time_in_force != spec.time_in_force,
        ]
        new_cid = client_order_id if client_order_id and client_order_id != old.client_order_id else None
        if not any(changed) and new_cid is None:
            raise errors.AlpacaError(403, errors.FORBIDDEN, "order parameters are not changed")
        if limit_price is not None and spec.limit_price is None:
            raise errors.unprocessable("cannot set limit_price on a non-limit order")
        if stop_price is not None and spec.stop_price is None:
            raise errors.unprocessable("cannot set stop_price on a non-stop order")
        if new_cid is not None and new_cid in self.account(account_id).by_client_id:
            raise errors.duplicate_client_order_id()
        new_spec = OrderInput(
            symbol=spec.symbol, side=spec.side, type=spec.type,
            time_in_force=time_in_force or spec.time_in_force, qty=qty if qty is not None else spec.qty,
            notional=None, limit_price=limit_price if limit_price is not None else spec.limit_price,
            stop_price=stop_price if stop_price is not None else spec.stop_price,
            extended_hours=spec.extended_hours, client_order_id=None)
        self._check_opg_cls(new_spec, now)
        old.replaced_by, old.replaced_at, old.updated_at = "", now, now  # before the cancel event goes out
        try:
            _, events = self.engine.cancel(account_id, old.engine.order_id, now)
        except (UnknownOrder, NotCancelable):
            old.replaced_by = old.replaced_at = None
            raise errors.already_in_state(old.status) from None
        self.account(account_id).open.pop(old.id, None)
        self.venue.publish(events)
        try:
            new = self.submit(account_id, new_spec, now, replaces=old.id,
                              client_order_id=new_cid or old.client_order_id)
        except errors.AlpacaError:
            old.replaced_by = old.replaced_at = None  # refused while queued: the old order stays canceled
            raise
        old.replaced_by = new.id
        return new

    # -- sessions ----------------------------------------------------------------------------------
    def sync_session(self, now: datetime) -> None:
        """Act on a change of US session: release queued orders, run pending cancels, expire DAY orders."""
        hours = self.venue.hours
        if not hours.real_hours:
            return
        session = hours.us(now)
        previous, self._session = self._session, session
        if previous is None or previous is session:
            return
        if previous is Session.OPEN:
            for book in self._accounts.values():
                for order in list(book.open.values()):
                    if order.engine is not None and order.spec.time_in_force in ("day", "opg", "cls") \
                            and not order.spec.extended_hours:
                        order.expiring = True
                        self._engine_cancel(order, now)
        if session is Session.CLOSED:
            for book in self._accounts.values():
                for order in list(book.open.values()):
                    if order.engine is not None and order.spec.time_in_force == "day":
                        order.expiring = True
                        self._engine_cancel(order, now)
            return
        for book in self._accounts.values():
            for order in list(book.open.values()):
                if order.pending_cancel and order.engine is not None:
                    self._engine_cancel(order, now)
        released = [o for o in self._queued if self._routable(o.spec, session)]
        self._queued = [o for o in self._queued if o not in released]
        for order in released:
            try:
                self._route(order, now, record_rejection=True)
            except errors.AlpacaError:
                order.queued_status, order.updated_at = "rejected", now
                self.account(order.account_id).open.pop(order.id, None)
                self.notify(order, "rejected", now)

    # -- streams -----------------------------------------------------------------------------------
    def notify(self, order: AlpacaOrder, event: str, now: datetime) -> None:
        self._notices += 1
        notice = Notice(order, event, now, f"n{self._notices}")
        for sink in self.sinks.get(order.account_id, ()):
            sink.put_nowait(notice)

    def add_sink(self, account_id: str) -> Sink:
        sink: Sink = asyncio.Queue()
        self.sinks.setdefault(account_id, []).append(sink)
        return sink

    def remove_sink(self, account_id: str, sink: Sink) -> None:
        sinks = self.sinks.get(account_id, [])
        if sink in sinks:
            sinks.remove(sink)

    # -- internals ---------------------------------------------------------------------------------
    def _register(self, order: AlpacaOrder) -> None:
        book = self.account(order.account_id)
        book.orders.append(order)
        book.by_client_id[order.client_order_id] = order
        self.by_id[order.id] = order
        if order.status not in FINAL:
            book.open[order.id] = order

    def _routable(self, spec: OrderInput, session: Session) -> bool:
        return session is Session.OPEN or (session is Session.EXTENDED and spec.extended_hours)

    def _route(self, order: AlpacaOrder, now: datetime, *, record_rejection: bool) -> None:
        spec = order.spec
        request = OrderRequest(symbol=spec.symbol, side=Side.BUY if spec.side == "buy" else Side.SELL,
                               kind=KINDS[spec.type], quantity=spec.qty, quote_quantity=spec.notional,
                               price=spec.limit_price, trigger_price=spec.stop_price,
                               time_in_force=TIFS[spec.time_in_force], client_order_id=order.client_order_id)
        try:
            engine_order, events = self.engine.submit(order.account_id, request, now,
                                                      record_rejection=record_rejection)
        except Rejected as exc:
            raise self._rejection(order, exc) from None
        order.engine = engine_order
        self._by_engine[(order.account_id, engine_order.order_id)] = order
        if engine_order.state.is_final:
            self.account(order.account_id).open.pop(order.id, None)
        self.venue.publish(events)

    def _engine_cancel(self, order: AlpacaOrder, now: datetime) -> None:
        assert order.engine is not None
        try:
            _, events = self.engine.cancel(order.account_id, order.engine.order_id, now)
        except (UnknownOrder, NotCancelable):
            return
        self.venue.publish(events)

    def _precheck(self, order: AlpacaOrder) -> None:
        """The buying-power check for an order queued until the open (cost at its limit or the ask)."""
        spec = order.spec
        if spec.side != "buy":
            return
        price = spec.limit_price or self.engine.quote(spec.symbol).ask
        cost = spec.notional if spec.notional is not None else (spec.qty or ZERO) * price
        power = self.engine.buying_power(order.account_id, CURRENCY)
        if cost > power:
            raise errors.insufficient_buying_power(num(power), num(cost))

    def _rejection(self, order: AlpacaOrder, exc: Rejected) -> errors.AlpacaError:
        spec = order.spec
        reason = exc.reason
        if reason is RejectReason.INSUFFICIENT_FUNDS:
            price = spec.limit_price or self.engine.quote(spec.symbol).ask
            cost = spec.notional if spec.notional is not None else (spec.qty or ZERO) * price
            return errors.insufficient_buying_power(
                num(self.engine.buying_power(order.account_id, CURRENCY)), num(cost))
        if reason in (RejectReason.INSUFFICIENT_POSITION, RejectReason.REDUCE_ONLY):
            position = self._position(order.account_id, spec.symbol)
            if position <= 0:
                return errors.not_allowed_to_short()
            held, related = self.held_for_orders(order.account_id, spec.symbol)
            available = max(position - held, ZERO)
            return errors.insufficient_qty(spec.symbol, num(spec.qty or ZERO), num(available), num(position),
                                           num(held), related)
        if reason is RejectReason.UNKNOWN_SYMBOL:
            return errors.unknown_symbol(spec.symbol)
        if reason is RejectReason.TICK_SIZE:
            field_name = "limit_price" if spec.limit_price is not None else "stop_price"
            return errors.sub_penny(field_name, num(spec.limit_price or spec.stop_price or ZERO))
        if reason is RejectReason.NOT_FRACTIONABLE:
            return errors.unprocessable("requested asset is not fractionable")
        if reason is RejectReason.MIN_NOTIONAL:
            return errors.unprocessable("cost basis must be >= 1")
        if reason is RejectReason.TRIGGER_IMMEDIATELY:
            return errors.unprocessable("stop price would trigger immediately")
        return errors.invalid(exc.message)

    def _check_opg_cls(self, spec: OrderInput, now: datetime) -> None:
        if spec.time_in_force not in ("opg", "cls") or not self.venue.hours.real_hours:
            return
        local = now.astimezone(ET).time()
        hhmm = local.hour * 100 + local.minute
        if spec.time_in_force == "opg" and 928 <= hhmm < 1900:
            raise errors.unprocessable("opg orders are only accepted before 09:28 ET or after 19:00 ET")
        if spec.time_in_force == "cls" and 1550 <= hhmm < 1900:
            raise errors.unprocessable("cls orders are not accepted between 15:50 ET and 19:00 ET")

    def _position(self, account_id: str, symbol: str) -> Decimal:
        position = self.engine.account(account_id).positions.get(symbol)
        return ZERO if position is None else position.quantity

    def _on_events(self, events: Sequence[Event]) -> None:
        """Keep the open sets in step with the engine and note each fill's position afterwards."""
        self.fresh()
        positions: dict[tuple[str, str], Decimal] = {}
        for event in reversed(events):
            order = self._by_engine.get((event.account_id, event.order.order_id))
            if order is None:
                continue
            if event.state.is_final:
                self.account(event.account_id).open.pop(order.id, None)
            order.updated_at = max(order.updated_at, event.time)
            fill = event.fill
            if event.kind is EventKind.FILL and fill is not None:
                key = (event.account_id, fill.symbol)
                if key not in positions:
                    positions[key] = self._position(event.account_id, fill.symbol)
                order.position_after[fill.trade_id] = positions[key]
                positions[key] -= fill.quantity if fill.side is Side.BUY else -fill.quantity


def _remaining(order: AlpacaOrder) -> Decimal:
    if order.engine is not None:
        return order.engine.remaining
    return order.spec.qty or ZERO
