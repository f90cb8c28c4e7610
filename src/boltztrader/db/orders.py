"""The order repository: intents, transitions and fills, always inside the caller's transaction.

Every function takes an ``AsyncConnection`` whose transaction the caller owns, so a change, its
``order_events`` row and its audit entry (chain ``user:<user id>``) commit or roll back together.
Statuses move only through ``domain.order_states``; the arithmetic of fills is ``domain.orders``'.

Concurrency is optimistic: a write is ``UPDATE ... WHERE id = ? AND version = ?``; when another
writer got there first the row is read again and the event re-applied to what it now says (so two
workers racing to mark one order ``submitting`` leave exactly one winner: the loser's re-read finds
``submitting`` and the table refuses a second ``submit_started``).

Round trips: on PostgreSQL the update and its ``order_events`` row are one statement (a CTE), and
the idempotent insert is ``INSERT ... ON CONFLICT DO NOTHING RETURNING``; the audit append adds two.

Group commit (the hot path of a fan-out): ``insert_intents`` and ``transition_many`` write any
number of orders in a handful of statements per thousand rows, with the same rows, events and
audit entries as the one-at-a-time functions. ``transition_many`` works on rows the caller read
with ``lock_many`` in the same transaction (``SELECT ... FOR UPDATE`` in id order on PostgreSQL;
SQLite transactions are serialized already), so no version can move under it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from boltztrader.db import positions as positions_repo
from boltztrader.db.audit import BATCH, Pending, log_audit, log_audit_many
from boltztrader.db.tables import broker_orders, fills, order_events
from boltztrader.domain.enums import Broker, Market, OrderType, Product, Side, TimeInForce
from boltztrader.domain.order_states import FILL_EVENTS, TERMINAL, OrderEvent, OrderStatus
from boltztrader.domain.orders import Order
from boltztrader.domain.reports import FillReport
from boltztrader.errors import InvalidTransition, OrderNotFound, TradingError

__all__ = [
    "CREATED",
    "Change",
    "OrderIntent",
    "OrderRecord",
    "VersionConflict",
    "by_broker_id",
    "by_client_id",
    "count_events",
    "find_reported",
    "get",
    "get_many",
    "insert_intent",
    "insert_intents",
    "lock_many",
    "non_terminal",
    "non_terminal_for",
    "record_fill",
    "transition",
    "transition_many",
]

CREATED = "created"  # the order_events name of an intent's first row
MAX_CONFLICT_RETRIES = 5
_DETAILS = ("broker_order_id", "broker_status", "reject_reason")
_ALLOWED_CHANGES = frozenset({*_DETAILS, "filled_quantity", "average_price"})


class VersionConflict(TradingError):
    """The row moved on: ``expected_version`` is stale, or writers kept racing past the retry limit."""


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """One (signal, account) order to insert; ``client_order_id`` is the deterministic one."""

    id: str
    user_id: str
    account_id: str
    client_order_id: str
    broker: str
    symbol: str
    market: str
    side: str
    order_type: str
    time_in_force: str
    quantity: Decimal
    mode: str
    signal_id: str | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    product: str | None = None
    status: OrderStatus = OrderStatus.PENDING_SUBMIT
    detail: Mapping[str, object] = field(default_factory=dict)  # extra audit payload (risk verdict ...)

    @classmethod
    def from_order(cls, order: Order, *, user_id: str, mode: str) -> OrderIntent:
        """The intent of a domain ``Order`` made by ``Order.create``."""
        return cls(id=order.id, user_id=user_id, account_id=order.account_id,
                   client_order_id=order.client_order_id, broker=str(order.broker), symbol=order.symbol,
                   market=str(order.market), side=str(order.side), order_type=str(order.order_type),
                   time_in_force=str(order.time_in_force), quantity=order.quantity, mode=mode,
                   signal_id=order.signal_id, price=order.limit_price, trigger_price=order.trigger_price,
                   product=None if order.product is None else str(order.product), status=order.status)


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One ``broker_orders`` row as read."""

    id: str
    user_id: str
    account_id: str
    signal_id: str | None
    client_order_id: str
    broker: str
    broker_order_id: str | None
    symbol: str
    market: str
    side: str
    order_type: str
    time_in_force: str
    product: str | None
    quantity: Decimal
    price: Decimal | None
    trigger_price: Decimal | None
    status: OrderStatus
    broker_status: str | None
    filled_quantity: Decimal
    average_price: Decimal | None
    reject_reason: str | None
    mode: str
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def chain(self) -> str:
        """The audit chain this order's entries go to."""
        return f"user:{self.user_id}"

    def to_domain(self) -> Order:
        """The domain value, for the state machine and fill arithmetic (a row without a signal
        borrows its client order id as the signal id, which the arithmetic never reads)."""
        return Order(
            id=self.id, client_order_id=self.client_order_id,
            signal_id=self.signal_id or self.client_order_id,
            account_id=self.account_id, broker=Broker(self.broker), market=Market(self.market),
            symbol=self.symbol, side=Side(self.side), order_type=OrderType(self.order_type),
            time_in_force=TimeInForce(self.time_in_force), quantity=self.quantity,
            limit_price=self.price, trigger_price=self.trigger_price,
            product=None if self.product is None else Product(self.product), status=self.status,
            filled_quantity=self.filled_quantity, average_price=self.average_price,
            broker_order_id=self.broker_order_id, broker_status=self.broker_status,
            reject_reason=self.reject_reason, version=self.version,
        )


