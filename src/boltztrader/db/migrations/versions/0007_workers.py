"""Several processes on one database: workers, account leases, shared request-weight budgets.

``workers``: every ``boltz worker`` with its heartbeat. ``account_leases``: which worker trades
which account, until when, and the fencing epoch bumped on every takeover. ``weight_budgets``: the
request weight taken from a broker's per-minute budget by every worker behind one egress IP.
Plain tables on both engines (SQLite runs one process, which simply holds every lease).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from boltztrader.db.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_workers")),
    )
    op.create_table(
        "account_leases",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=True),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("acquired_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["broker_accounts.id"],
                                name=op.f("fk_account_leases_account_id_broker_accounts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_leases")),
    )
    op.create_index("ix_account_leases_worker_id", "account_leases", ["worker_id"], unique=False)
    op.create_table(
        "weight_budgets",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_start", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=False),
        sa.CheckConstraint("used >= 0", name=op.f("ck_weight_budgets_used_not_negative")),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_weight_budgets")),
    )


def downgrade() -> None:
    op.drop_table("weight_budgets")
    op.drop_index("ix_account_leases_worker_id", table_name="account_leases")
    op.drop_table("account_leases")
    op.drop_table("workers")
