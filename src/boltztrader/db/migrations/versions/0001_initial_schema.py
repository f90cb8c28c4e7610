"""Initial schema: users, broker accounts, signals, orders, fills and order events.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from boltztrader.db.types import ExactDecimal, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signals",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=100), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("market", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("quantity", ExactDecimal(), nullable=True),
        sa.Column("notional", ExactDecimal(), nullable=True),
        sa.Column("limit_price", ExactDecimal(), nullable=True),
        sa.Column("confidence", ExactDecimal(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("broker_hint", sa.String(length=16), nullable=True),
        sa.Column("account_id_hint", sa.String(length=36), nullable=True),
        sa.Column("user_id_hint", sa.String(length=36), nullable=True),
        sa.Column("region_hint", sa.String(length=16), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.CheckConstraint("side IN ('buy', 'sell')", name=op.f("ck_signals_side")),
        sa.CheckConstraint(
            "(quantity IS NULL) <> (notional IS NULL)", name=op.f("ck_signals_quantity_xor_notional")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
    )
    op.create_index("ix_signals_model_id_received_at", "signals", ["model_id", "received_at"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('user', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "broker_accounts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("broker", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("api_key", sa.String(length=200), nullable=False),
        sa.Column("api_secret_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("access_token_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("access_token_expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("execution_mode", sa.String(length=16), nullable=False),
        sa.Column("trading_state", sa.String(length=16), nullable=False),
        sa.Column(
            "settings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("unlinked_at", UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "broker IN ('zerodha', 'binance', 'alpaca')", name=op.f("ck_broker_accounts_broker")
        ),
        sa.CheckConstraint(
            "execution_mode IN ('automated', 'semi_manual')", name=op.f("ck_broker_accounts_execution_mode")
        ),
        sa.CheckConstraint("mode IN ('paper', 'live')", name=op.f("ck_broker_accounts_mode")),
        sa.CheckConstraint(
            "trading_state IN ('active', 'reducing', 'halted')", name=op.f("ck_broker_accounts_trading_state")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_broker_accounts_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broker_accounts")),
        sa.UniqueConstraint(
            "user_id", "broker", "label", name=op.f("uq_broker_accounts_user_id_broker_label")
        ),
    )
    op.create_table(
        "broker_orders",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("signal_id", sa.String(length=64), nullable=True),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("broker", sa.String(length=16), nullable=False),
        sa.Column("broker_order_id", sa.String(length=64), nullable=True),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("market", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("order_type", sa.String(length=16), nullable=False),
        sa.Column("time_in_force", sa.String(length=8), nullable=False),
        sa.Column("product", sa.String(length=8), nullable=True),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        sa.Column("price", ExactDecimal(), nullable=True),
        sa.Column("trigger_price", ExactDecimal(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("broker_status", sa.String(length=40), nullable=True),
        sa.Column("filled_quantity", ExactDecimal(), nullable=False),
        sa.Column("average_price", ExactDecimal(), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("mode IN ('paper', 'live')", name=op.f("ck_broker_orders_mode")),
        sa.CheckConstraint("side IN ('buy', 'sell')", name=op.f("ck_broker_orders_side")),
        sa.CheckConstraint(
            "status IN ('pending_approval', 'pending_submit', 'submitting', 'open', 'partially_filled', 'pending_cancel', 'unknown', 'filled', 'cancelled', 'expired', 'rejected', 'denied', 'declined')",
            name=op.f("ck_broker_orders_status"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["broker_accounts.id"],
            name=op.f("fk_broker_orders_account_id_broker_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["signal_id"],
            ["signals.id"],
            name=op.f("fk_broker_orders_signal_id_signals"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_broker_orders_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broker_orders")),
        sa.UniqueConstraint(
            "account_id", "broker_order_id", name=op.f("uq_broker_orders_account_id_broker_order_id")
        ),
        sa.UniqueConstraint("client_order_id", name=op.f("uq_broker_orders_client_order_id")),
    )
    op.create_index(
        "ix_broker_orders_account_id_status", "broker_orders", ["account_id", "status"], unique=False
    )
    op.create_index(
        "ix_broker_orders_user_id_created_at", "broker_orders", ["user_id", "created_at"], unique=False
    )
    op.create_table(
        "fills",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("broker_trade_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        sa.Column("price", ExactDecimal(), nullable=False),
        sa.Column("fee", ExactDecimal(), nullable=True),
        sa.Column("fee_currency", sa.String(length=16), nullable=True),
        sa.Column("executed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["broker_accounts.id"],
            name=op.f("fk_fills_account_id_broker_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["broker_orders.id"],
            name=op.f("fk_fills_order_id_broker_orders"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fills")),
        sa.UniqueConstraint(
            "account_id", "broker_trade_id", name=op.f("uq_fills_account_id_broker_trade_id")
        ),
    )
    op.create_index("ix_fills_order_id", "fills", ["order_id"], unique=False)
    op.create_table(
        "order_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["broker_orders.id"],
            name=op.f("fk_order_events_order_id_broker_orders"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
    )
    op.create_index("ix_order_events_order_id_id", "order_events", ["order_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_order_events_order_id_id", table_name="order_events")
    op.drop_table("order_events")
    op.drop_index("ix_fills_order_id", table_name="fills")
    op.drop_table("fills")
    op.drop_index("ix_broker_orders_user_id_created_at", table_name="broker_orders")
    op.drop_index("ix_broker_orders_account_id_status", table_name="broker_orders")
    op.drop_table("broker_orders")
    op.drop_table("broker_accounts")
    op.drop_table("users")
    op.drop_index("ix_signals_model_id_received_at", table_name="signals")
    op.drop_table("signals")