def _record(row: Row[Any]) -> OrderRecord:
    values = row._mapping
    return OrderRecord(**{name: values[name] for name in OrderRecord.__slots__ if name != "status"},
                       status=OrderStatus(values["status"]))


def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else now


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# -- reads ----------------------------------------------------------------------------------------

async def get(conn: AsyncConnection, order_id: str) -> OrderRecord:
    """The order row; ``OrderNotFound`` when there is none."""
    row = (await conn.execute(select(broker_orders).where(broker_orders.c.id == order_id))).first()
    if row is None:
        raise OrderNotFound(f"no order {order_id}")
    return _record(row)


async def by_client_id(conn: AsyncConnection, client_order_id: str) -> OrderRecord | None:
    """The order with this client order id, or None."""
    row = (await conn.execute(
        select(broker_orders).where(broker_orders.c.client_order_id == client_order_id))).first()
    return None if row is None else _record(row)


async def by_broker_id(conn: AsyncConnection, account_id: str, broker_order_id: str) -> OrderRecord | None:
    """The account's order with this broker order id, or None."""
    row = (await conn.execute(select(broker_orders).where(
        broker_orders.c.account_id == account_id,
        broker_orders.c.broker_order_id == broker_order_id))).first()
    return None if row is None else _record(row)


async def find_reported(conn: AsyncConnection, account_id: str, *, broker_order_id: str | None,
                        client_order_id: str | None) -> OrderRecord | None:
    """Our row for an order the broker reports: by broker id, then client id, then Kite tag prefix.

    A Kite report whose adapter did not place the order carries only the 20-character tag, which is
    the first 20 characters of our client order id (``domain.ids.kite_tag``).
    """
    if broker_order_id is not None:
        found = await by_broker_id(conn, account_id, broker_order_id)
        if found is not None:
            return found
    if client_order_id is None:
        return None
    found = await by_client_id(conn, client_order_id)
    if found is not None:
        return found if found.account_id == account_id else None
    if len(client_order_id) == 20 and client_order_id.isalnum():
        rows = (await conn.execute(select(broker_orders).where(
            broker_orders.c.account_id == account_id,
            broker_orders.c.client_order_id.startswith(client_order_id, autoescape=True)).limit(2))).all()
        if len(rows) == 1:
            return _record(rows[0])
    return None


async def non_terminal(conn: AsyncConnection, account_id: str | None = None, *,
                       statuses: Sequence[OrderStatus] | None = None) -> list[OrderRecord]:
    """Orders not in a terminal status (or in ``statuses``), oldest first, optionally of one account."""
    wanted = [str(s) for s in (statuses or [s for s in OrderStatus if s not in TERMINAL])]
    statement = select(broker_orders).where(broker_orders.c.status.in_(wanted))
    if account_id is not None:
        statement = statement.where(broker_orders.c.account_id == account_id)
    rows = await conn.execute(statement.order_by(broker_orders.c.created_at, broker_orders.c.id))
    return [_record(row) for row in rows]


