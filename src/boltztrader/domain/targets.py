"""Who a signal is for: accounts, model subscriptions with their sizing rules, and order targets."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from boltztrader.domain.enums import AccountMode, Broker, ExecutionMode, Market


class Sizing(StrEnum):
    """How a subscriber sizes a model's signal for their own account."""

    SIGNAL = "signal"  # the signal's own quantity or notional
    FIXED_QUANTITY = "fixed_quantity"
    FIXED_NOTIONAL = "fixed_notional"
    PERCENT_EQUITY = "percent_equity"  # sizing_value percent of the account's equity, as notional


@dataclass(frozen=True, slots=True)
class AccountRef:
    """A linked broker account as routing needs it (no credentials here)."""

    account_id: str
    user_id: str
    broker: Broker
    mode: AccountMode
    execution_mode: ExecutionMode
    label: str = ""


@dataclass(frozen=True, slots=True)
class Subscription:
    user_id: str
    model_id: str
    sizing: Sizing
    sizing_value: Decimal | None = None
    account_id: str | None = None  # None: the user's account for the signal's market

    def __post_init__(self) -> None:
        if self.sizing is not Sizing.SIGNAL and (self.sizing_value is None or self.sizing_value <= 0):
            raise ValueError(f"{self.sizing} sizing needs a positive sizing_value")
        if self.sizing is Sizing.PERCENT_EQUITY and self.sizing_value is not None and self.sizing_value > 100:
            raise ValueError("percent_equity sizing is at most 100")


@dataclass(frozen=True, slots=True)
class Target:
    """One (signal, account) pair: it becomes exactly one order intent."""

    account: AccountRef
    market: Market
    sizing: Sizing
    sizing_value: Decimal | None = None
