"""The whole exception tree of BoltzTrader.

A leaf module: it imports nothing of ours, so every layer may raise and catch these.
Callers branch on the class, never on message text. Messages never carry secrets.
"""

from __future__ import annotations

from decimal import Decimal


class TradingError(Exception):
    """Root of every error BoltzTrader raises on purpose."""


class ConfigError(TradingError):
    """A setting is missing, unknown or malformed; the process cannot run as configured."""


class OrderRejected(TradingError):
    """A definitive no: the order was not, and will not be, placed."""


class RiskRejected(OrderRejected):
    """Our risk guard refused the order; nothing was sent (the order becomes ``denied``)."""

    def __init__(self, reasons: tuple[str, ...] | list[str], message: str = "") -> None:
        self.reasons = tuple(reasons)
        super().__init__(message or "risk guard denied the order: " + ", ".join(self.reasons))


class BrokerRejected(OrderRejected):
    """The broker refused the order (the order becomes ``rejected``)."""

    def __init__(self, broker: str, code: str | int | None, message: str) -> None:
        self.broker = broker
        self.code = code
        self.broker_message = message
        super().__init__(f"{broker} rejected the order ({code}): {message}")


class InsufficientFunds(BrokerRejected):
    """The broker says the account cannot pay for the order."""


class InvalidOrder(BrokerRejected):
    """The broker says the order's shape is wrong (tick, lot, filter, minimum notional)."""


class MarketClosed(BrokerRejected):
    """The broker says the market or instrument is not trading now."""


class DuplicateOrder(BrokerRejected):
    """The broker already holds an order with this client order id."""


class OrderNotFound(TradingError):
    """No such order, at the broker or in our books."""


class InvalidTransition(TradingError):
    """An order event that the state machine's table does not allow."""

    def __init__(self, current: str, event: str, detail: str = "") -> None:
        self.current = current
        self.event = event
        text = f"event {event!r} is not allowed in status {current!r}"
        super().__init__(f"{text}: {detail}" if detail else text)


class BrokerAuthError(TradingError):
    """Token expired or key refused: halt that account until a human logs in again."""


class BrokerUnavailable(TradingError):
    """Nothing happened at the broker; a later retry may succeed."""


class RateLimited(BrokerUnavailable):
    """The broker asked us to slow down; wait ``retry_after`` seconds before the next call."""

    def __init__(self, message: str, retry_after: Decimal | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class BrokerDown(BrokerUnavailable):
    """The broker answered that it is down or in maintenance, before acting."""


class ConnectionFailed(BrokerUnavailable):
    """The request never left our machine (connect refused or timed out): safe to retry."""


class OutcomeUnknown(TradingError):
    """The request may have reached the broker; resolve by looking the order up, never by resending."""


class BrokerProtocolError(TradingError):
    """A broker response did not match its wire schema."""


class SignalConflict(TradingError):
    """A signal id arrived again with different content: refused, nothing sent (HTTP 409)."""


class DatabaseUnavailable(TradingError):
    """Our own database cannot be reached: take no new work, send nothing."""


class CredentialError(TradingError):
    """A stored credential does not open: bound elsewhere, altered, or under a master key not held."""


class LedgerIntegrityError(TradingError):
    """The audit ledger's hash chain does not verify."""

    def __init__(self, message: str, *, chain: str | None = None, seq: int | None = None) -> None:
        self.chain = chain
        self.seq = seq
        super().__init__(message)


class AccountError(TradingError):
    """Linking, renewing or unlinking a broker account failed; messages name the account, never a secret."""


class InvalidAccountLink(AccountError, ValueError):
    """The details given to link an account are malformed (``field`` names which); nothing was written."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"cannot link the account: {reason}")


class AccountConflict(AccountError):
    """The user already has a linked account at that broker under that label (HTTP 409)."""


class AccountNotFound(AccountError):
    """No such broker account, or it is unlinked."""


class PaperBrokerError(TradingError):
    """A paper broker answered its admin API with an error, or with something that is not an account."""


class PaperBrokerUnreachable(PaperBrokerError):
    """A paper broker could not be reached, or gave no complete answer."""


class AuthError(TradingError):
    """The caller's API token is missing, unknown or revoked, or its user is disabled (HTTP 401)."""


class Forbidden(TradingError):
    """The caller is known but may not do this, e.g. a user asking for an admin's action (HTTP 403)."""


class NotFound(TradingError):
    """No such user, API token or other named thing (HTTP 404)."""


class AlreadyExists(TradingError):
    """What was to be created exists already, e.g. a user with that email (HTTP 409)."""


class InvalidInput(TradingError, ValueError):
    """A value a caller gave is malformed, e.g. an email address or a role; nothing changed (HTTP 422)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class InvalidLoginState(AccountError):
    """A broker login came back with a state we did not issue, or one used already or expired (HTTP 400)."""