async def non_terminal_for(conn: AsyncConnection, account_ids: Sequence[str], *,
                           statuses: Sequence[OrderStatus] | None = None) -> dict[str, list[OrderRecord]]:
    """``non_terminal`` of many accounts at once (or their rows in ``statuses``): account id -> its
    rows, oldest first."""
    wanted = [str(s) for s in (statuses or [s for s in OrderStatus if s not in TERMINAL])]
    found: dict[str, list[OrderRecord]] = {account_id: [] for account_id in account_ids}
    ids = list(found)
    for start in range(0, len(ids), BATCH):
        part = ids[start:start + BATCH]
        rows = await conn.execute(
            select(broker_orders)
            .where(broker_orders.c.status.in_(wanted), broker_orders.c.account_id.in_(part))
            .order_by(broker_orders.c.created_at, broker_orders.c.id))
        for row in rows:
            found[row.account_id].append(_record(row))
    return found


async def get_many(conn: AsyncConnection, order_ids: Sequence[str]) -> dict[str, OrderRecord]:
    """The rows of ``order_ids`` that exist, by id (a plain read, nothing locked)."""
    ids = list(dict.fromkeys(order_ids))
    found: dict[str, OrderRecord] = {}
    for start in range(0, len(ids), BATCH):
        part = ids[start:start + BATCH]
        rows = await conn.execute(select(broker_orders).where(broker_orders.c.id.in_(part)))
        found.update((row.id, _record(row)) for row in rows)
    return found


async def lock_many(conn: AsyncConnection, order_ids: Sequence[str]) -> dict[str, OrderRecord]:
    """The rows of ``order_ids`` (those that exist), locked for this transaction in id order."""
    ids = sorted(set(order_ids))
    found: dict[str, OrderRecord] = {}
    for start in range(0, len(ids), BATCH):
        part = ids[start:start + BATCH]
        rows = await conn.execute(select(broker_orders).where(broker_orders.c.id.in_(part))
                                  .order_by(broker_orders.c.id).with_for_update())
        found.update((row.id, _record(row)) for row in rows)
    return found


# -- writes ---------------------------------------------------------------------------------------

async def insert_intent(conn: AsyncConnection, intent: OrderIntent, *, actor: str,
                        now: datetime | None = None) -> str:
    """Insert the intent with its first event and audit entry; idempotent on ``client_order_id``.

    A second insert of the same intent writes nothing and returns the id of the row already there.
    """
    if intent.status not in (OrderStatus.PENDING_SUBMIT, OrderStatus.PENDING_APPROVAL):
        raise ValueError(f"an intent starts in pending_submit or pending_approval, not {intent.status}")
    moment = _now(now)
    values = _intent_values(intent, moment)
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = (dialect_insert(broker_orders).values(values)
                 .on_conflict_do_nothing(index_elements=["client_order_id"]).returning(broker_orders.c.id))
    inserted = (await conn.execute(statement)).scalar_one_or_none()
    if inserted is None:
        existing = (await conn.execute(select(broker_orders.c.id).where(
            broker_orders.c.client_order_id == intent.client_order_id))).scalar_one()
        return str(existing)
    payload = _created_payload(intent)
    await conn.execute(insert(order_events).values(
        order_id=intent.id, event=CREATED, from_status=None, to_status=str(intent.status),
        detail={"client_order_id": intent.client_order_id}, actor=actor, created_at=moment))
    await log_audit(conn, "order", intent.id, "order.created", actor, payload,
                    chain=f"user:{intent.user_id}", now=moment)
    return intent.id


