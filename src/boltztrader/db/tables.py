"""The schema as SQLAlchemy Core tables; the Alembic chain in ``migrations/`` builds exactly this.

Core rather than ORM: the hot path writes order intents and audit entries in batches, and an
ORM unit of work per order costs more than the whole insert (see the architecture's table).
Enum-valued columns hold the lowercase values of the domain's enums.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

from boltztrader.db.types import ExactDecimal, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

Json = JSON().with_variant(JSONB(), "postgresql")

ORDER_STATUSES = (
    "pending_approval", "pending_submit", "submitting", "open", "partially_filled", "pending_cancel",
    "unknown", "filled", "cancelled", "expired", "rejected", "denied", "declined",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False, default=""),
    Column("role", String(16), nullable=False, default="user"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("disabled_at", UTCDateTime(), nullable=True),
    CheckConstraint(_in("role", ("user", "admin")), name="role"),
)

broker_accounts = Table(
    "broker_accounts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="RESTRICT"), nullable=False),
    Column("broker", String(16), nullable=False),
    Column("label", String(100), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("region", String(16), nullable=False),
    # The key is an identifier the broker shows in its own console; the secret and token are not.
    Column("api_key", String(200), nullable=False),
    Column("api_secret_ciphertext", LargeBinary(), nullable=True),
    Column("access_token_ciphertext", LargeBinary(), nullable=True),
    Column("access_token_expires_at", UTCDateTime(), nullable=True),
    Column("execution_mode", String(16), nullable=False, default="automated"),
    Column("trading_state", String(16), nullable=False, default="active"),
    Column("settings", Json, nullable=False, default=dict),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("unlinked_at", UTCDateTime(), nullable=True),
    UniqueConstraint("user_id", "broker", "label"),
    CheckConstraint(_in("broker", ("zerodha", "binance", "alpaca")), name="broker"),
    CheckConstraint(_in("mode", ("paper", "live")), name="mode"),
    CheckConstraint(_in("execution_mode", ("automated", "semi_manual")), name="execution_mode"),
    CheckConstraint(_in("trading_state", ("active", "reducing", "halted")), name="trading_state"),
)

signals = Table(
    "signals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("model_id", String(100), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("market", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", ExactDecimal(), nullable=True),
    Column("notional", ExactDecimal(), nullable=True),
    Column("limit_price", ExactDecimal(), nullable=True),
    Column("confidence", ExactDecimal(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("broker_hint", String(16), nullable=True),
    Column("account_id_hint", String(36), nullable=True),
    Column("user_id_hint", String(36), nullable=True),
    Column("region_hint", String(16), nullable=True),
    Column("fingerprint", String(64), nullable=False),
    Column("source", String(16), nullable=False, default="api"),
    CheckConstraint(_in("side", ("buy", "sell")), name="side"),
    CheckConstraint("(quantity IS NULL) <> (notional IS NULL)", name="quantity_xor_notional"),
    Index("ix_signals_model_id_received_at", "model_id", "received_at"),
)

broker_orders = Table(
    "broker_orders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="RESTRICT"), nullable=False),
    Column("account_id", String(36), ForeignKey("broker_accounts.id", ondelete="RESTRICT"), nullable=False),
    Column("signal_id", String(64), ForeignKey("signals.id", ondelete="RESTRICT"), nullable=True),
    Column("client_order_id", String(64), nullable=False, unique=True),
    Column("broker", String(16), nullable=False),
    Column("broker_order_id", String(64), nullable=True),
    Column("symbol", String(64), nullable=False),
    Column("market", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("order_type", String(16), nullable=False),
    Column("time_in_force", String(8), nullable=False),
    Column("product", String(8), nullable=True),
    Column("quantity", ExactDecimal(), nullable=False),
    Column("price", ExactDecimal(), nullable=True),
    Column("trigger_price", ExactDecimal(), nullable=True),
    Column("status", String(20), nullable=False),
    Column("broker_status", String(40), nullable=True),
    Column("filled_quantity", ExactDecimal(), nullable=False, default=0),
    Column("average_price", ExactDecimal(), nullable=True),
    Column("reject_reason", Text(), nullable=True),
    Column("mode", String(8), nullable=False),
    Column("version", Integer(), nullable=False, default=1),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("account_id", "broker_order_id"),
    CheckConstraint(_in("status", ORDER_STATUSES), name="status"),
    CheckConstraint(_in("side", ("buy", "sell")), name="side"),
    CheckConstraint(_in("mode", ("paper", "live")), name="mode"),
    Index("ix_broker_orders_account_id_status", "account_id", "status"),
    Index("ix_broker_orders_user_id_created_at", "user_id", "created_at"),
)

fills = Table(
    "fills",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("order_id", String(36), ForeignKey("broker_orders.id", ondelete="RESTRICT"), nullable=False),
    Column("account_id", String(36), ForeignKey("broker_accounts.id", ondelete="RESTRICT"), nullable=False),
    Column("broker_trade_id", String(64), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", ExactDecimal(), nullable=False),
    Column("price", ExactDecimal(), nullable=False),
    Column("fee", ExactDecimal(), nullable=True),
    Column("fee_currency", String(16), nullable=True),
    Column("executed_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    UniqueConstraint("account_id", "broker_trade_id"),
    Index("ix_fills_order_id", "order_id"),
)

order_events = Table(
    "order_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("order_id", String(36), ForeignKey("broker_orders.id", ondelete="RESTRICT"), nullable=False),
    Column("event", String(32), nullable=False),
    Column("from_status", String(20), nullable=True),
    Column("to_status", String(20), nullable=False),
    Column("detail", Json, nullable=False, default=dict),
    Column("actor", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_order_events_order_id_id", "order_id", "id"),
)

# The audit ledger: one hash chain per partition (``chain``), gapless ``seq`` within it.
audit_ledger = Table(
    "audit_ledger",
    metadata,
    Column("chain", String(100), primary_key=True),
    Column("seq", BigInteger(), primary_key=True, autoincrement=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("entity", String(100), nullable=False),
    Column("entity_id", String(200), nullable=False),
    Column("payload", Text(), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    CheckConstraint("seq >= 1", name="seq_positive"),
    Index("ix_audit_ledger_entity_entity_id", "entity", "entity_id"),
)

# The head of each chain: the row lock on it is what makes ``seq`` gapless under concurrency.
audit_heads = Table(
    "audit_heads",
    metadata,
    Column("chain", String(100), primary_key=True),
    Column("seq", BigInteger(), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# A user follows a model: its signals fan out to the user's account for the signal's market,
# sized by the user's own rule. ``account_id`` NULL: route by market.
model_subscriptions = Table(
    "model_subscriptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="RESTRICT"), nullable=False),
    Column("model_id", String(100), nullable=False),
    Column("account_id", String(36), ForeignKey("broker_accounts.id", ondelete="RESTRICT"), nullable=True),
    Column("sizing", String(16), nullable=False),
    Column("sizing_value", ExactDecimal(), nullable=True),
    Column("active", Boolean(), nullable=False, default=True),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("user_id", "model_id", "account_id"),
    CheckConstraint(_in("sizing", ("signal", "fixed_quantity", "fixed_notional", "percent_equity")),
                    name="sizing"),
    Index("ix_model_subscriptions_model_id", "model_id"),
)

# Risk limits per scope: 'global' (the admin policy, which only tightens), 'user' or 'account'.
risk_limits = Table(
    "risk_limits",
    metadata,
    Column("scope", String(8), primary_key=True),
    Column("scope_id", String(36), primary_key=True),
    Column("limits", Json, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(200), nullable=False),
    CheckConstraint(_in("scope", ("global", "user", "account")), name="scope"),
)

# The kill switch: a trading state per scope; the effective state is the most restrictive.
trading_states = Table(
    "trading_states",
    metadata,
    Column("scope", String(8), primary_key=True),
    Column("scope_id", String(36), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("reason", Text(), nullable=False, default=""),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(200), nullable=False),
    CheckConstraint(_in("scope", ("global", "user", "account")), name="scope"),
    CheckConstraint(_in("state", ("active", "reducing", "halted")), name="state"),
)

# Positions per account, kept from our orders' executions (reconciled with the broker's own).
positions = Table(
    "positions",
    metadata,
    Column("account_id", String(36), ForeignKey("broker_accounts.id", ondelete="RESTRICT"), primary_key=True),
    Column("symbol", String(64), primary_key=True),
    Column("market", String(32), nullable=False),
    Column("quantity", ExactDecimal(), nullable=False),
    Column("average_price", ExactDecimal(), nullable=False),
    Column("realized_pnl", ExactDecimal(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# API tokens of users. Only the SHA-256 of a token is stored, never the token: tokens are 256
# random bits, so a fast hash is right (nothing to guess, unlike a password) and lets a request
# find its token by an indexed equality lookup. ``prefix`` (8 characters after ``btz_``) is shown
# to people to tell tokens apart; it is not enough to use one.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="RESTRICT"), nullable=False),
    Column("name", String(100), nullable=False, default=""),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(8), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_used_at", UTCDateTime(), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Index("ix_api_tokens_user_id", "user_id"),
)

__all__ = [
    "ORDER_STATUSES", "api_tokens", "audit_heads", "audit_ledger", "broker_accounts", "broker_orders",
    "fills", "metadata", "model_subscriptions", "order_events", "positions", "risk_limits", "signals",
    "trading_states", "users",
]

# Several processes on one PostgreSQL (revision 0007). Each ``boltz worker`` registers here and
# heartbeats; a worker is live while its heartbeat is younger than the lease TTL.
workers = Table(
    "workers",
    metadata,
    Column("worker_id", String(64), primary_key=True),
    Column("label", String(200), nullable=False),  # host:pid, for operators
    Column("started_at", UTCDateTime(), nullable=False),
    Column("heartbeat_at", UTCDateTime(), nullable=False),
)

# Which worker trades an account right now. ``epoch`` is the fencing counter: every takeover bumps
# it, so a renewal that finds another owner or a higher epoch knows its lease was lost.
account_leases = Table(
    "account_leases",
    metadata,
    Column("account_id", String(36), ForeignKey("broker_accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("worker_id", String(64), nullable=True),  # NULL: free
    Column("epoch", BigInteger(), nullable=False, default=0),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("acquired_at", UTCDateTime(), nullable=True),
    Index("ix_account_leases_worker_id", "worker_id"),
)

# Shared request-weight budgets (one per egress IP and broker): weight used in each window.
weight_budgets = Table(
    "weight_budgets",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("window_start", UTCDateTime(), primary_key=True),
    Column("used", Integer(), nullable=False, default=0),
    Column("limit", Integer(), nullable=False),
    CheckConstraint("used >= 0", name="used_not_negative"),
)

__all__ += ["account_leases", "weight_budgets", "workers"]
