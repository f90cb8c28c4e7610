"""A position kept from executions: signed quantity, average entry price, realised profit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from boltztrader.domain.enums import Side

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Holding:
    """Negative quantity is short. The average price is that of the open quantity; closing part of a
    position realises (exit - entry) x closed quantity (reversed for shorts)."""

    quantity: Decimal = ZERO
    average_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO

    def apply(self, side: Side, quantity: Decimal, price: Decimal) -> Holding:
        """The holding after an execution of ``quantity`` (> 0) at ``price`` on ``side``."""
        if quantity <= 0 or price <= 0:
            raise ValueError("an execution has a positive quantity and price")
        signed = quantity if side is Side.BUY else -quantity
        current = self.quantity
        if current == 0 or (current > 0) == (signed > 0):  # opening or adding
            total = current + signed
            average = (abs(current) * self.average_price + quantity * price) / abs(total)
            return Holding(total, average, self.realized_pnl)
        closed = min(abs(current), quantity)
        direction = Decimal(1) if current > 0 else Decimal(-1)
        realized = self.realized_pnl + (price - self.average_price) * closed * direction
        total = current + signed
        if total == 0:
            return Holding(ZERO, ZERO, realized)
        if (total > 0) == (current > 0):  # reduced, same side
            return Holding(total, self.average_price, realized)
        return Holding(total, price, realized)  # flipped: the rest opens at this price