def _intent_values(intent: OrderIntent, moment: datetime) -> dict[str, Any]:
    return {
        "id": intent.id, "user_id": intent.user_id, "account_id": intent.account_id,
        "signal_id": intent.signal_id, "client_order_id": intent.client_order_id, "broker": intent.broker,
        "symbol": intent.symbol, "market": intent.market, "side": intent.side,
        "order_type": intent.order_type, "time_in_force": intent.time_in_force, "product": intent.product,
        "quantity": intent.quantity, "price": intent.price, "trigger_price": intent.trigger_price,
        "status": str(intent.status), "filled_quantity": Decimal(0), "mode": intent.mode, "version": 1,
        "created_at": moment, "updated_at": moment,
    }


def _created_payload(intent: OrderIntent) -> dict[str, object]:
    return {
        "client_order_id": intent.client_order_id, "signal_id": intent.signal_id,
        "account_id": intent.account_id, "symbol": intent.symbol, "side": intent.side,
        "order_type": intent.order_type, "quantity": intent.quantity, "price": intent.price,
        "trigger_price": intent.trigger_price, "status": str(intent.status), **intent.detail,
    }


async def insert_intents(conn: AsyncConnection, intents: Sequence[OrderIntent], *, actor: str,
                         now: datetime | None = None) -> list[OrderRecord]:
    """Insert many intents (group commit), each as ``insert_intent`` would; the rows, in input order.

    Idempotent on ``client_order_id`` like ``insert_intent``: an intent whose client order id is
    stored already writes nothing and yields the stored row.
    """
    for intent in intents:
        if intent.status not in (OrderStatus.PENDING_SUBMIT, OrderStatus.PENDING_APPROVAL):
            raise ValueError(f"an intent starts in pending_submit or pending_approval, not {intent.status}")
    moment = _now(now)
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    inserted: set[str] = set()
    for start in range(0, len(intents), BATCH):
        part = intents[start:start + BATCH]
        statement = (dialect_insert(broker_orders).on_conflict_do_nothing(index_elements=["client_order_id"])
                     .returning(broker_orders.c.id))
        result = await conn.execute(statement, [_intent_values(i, moment) for i in part])
        inserted.update(str(row[0]) for row in result)
    fresh = [i for i in intents if i.id in inserted]
    records: dict[str, OrderRecord] = {}
    stale = [i.client_order_id for i in intents if i.id not in inserted]
    for start in range(0, len(stale), BATCH):
        rows = await conn.execute(select(broker_orders).where(
            broker_orders.c.client_order_id.in_(stale[start:start + BATCH])))
        records.update((row.client_order_id, _record(row)) for row in rows)
    events = [{"order_id": i.id, "event": CREATED, "from_status": None, "to_status": str(i.status),
               "detail": {"client_order_id": i.client_order_id}, "actor": actor, "created_at": moment}
              for i in fresh]
    for start in range(0, len(events), BATCH):
        await conn.execute(insert(order_events), events[start:start + BATCH])
    await log_audit_many(conn, [Pending("order", i.id, "order.created", actor, _created_payload(i),
                                        chain=f"user:{i.user_id}") for i in fresh], now=moment)
    for intent in fresh:
        records[intent.client_order_id] = OrderRecord(
            **{k: v for k, v in _intent_values(intent, moment).items() if k != "status"},
            broker_status=None, broker_order_id=None, average_price=None, reject_reason=None,
            status=intent.status)
    return [records[i.client_order_id] for i in intents]


@dataclass(frozen=True, slots=True)
class Change:
    """One order's event for ``transition_many``: the locked row, the event, its changes."""

    record: OrderRecord
    event: OrderEvent
    changes: Mapping[str, Any] = field(default_factory=dict)
    detail: Mapping[str, object] | None = None


