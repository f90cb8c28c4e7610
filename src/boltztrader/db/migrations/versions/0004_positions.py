"""Positions per account, kept from executions.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from boltztrader.db.types import ExactDecimal, UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "positions",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("market", sa.String(length=32), nullable=False),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        sa.Column("average_price", ExactDecimal(), nullable=False),
        sa.Column("realized_pnl", ExactDecimal(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["broker_accounts.id"],
                                name=op.f("fk_positions_account_id_broker_accounts"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("account_id", "symbol", name=op.f("pk_positions")),
    )


def downgrade() -> None:
    op.drop_table("positions")
