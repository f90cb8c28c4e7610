"""One Alpaca order as the book keeps it, its status rules, and the stream notices beside engine events."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from boltztrader.paper.alpaca.wire import OrderInput
from boltztrader.paper.model import Event, Order, State

FINAL = frozenset({"filled", "canceled", "expired", "replaced", "rejected"})


@dataclass(slots=True, eq=False)
class AlpacaOrder:
    """One Alpaca order: the wire-level facts, and the engine order once it is routed."""

    id: str
    client_order_id: str
    account_id: str
    spec: OrderInput
    asset_id: str
    position_intent: str
    submitted_at: datetime
    updated_at: datetime
    engine: Order | None = None  # None while queued for the session
    queued_status: str = "accepted"  # "accepted", or "canceled" when cancelled in the queue
    pending_cancel: bool = False
    expiring: bool = False  # cancelled by the session's end: reported as expired
    canceled_at: datetime | None = None
    replaced_at: datetime | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    position_after: dict[int, Decimal] = field(default_factory=dict)  # trade id -> position qty after it

    @property
    def symbol(self) -> str:
        return self.spec.symbol

    def status_for(self, state: State | None) -> str:
        """The Alpaca status for an engine state (None: not routed yet)."""
        if state is None:
            return self.queued_status
        if state is State.CANCELLED:
            if self.replaced_by is not None:
                return "replaced"
            return "expired" if self.expiring else "canceled"
        if self.pending_cancel and not state.is_final:
            return "pending_cancel"
        return _STATUS[state]

    @property
    def status(self) -> str:
        return self.status_for(None if self.engine is None else self.engine.state)


_STATUS = {State.PENDING_TRIGGER: "new", State.OPEN: "new", State.PARTIALLY_FILLED: "partially_filled",
           State.FILLED: "filled", State.CANCELLED: "canceled", State.EXPIRED: "expired",
           State.REJECTED: "rejected"}


@dataclass(frozen=True, slots=True)
class Notice:
    """A trade update the engine has no event for (pending_cancel, a queued order cancelled)."""

    order: AlpacaOrder
    event: str
    time: datetime
    event_id: str


Sink = asyncio.Queue[Notice | Event | None]  # a stream connection's feed; None closes it