async def transition_many(conn: AsyncConnection, items: Sequence[Change], *, actor: str,
                          now: datetime | None = None) -> list[OrderRecord | InvalidTransition]:
    """Apply many events (group commit), each as ``transition`` would, to rows locked by ``lock_many``
    (or inserted) in this transaction. One result per item, in order: the row as written (unchanged
    for a stale echo), or the ``InvalidTransition`` the table raised for it (nothing written)."""
    moment = _now(now)
    results: list[OrderRecord | InvalidTransition] = []
    updates: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    audits: list[Pending] = []
    moved: list[tuple[OrderRecord, Order]] = []
    latest: dict[str, OrderRecord] = {}  # items for one order chain: each applies to the last one's row
    for item in items:
        unknown = set(item.changes) - _ALLOWED_CHANGES
        if unknown:
            raise TypeError(f"transition got unknown changes: {sorted(unknown)}")
        record, event = latest.get(item.record.id, item.record), OrderEvent(item.event)
        try:
            new = _evolve(record.to_domain(), event, item.changes)
        except InvalidTransition as exc:
            results.append(exc)
            continue
        if _same(new, record):
            results.append(record)
            continue
        name = str(_fill_event(record, new) if event in FILL_EVENTS else event)
        params, event_values, payload = _write_values(record, new, name, actor=actor, now=moment,
                                                      detail=item.detail)
        updates.append(params)
        events.append(event_values)
        audits.append(Pending("order", record.id, f"order.{name}", actor, payload, chain=record.chain))
        if new.filled_quantity > record.filled_quantity:
            moved.append((record, new))
        latest[record.id] = _written(record, new, params["new_version"], moment)
        results.append(latest[record.id])
    for start in range(0, len(updates), BATCH):
        await conn.execute(_UPDATE, updates[start:start + BATCH])
    for start in range(0, len(events), BATCH):
        await conn.execute(insert(order_events), events[start:start + BATCH])
    await log_audit_many(conn, audits, now=moment)
    executions = [e for e in (_execution(record, new) for record, new in moved) if e is not None]
    await positions_repo.apply_executions(conn, executions, now=moment)
    return results


async def transition(conn: AsyncConnection, order_id: str, event: OrderEvent, *, actor: str,
                     expected_version: int | None = None, current: OrderRecord | None = None,
                     now: datetime | None = None, detail: Mapping[str, object] | None = None,
                     **changes: Any) -> OrderRecord:
    """Apply ``event`` (with ``changes``: broker ids, statuses, reasons, cumulative fills) and record it.

    A known stale echo changes nothing (unless it brings a new detail such as the broker order id);
    an event the table refuses raises ``InvalidTransition``. ``current`` saves the read when the
    caller has the row already; ``expected_version`` makes a moved row raise ``VersionConflict``.
    """
    unknown = set(changes) - _ALLOWED_CHANGES
    if unknown:
        raise TypeError(f"transition got unknown changes: {sorted(unknown)}")
    event = OrderEvent(event)
    if event not in FILL_EVENTS and {"filled_quantity", "average_price"} & set(changes):
        raise TypeError("filled_quantity and average_price travel with fill events only")
    record = current
    for _ in range(MAX_CONFLICT_RETRIES):
        if record is None:
            record = await get(conn, order_id)
        if expected_version is not None and record.version != expected_version:
            raise VersionConflict(f"order {order_id} is at version {record.version}, "
                                  f"not {expected_version}")
        new = _evolve(record.to_domain(), event, changes)
        if _same(new, record):
            return record
        name = _fill_event(record, new) if event in FILL_EVENTS else event
        written = await _write(conn, record, new, str(name), actor=actor, now=_now(now), detail=detail)
        if written is not None:
            return written
        record = None  # another writer moved the row: read it again and re-apply
    raise VersionConflict(f"order {order_id} kept changing under {MAX_CONFLICT_RETRIES} attempts")


