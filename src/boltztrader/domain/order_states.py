"""The order state machine: statuses, events, and the one table of allowed transitions.

Statuses change only through ``TRANSITIONS``. An event the table does not allow raises
``InvalidTransition``; the caller logs it and triggers a reconcile rather than guessing.

Terminal statuses absorb: no event leads out of them, so ``next_status`` raises for every event
on a terminal order. Brokers do repeat themselves, though (a stream ack after the REST ack, a
second CANCELED report), so ``STALE_EVENTS`` lists the (status, event) pairs that are known echoes
carrying no news. They are *not* transitions: ``next_status`` still raises for them, and
``Order.apply`` checks ``is_stale`` first and returns the order unchanged.

Fill quantities are not in this table (it only knows statuses): ``Order.apply_fill`` and
``Order.with_cumulative_fill`` pick ``partial_fill`` or ``fill`` from the arithmetic, and never
let filled quantity move backwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from boltztrader.domain.enums import ExecutionMode
from boltztrader.errors import InvalidTransition

__all__ = [
    "ACTIVE_AT_BROKER",
    "FILL_EVENTS",
    "STALE_EVENTS",
    "TERMINAL",
    "TRANSITIONS",
    "OrderEvent",
    "OrderStatus",
    "allowed_events",
    "initial_status",
    "is_stale",
    "next_status",
]


class OrderStatus(StrEnum):
    """Where an order stands; see the architecture's state machine for each meaning."""

    PENDING_APPROVAL = "pending_approval"
    PENDING_SUBMIT = "pending_submit"
    SUBMITTING = "submitting"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_CANCEL = "pending_cancel"
    UNKNOWN = "unknown"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    DENIED = "denied"
    DECLINED = "declined"

    @property
    def is_terminal(self) -> bool:
        """Terminal statuses absorb: nothing moves an order out of them."""
        return self in TERMINAL


class OrderEvent(StrEnum):
    """Something that happened to an order: a decision of ours or a report from the broker."""

    APPROVE = "approve"  # a human approved a semi-manual order
    DECLINE = "decline"  # a human declined it
    APPROVAL_EXPIRED = "approval_expired"  # nobody decided within the approval TTL
    DENY = "deny"  # our risk guard refused: nothing was, or will be, sent
    SUBMIT_STARTED = "submit_started"  # a worker took the order and is about to send it
    NOT_SENT = "not_sent"  # the connection never opened: safe to send again later
    OUTCOME_UNKNOWN = "outcome_unknown"  # the request may have reached the broker
    ACCEPTED = "accepted"  # the broker acknowledged the order
    REJECTED = "rejected"  # the broker refused the order (possibly after acknowledging it)
    RESOLVED_OPEN = "resolved_open"  # a lookup of an unknown order found it working, unfilled
    RESOLVED_NOT_FOUND = "resolved_not_found"  # a lookup proved the broker never took it
    PARTIAL_FILL = "partial_fill"  # some, not all, of the quantity filled
    FILL = "fill"  # the whole quantity has now filled
    CANCEL_REQUESTED = "cancel_requested"  # we asked the broker to cancel
    CANCEL_REJECTED = "cancel_rejected"  # the broker refused the cancel; the order, unfilled, works on
    CANCEL_REJECTED_WITH_FILLS = "cancel_rejected_with_fills"  # same, for an order with some fills
    CANCELLED = "cancelled"  # cancelled at the broker, or withdrawn by us before it was sent
    EXPIRED = "expired"  # the time in force ran out (day end, IOC/FOK remainder)


S = OrderStatus
E = OrderEvent

TERMINAL: frozenset[OrderStatus] = frozenset(
    {S.FILLED, S.CANCELLED, S.EXPIRED, S.REJECTED, S.DENIED, S.DECLINED}
)

#: Statuses in which the broker may hold a live order (what reconcile compares against the broker).
ACTIVE_AT_BROKER: frozenset[OrderStatus] = frozenset(
    {S.SUBMITTING, S.OPEN, S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.UNKNOWN}
)

FILL_EVENTS: frozenset[OrderEvent] = frozenset({E.PARTIAL_FILL, E.FILL})

# Reports that arrive in ``submitting`` came over the broker's stream before its HTTP answer, which
# is common (Binance sends executionReport first); the same reports resolve an ``unknown`` order.
_BROKER_OUTCOMES: dict[OrderEvent, OrderStatus] = {
    E.ACCEPTED: S.OPEN,
    E.REJECTED: S.REJECTED,
    E.PARTIAL_FILL: S.PARTIALLY_FILLED,
    E.FILL: S.FILLED,
    E.CANCELLED: S.CANCELLED,
    E.EXPIRED: S.EXPIRED,
}

