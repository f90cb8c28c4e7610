"""Place, modify and cancel Kite orders: validation (400 InputException), RMS (REJECTED orders), AMO.

Pre-trade checks that Kite answers synchronously (bad enums, tick size, lot size, tag, market
protection, market closed) raise ``KiteError`` and create no order. Funds and holdings are checked
by the engine with ``record_rejection``: the order exists, ends REJECTED and says why, as on Kite.

MARKET orders with ``market_protection`` (required, as Kite's API requires since April 2026) are
placed as a limit at LTP +/- the protection percentage (``-1`` = automatic = 2 %; Zerodha's real
automatic bands are not published), so like on Kite they may rest OPEN if the price runs away;
the order keeps ``order_type`` MARKET and ``price`` 0 and carries the ``mktp`` tags.

AMO (``variety=amo``): while the NSE session is closed (only with real hours) an AMO waits in
AMO REQ RECEIVED and goes to the exchange at the next open (a background check every second);
while it is open an AMO is sent at once. A regular order outside the session is refused.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from boltztrader.paper.hours import Session
from boltztrader.paper.kite import errors
from boltztrader.paper.kite.book import BookKeeper, KiteAccount, KiteOrder, state_of
from boltztrader.paper.kite.catalogue import BY_SYMBOL, CURRENCY, EXCHANGES, TICK
from boltztrader.paper.kite.limits import Limits
from boltztrader.paper.kite.wire import decimal, integer, money, required, text
from boltztrader.paper.model import (
    ZERO,
    Kind,
    NotCancelable,
    OrderRequest,
    Rejected,
    RejectReason,
    Side,
    State,
    TimeInForce,
    UnknownOrder,
)
from boltztrader.paper.venue import PaperAccount, Venue

VARIETIES = frozenset({"regular", "amo"})
UNSUPPORTED_VARIETIES = frozenset({"co", "iceberg", "auction", "bo"})
KINDS = {"MARKET": Kind.MARKET, "LIMIT": Kind.LIMIT, "SL": Kind.STOP_LIMIT, "SL-M": Kind.STOP_MARKET}
PRODUCTS = frozenset({"CNC", "NRML", "MIS"})
VALIDITIES = {"DAY": TimeInForce.DAY, "IOC": TimeInForce.IOC, "TTL": TimeInForce.DAY}
AUTO_PROTECTION = Decimal(2)
TAG = re.compile(r"[A-Za-z0-9 ]{1,20}")
SNOWFLAKE_EPOCH_MS = 1288834974657
LOT_SIZE = 1


@dataclass(slots=True)
class Desk:
    """The Kite layer's state beside the venue: limits, ids, AMOs waiting for the open."""

    venue: Venue
    books: BookKeeper
    limits: Limits = field(default_factory=Limits)
    require_market_protection: bool = True
    pending_amo: list[tuple[str, str]] = field(default_factory=list)  # (account_id, order_id)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_order_id(self, now: datetime) -> str:
        """A 19-digit snowflake-like id, as Kite issues since 2025."""
        ms = max(int(now.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS, 0)
        return str((ms << 22) | (next(self._seq) & 0x3FFFFF))


def _tick_ok(value: Decimal) -> bool:
    return value > 0 and value % TICK == 0


def _protected(price: Decimal, side: str, pct: Decimal) -> Decimal:
    if side == "BUY":
        return (price * (1 + pct / 100) / TICK).to_integral_value(ROUND_FLOOR) * TICK
    return max((price * (1 - pct / 100) / TICK).to_integral_value(ROUND_CEILING) * TICK, TICK)


def place(desk: Desk, account: PaperAccount, state: KiteAccount, variety: str, form: dict[str, str]) -> str:
    """``POST /orders/{variety}``; returns the new order_id."""
    if variety not in VARIETIES:
        if variety in UNSUPPORTED_VARIETIES:
            raise errors.input_error(f"The `{variety}` variety is not supported by the paper broker.")
        raise errors.input_error(errors.invalid("variety"))
    venue = desk.venue
    now = venue.now()
    exchange = required(form, "exchange")
    symbol = required(form, "tradingsymbol")
    if exchange not in EXCHANGES:
        raise errors.input_error(errors.invalid("exchange"))
    listing = BY_SYMBOL.get(symbol) if exchange == "NSE" else None
    if listing is None:
        raise errors.input_error(errors.invalid("tradingsymbol"))
    side = required(form, "transaction_type")
    if side not in ("BUY", "SELL"):
        raise errors.input_error(errors.invalid("transaction_type"))
    order_type = required(form, "order_type")
    if order_type not in KINDS:
        raise errors.input_error(errors.invalid("order_type"))
    product = required(form, "product")
    if product not in PRODUCTS:
        raise errors.input_error(errors.invalid("product"))
    validity = text(form, "validity") or "DAY"
    if validity not in VALIDITIES:
        raise errors.input_error(errors.invalid("validity"))
    validity_ttl = integer(form, "validity_ttl", 0) or 0
    if validity == "TTL" and validity_ttl < 1:
        raise errors.input_error(errors.invalid("validity_ttl"))
    quantity = _quantity(integer(form, "quantity"))
    disclosed = integer(form, "disclosed_quantity", 0) or 0
    if disclosed < 0 or disclosed > quantity:
        raise errors.input_error(errors.invalid("disclosed_quantity"))
    price, trigger = _prices(order_type, decimal(form, "price"), decimal(form, "trigger_price"))
    protection = _protection(order_type, decimal(form, "market_protection"), desk.require_market_protection)
    tag = text(form, "tag")
    if tag is not None and not TAG.fullmatch(tag):
        raise errors.input_error("Tag should be alphanumeric and at most 20 characters long.")
    if trigger:
        _check_trigger(side, price, trigger, venue.market.prices[symbol], order_type)
    tags = [tag] if tag else []
    if order_type == "MARKET" and protection:
        pct = AUTO_PROTECTION if protection < 0 else protection
        tags += ["mktp", f"mktp:{money(pct)}"]
    order = KiteOrder(
        order_id=desk.new_order_id(now), account_id=account.account_id, engine_id=None, variety=variety,
        exchange=exchange, tradingsymbol=symbol, instrument_token=listing.instrument_token,
        transaction_type=side, order_type=order_type, product=product, validity=validity,
        validity_ttl=validity_ttl if validity == "TTL" else 0, quantity=Decimal(quantity),
        disclosed_quantity=Decimal(disclosed), price=price, trigger_price=trigger,
        market_protection=protection, tag=tag, tags=tags, order_time=now,
    )
    open_now = venue.hours.nse(now) is Session.OPEN
    if not open_now and variety == "regular":
        raise errors.input_error(errors.MARKET_CLOSED)
    order.record("AMO REQ RECEIVED" if variety == "amo" else "PUT ORDER REQ RECEIVED", now)
    state.add(order)
    if open_now:
        try:
            send(desk, account, state, order, now)
        except errors.KiteError:
            del state.orders[order.order_id]
            raise
    else:
        desk.pending_amo.append((account.account_id, order.order_id))
    return order.order_id


def send(desk: Desk, account: PaperAccount, state: KiteAccount, order: KiteOrder, now: datetime) -> None:
    """Run the order through RMS (the engine) and on to the exchange; publish what happened."""
    venue = desk.venue
    request = _engine_request(desk, order)
    order.record("VALIDATION PENDING", now)
    try:
        placed, events = venue.engine.submit(account.account_id, request, now, record_rejection=True)
    except Rejected as exc:  # not recorded by the engine: refuse like Kite's mini-RMS
        raise errors.input_error(exc.message) from None
    order.engine_id = placed.order_id
    state.by_engine[placed.order_id] = order
    if placed.state is State.REJECTED:
        order.status_message, order.status_message_raw = _rejection(
            desk, state, order, request, placed.reject_reason, placed.reject_message)
    else:
        order.exchange_order_id = str(1_100_000_000_000_000 + placed.order_id)
    venue.publish(events)
    if placed.state is State.REJECTED and order.status != "REJECTED":
        order.record("REJECTED", now)


def _engine_request(desk: Desk, order: KiteOrder) -> OrderRequest:
    kind = KINDS[order.order_type]
    price: Decimal | None = order.price or None
    if kind is Kind.MARKET and order.market_protection:
        pct = AUTO_PROTECTION if order.market_protection < 0 else order.market_protection
        price = _protected(desk.venue.market.prices[order.tradingsymbol], order.transaction_type, pct)
        kind = Kind.LIMIT
    return OrderRequest(
        symbol=order.tradingsymbol, side=Side(order.transaction_type), kind=kind, quantity=order.quantity,
        price=price, trigger_price=order.trigger_price or None, time_in_force=VALIDITIES[order.validity],
        tags={"variety": order.variety, "product": order.product, "tag": order.tag,
              "kite_order_id": order.order_id},
    )


def _rejection(desk: Desk, state: KiteAccount, order: KiteOrder, request: OrderRequest,
               reason: RejectReason | None, message: str) -> tuple[str, str]:
    if reason is RejectReason.INSUFFICIENT_FUNDS:
        reference = request.price or request.trigger_price or desk.venue.engine.quote(order.tradingsymbol).ask
        available = desk.venue.engine.buying_power(order.account_id, CURRENCY)
        text_, raw = errors.insufficient_funds(money(order.quantity * reference), money(available))
        return text_, raw.replace("{user}", state.user_id)
    if reason is RejectReason.INSUFFICIENT_POSITION:
        return errors.INSUFFICIENT_HOLDINGS
    return message or "Order rejected by RMS.", f"RMS:{message}"


def _quantity(quantity: int | None) -> int:
    if quantity is None:
        raise errors.input_error(errors.invalid("quantity"))
    if quantity <= 0:
        raise errors.input_error("Quantity should be greater than zero.")
    if quantity % LOT_SIZE:
        raise errors.input_error(f"Quantity should be a multiple of lot size ({LOT_SIZE}).")
    return quantity


def _prices(order_type: str, price: Decimal | None, trigger: Decimal | None) -> tuple[Decimal, Decimal]:
    if order_type in ("LIMIT", "SL"):
        if price is None or price <= 0:
            raise errors.input_error(errors.invalid("price"))
        if not _tick_ok(price):
            raise errors.input_error(errors.tick_message(str(TICK)))
    else:
        price = ZERO
    if order_type in ("SL", "SL-M"):
        if trigger is None or trigger <= 0:
            raise errors.input_error(errors.invalid("trigger_price"))
        if not _tick_ok(trigger):
            raise errors.input_error(errors.tick_message(str(TICK), trigger=True))
    else:
        trigger = ZERO
    return price, trigger


def _protection(order_type: str, value: Decimal | None, required_: bool) -> Decimal:
    protection = ZERO if value is None else value
    if protection != -1 and not ZERO <= protection <= 100:
        raise errors.input_error(errors.invalid("market_protection"))
    if order_type in ("MARKET", "SL-M") and protection == 0 and required_:
        raise errors.input_error(errors.NO_MARKET_PROTECTION)
    return protection


def _check_trigger(side: str, price: Decimal, trigger: Decimal, last: Decimal, order_type: str) -> None:
    if side == "BUY" and trigger <= last:
        raise errors.input_error(errors.TRIGGER_BUY)
    if side == "SELL" and trigger >= last:
        raise errors.input_error(errors.TRIGGER_SELL)
    if order_type == "SL" and ((side == "BUY" and price < trigger) or (side == "SELL" and price > trigger)):
        raise errors.input_error("Trigger price for stoploss orders should be within the limit price.")


def find(state: KiteAccount, order_id: str) -> KiteOrder:
    order = state.orders.get(order_id)
    if order is None:
        raise errors.input_error(errors.UNKNOWN_ORDER)
    return order


def modify(desk: Desk, account: PaperAccount, state: KiteAccount, order_id: str, form: dict[str, str]) -> str:
    """``PUT /orders/{variety}/{order_id}``: quantity (the new total), price, trigger, validity."""
    order = find(state, order_id)
    if order.is_final:
        raise errors.input_error(errors.BEING_PROCESSED)
    if desk.limits.modifications_per_order and order.modifications >= desk.limits.modifications_per_order:
        raise errors.input_error(errors.MAX_MODIFY)
    order_type = text(form, "order_type") or order.order_type
    if order_type != order.order_type:
        raise errors.input_error("Changing `order_type` on modify is not supported by the paper broker.")
    raw_quantity = integer(form, "quantity")
    quantity = Decimal(_quantity(raw_quantity)) if raw_quantity is not None else order.quantity
    if quantity <= order.filled:
        raise errors.input_error("Quantity should be greater than the filled quantity.")
    price, trigger = _prices(order_type, decimal(form, "price") or order.price or None,
                             decimal(form, "trigger_price") or order.trigger_price or None)
    protection = decimal(form, "market_protection")
    validity = text(form, "validity") or order.validity
    if validity not in VALIDITIES:
        raise errors.input_error(errors.invalid("validity"))
    venue, now = desk.venue, desk.venue.now()
    if order.engine_id is not None:
        try:
            _, events = venue.engine.replace(
                account.account_id, order.engine_id, now,
                quantity=quantity if quantity != order.quantity else None,
                price=price if order_type in ("LIMIT", "SL") and price != order.price else None,
                trigger_price=trigger if trigger and trigger != order.trigger_price else None)
        except (NotCancelable, UnknownOrder):
            raise errors.input_error(errors.BEING_PROCESSED) from None
        except Rejected as exc:
            raise errors.input_error(exc.message) from None
    else:
        events = []
    order.quantity, order.price, order.trigger_price, order.validity = quantity, price, trigger, validity
    if protection is not None:
        order.market_protection = _protection(order_type, protection, desk.require_market_protection)
    order.order_time, order.modified = now, True
    order.modifications += 1
    if order.engine_id is None:
        order.record("AMO REQ RECEIVED", now)
    venue.publish(events)
    return order.order_id


def cancel(desk: Desk, account: PaperAccount, state: KiteAccount, order_id: str) -> str:
    """``DELETE /orders/{variety}/{order_id}``."""
    order = find(state, order_id)
    if order.is_final:
        raise errors.input_error(errors.BEING_PROCESSED)
    venue, now = desk.venue, desk.venue.now()
    order.order_time = now
    if order.engine_id is None:  # an AMO still waiting for the open
        order.cancelled = order.quantity
        order.record("CANCEL PENDING", now)
        order.record("CANCELLED", now)
        return order.order_id
    try:
        _, events = venue.engine.cancel(account.account_id, order.engine_id, now)
    except (NotCancelable, UnknownOrder):
        raise errors.input_error(errors.BEING_PROCESSED) from None
    venue.publish(events)
    return order.order_id


def release_amos(desk: Desk) -> None:
    """At the open: send every AMO still waiting (those cancelled meanwhile are dropped)."""
    venue = desk.venue
    now = venue.now()
    if not desk.pending_amo or venue.hours.nse(now) is not Session.OPEN:
        return
    waiting, desk.pending_amo = desk.pending_amo, []
    for account_id, order_id in waiting:
        account = venue.accounts.get(account_id)
        if account is None:
            continue
        state = state_of(venue, account)
        order = state.orders.get(order_id)
        if order is None or order.status != "AMO REQ RECEIVED":
            continue
        try:
            send(desk, account, state, order, now)
        except errors.KiteError as exc:
            order.status_message = order.status_message_raw = exc.message
            order.record("REJECTED", now)