async def record_fill(conn: AsyncConnection, order_id: str, fill: FillReport, *, actor: str,
                      now: datetime | None = None) -> bool:
    """Store one execution once (by account and broker trade id); False when it was already stored.

    The order's filled quantity becomes the sum of its stored fills when that is ahead of it (a
    cumulative report may have got there first: then the row stays as it is), so however stream,
    poll and duplicate reports interleave, a fill counts once and filled quantity never falls.
    """
    moment = _now(now)
    for _ in range(MAX_CONFLICT_RETRIES):
        record = await get(conn, order_id)
        dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        stored = (await conn.execute(
            dialect_insert(fills).values(
                id=_fill_id(record.account_id, fill.broker_trade_id), order_id=order_id,
                account_id=record.account_id, broker_trade_id=fill.broker_trade_id, symbol=record.symbol,
                side=record.side, quantity=fill.quantity, price=fill.price, fee=fill.fee,
                fee_currency=fill.fee_currency, executed_at=fill.executed_at, recorded_at=moment,
            ).on_conflict_do_nothing(index_elements=["account_id", "broker_trade_id"])
            .returning(fills.c.id))).scalar_one_or_none()
        if stored is None:
            return False
        total, notional = await _fill_totals(conn, order_id)
        if total <= record.filled_quantity:
            return True
        new = record.to_domain().with_cumulative_fill(total, notional / total)
        if fill.broker_order_id and record.broker_order_id is None:
            new = replace(new, broker_order_id=fill.broker_order_id)
        detail = {"broker_trade_id": fill.broker_trade_id, "quantity": str(fill.quantity),
                  "price": str(fill.price)}
        written = await _write(conn, record, new, str(_fill_event(record, new)), actor=actor, now=moment,
                               detail=detail)
        if written is not None:
            return True
        # A concurrent writer moved the row after our read; the fill row is ours, so undo it and retry.
        await conn.execute(fills.delete().where(fills.c.id == stored))
    raise VersionConflict(f"order {order_id} kept changing under {MAX_CONFLICT_RETRIES} attempts")


# -- internals ------------------------------------------------------------------------------------

def _fill_id(account_id: str, trade_id: str) -> str:
    """A deterministic id for a fill row (its natural key hashed), so a retried insert is the same row."""
    return hashlib.sha256(f"{account_id}\n{trade_id}".encode()).hexdigest()[:32]


async def _fill_totals(conn: AsyncConnection, order_id: str) -> tuple[Decimal, Decimal]:
    rows = await conn.execute(select(fills.c.quantity, fills.c.price).where(fills.c.order_id == order_id))
    total, notional = Decimal(0), Decimal(0)
    for quantity, price in rows:
        total += quantity
        notional += quantity * price
    return total, notional


def _evolve(order: Order, event: OrderEvent, changes: Mapping[str, Any]) -> Order:
    if event in FILL_EVENTS:
        if "filled_quantity" not in changes:
            raise ValueError("a fill event needs filled_quantity (the cumulative total)")
        new = order.with_cumulative_fill(changes["filled_quantity"], changes.get("average_price"),
                                         broker_status=changes.get("broker_status"))
    else:
        new = order.apply(event, **{k: changes[k] for k in _DETAILS if k in changes})
    extra = {k: changes[k] for k in ("broker_order_id",) if changes.get(k) is not None}
    if event in FILL_EVENTS and extra and new.broker_order_id is None:
        new = replace(new, **extra)
    return new


def _same(new: Order, record: OrderRecord) -> bool:
    return (new.status is record.status and new.filled_quantity == record.filled_quantity
            and new.average_price == record.average_price and new.broker_order_id == record.broker_order_id
            and new.broker_status == record.broker_status and new.reject_reason == record.reject_reason)


def _fill_event(record: OrderRecord, new: Order) -> OrderEvent:
    return OrderEvent.FILL if new.filled_quantity >= record.quantity else OrderEvent.PARTIAL_FILL


_UPDATE = (
    update(broker_orders)
    .where(broker_orders.c.id == bindparam("b_id"), broker_orders.c.version == bindparam("b_version"))
    .values(status=bindparam("status"), broker_order_id=bindparam("broker_order_id"),
            broker_status=bindparam("broker_status"), filled_quantity=bindparam("filled_quantity"),
            average_price=bindparam("average_price"), reject_reason=bindparam("reject_reason"),
            version=bindparam("new_version"), updated_at=bindparam("updated_at"))
)


_Values = tuple[dict[str, Any], dict[str, Any], dict[str, object]]