_TABLE: dict[tuple[OrderStatus, OrderEvent], OrderStatus] = {
    (S.PENDING_APPROVAL, E.APPROVE): S.PENDING_SUBMIT,
    (S.PENDING_APPROVAL, E.DECLINE): S.DECLINED,
    (S.PENDING_APPROVAL, E.APPROVAL_EXPIRED): S.DECLINED,
    (S.PENDING_APPROVAL, E.DENY): S.DENIED,  # approval re-runs the risk checks
    (S.PENDING_SUBMIT, E.SUBMIT_STARTED): S.SUBMITTING,
    (S.PENDING_SUBMIT, E.DENY): S.DENIED,  # e.g. the signal went stale in the throttle queue
    (S.PENDING_SUBMIT, E.CANCELLED): S.CANCELLED,  # withdrawn before it was ever sent
    **{(S.SUBMITTING, event): status for event, status in _BROKER_OUTCOMES.items()},
    (S.SUBMITTING, E.OUTCOME_UNKNOWN): S.UNKNOWN,
    (S.SUBMITTING, E.NOT_SENT): S.PENDING_SUBMIT,
    (S.OPEN, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.OPEN, E.FILL): S.FILLED,
    (S.OPEN, E.CANCEL_REQUESTED): S.PENDING_CANCEL,
    (S.OPEN, E.CANCELLED): S.CANCELLED,  # cancelled by the broker or exchange, not by us
    (S.OPEN, E.EXPIRED): S.EXPIRED,
    (S.OPEN, E.REJECTED): S.REJECTED,  # Kite and Alpaca can reject after acknowledging
    (S.PARTIALLY_FILLED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.FILL): S.FILLED,
    (S.PARTIALLY_FILLED, E.CANCEL_REQUESTED): S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, E.CANCELLED): S.CANCELLED,
    (S.PARTIALLY_FILLED, E.EXPIRED): S.EXPIRED,
    # A fill can race a cancel: the order stays pending_cancel until the broker settles it.
    (S.PENDING_CANCEL, E.PARTIAL_FILL): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, E.FILL): S.FILLED,
    (S.PENDING_CANCEL, E.CANCELLED): S.CANCELLED,
    (S.PENDING_CANCEL, E.EXPIRED): S.EXPIRED,
    (S.PENDING_CANCEL, E.REJECTED): S.REJECTED,
    (S.PENDING_CANCEL, E.CANCEL_REJECTED): S.OPEN,
    (S.PENDING_CANCEL, E.CANCEL_REJECTED_WITH_FILLS): S.PARTIALLY_FILLED,
    **{(S.UNKNOWN, event): status for event, status in _BROKER_OUTCOMES.items()},
    (S.UNKNOWN, E.RESOLVED_OPEN): S.OPEN,
    (S.UNKNOWN, E.RESOLVED_NOT_FOUND): S.REJECTED,  # never placed, and never to be resent
}

TRANSITIONS: Mapping[tuple[OrderStatus, OrderEvent], OrderStatus] = MappingProxyType(_TABLE)

STALE_EVENTS: frozenset[tuple[OrderStatus, OrderEvent]] = frozenset(
    {
        # The stream's ack after the REST ack, or after a fill or final report overtook it.
        *((status, E.ACCEPTED) for status in (S.OPEN, S.PARTIALLY_FILLED, S.PENDING_CANCEL)),
        *((status, E.ACCEPTED) for status in (S.FILLED, S.CANCELLED, S.EXPIRED, S.REJECTED)),
        (S.PENDING_CANCEL, E.CANCEL_REQUESTED),  # a second cancel click
        # The same final report twice (stream and poll both deliver it).
        (S.CANCELLED, E.CANCELLED),
        (S.EXPIRED, E.EXPIRED),
        (S.REJECTED, E.REJECTED),
        (S.DENIED, E.DENY),
        (S.DECLINED, E.DECLINE),
        (S.DECLINED, E.APPROVAL_EXPIRED),
    }
)


def next_status(current: OrderStatus, event: OrderEvent) -> OrderStatus:
    """The status after ``event``; raise ``InvalidTransition`` if the table does not allow it."""
    try:
        return TRANSITIONS[(current, event)]
    except KeyError:
        detail = (
            "terminal status absorbs every event" if current in TERMINAL else "not in the transition table"
        )
        raise InvalidTransition(str(current), str(event), detail) from None


def is_stale(current: OrderStatus, event: OrderEvent) -> bool:
    """True for a known late or repeated report that changes nothing (see ``STALE_EVENTS``)."""
    return (current, event) in STALE_EVENTS


def allowed_events(current: OrderStatus) -> frozenset[OrderEvent]:
    """The events the table accepts in ``current`` (empty for a terminal status)."""
    return frozenset(event for status, event in TRANSITIONS if status is current)


def initial_status(mode: ExecutionMode) -> OrderStatus:
    """Where a new order intent starts: semi-manual orders wait for a human, automated ones for a worker."""
    return S.PENDING_APPROVAL if mode is ExecutionMode.SEMI_MANUAL else S.PENDING_SUBMIT
