"""Model subscriptions with sizing rules, risk limits per scope, and trading states (the kill switch).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from boltztrader.db.types import ExactDecimal, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_limits",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("scope_id", sa.String(length=36), nullable=False),
        sa.Column(
            "limits",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("scope IN ('global', 'user', 'account')", name=op.f("ck_risk_limits_scope")),
        sa.PrimaryKeyConstraint("scope", "scope_id", name=op.f("pk_risk_limits")),
    )
    op.create_table(
        "trading_states",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("scope_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("scope IN ('global', 'user', 'account')", name=op.f("ck_trading_states_scope")),
        sa.CheckConstraint("state IN ('active', 'reducing', 'halted')", name=op.f("ck_trading_states_state")),
        sa.PrimaryKeyConstraint("scope", "scope_id", name=op.f("pk_trading_states")),
    )
    op.create_table(
        "model_subscriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("model_id", sa.String(length=100), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.Column("sizing", sa.String(length=16), nullable=False),
        sa.Column("sizing_value", ExactDecimal(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "sizing IN ('signal', 'fixed_quantity', 'fixed_notional', 'percent_equity')",
            name=op.f("ck_model_subscriptions_sizing"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["broker_accounts.id"],
            name=op.f("fk_model_subscriptions_account_id_broker_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_model_subscriptions_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_subscriptions")),
        sa.UniqueConstraint(
            "user_id",
            "model_id",
            "account_id",
            name=op.f("uq_model_subscriptions_user_id_model_id_account_id"),
        ),
    )
    op.create_index("ix_model_subscriptions_model_id", "model_subscriptions", ["model_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_model_subscriptions_model_id", table_name="model_subscriptions")
    op.drop_table("model_subscriptions")
    op.drop_table("trading_states")
    op.drop_table("risk_limits")