def _write_values(record: OrderRecord, new: Order, event: str, *, actor: str, now: datetime,
                  detail: Mapping[str, object] | None) -> _Values:
    """The UPDATE parameters, the ``order_events`` row and the audit payload of one write."""
    version = record.version + 1
    params = {
        "b_id": record.id, "b_version": record.version, "status": str(new.status),
        "broker_order_id": new.broker_order_id, "broker_status": new.broker_status,
        "filled_quantity": new.filled_quantity, "average_price": new.average_price,
        "reject_reason": new.reject_reason, "new_version": version, "updated_at": now,
    }
    event_detail: dict[str, object] = {"version": version, **(detail or {})}
    for name in ("broker_order_id", "broker_status", "reject_reason"):
        if getattr(new, name) != getattr(record, name):
            event_detail[name] = getattr(new, name)
    if new.filled_quantity != record.filled_quantity:
        event_detail["filled_quantity"] = str(new.filled_quantity)
        event_detail["average_price"] = _text(new.average_price)
    event_values = {"order_id": record.id, "event": event, "from_status": str(record.status),
                    "to_status": str(new.status), "detail": event_detail, "actor": actor, "created_at": now}
    payload = {"from": str(record.status), "to": str(new.status), "event": event, **event_detail}
    return params, event_values, payload


def _written(record: OrderRecord, new: Order, version: int, now: datetime) -> OrderRecord:
    return replace(record, status=new.status, broker_order_id=new.broker_order_id,
                   broker_status=new.broker_status, filled_quantity=new.filled_quantity,
                   average_price=new.average_price, reject_reason=new.reject_reason, version=version,
                   updated_at=now)


async def _write(conn: AsyncConnection, record: OrderRecord, new: Order, event: str, *, actor: str,
                 now: datetime, detail: Mapping[str, object] | None) -> OrderRecord | None:
    """Write ``new`` over ``record`` if nobody else has; its event row and audit entry. None on a race."""
    params, event_values, payload = _write_values(record, new, event, actor=actor, now=now, detail=detail)
    if conn.dialect.name == "postgresql":
        moved = _UPDATE.returning(broker_orders.c.id).cte("moved")
        columns = list(event_values)
        source = select(*[
            moved.c.id if name == "order_id"
            else literal(value, type_=order_events.c[name].type).label(name)
            for name, value in event_values.items()
        ])
        statement = insert(order_events).from_select(columns, source).returning(order_events.c.id)
        if (await conn.execute(statement, params)).first() is None:
            return None
    else:
        if (await conn.execute(_UPDATE, params)).rowcount != 1:
            return None
        await conn.execute(insert(order_events).values(event_values))
    await log_audit(conn, "order", record.id, f"order.{event}", actor, payload, chain=record.chain, now=now)
    if new.filled_quantity > record.filled_quantity:
        await _move_position(conn, record, new, now)
    return _written(record, new, params["new_version"], now)


def _execution(record: OrderRecord, new: Order) -> positions_repo.Execution | None:
    """What a write that raised the filled quantity executed (from cumulative totals, so a broker
    that reports only totals, as Kite does, moves positions as exactly as one with fills); None for
    a report without a price (reconciliation catches the rest)."""
    quantity = new.filled_quantity - record.filled_quantity
    before = record.filled_quantity * (record.average_price or Decimal(0))
    after = new.filled_quantity * (new.average_price or Decimal(0))
    price = (after - before) / quantity if after > before else (new.average_price or Decimal(0))
    if price <= 0:
        return None
    return positions_repo.Execution(record.account_id, record.symbol, record.market, Side(record.side),
                                    quantity, price)


async def _move_position(conn: AsyncConnection, record: OrderRecord, new: Order, now: datetime) -> None:
    """Move the account's position by what this write newly filled."""
    execution = _execution(record, new)
    if execution is not None:
        await positions_repo.apply_execution(conn, account_id=execution.account_id, symbol=execution.symbol,
                                             market=execution.market, side=execution.side,
                                             quantity=execution.quantity, price=execution.price, now=now)


async def count_events(conn: AsyncConnection, order_id: str) -> int:
    """How many ``order_events`` rows the order has (tests and operators)."""
    statement = select(func.count()).select_from(order_events).where(order_events.c.order_id == order_id)
    return int((await conn.execute(statement)).scalar_one())
