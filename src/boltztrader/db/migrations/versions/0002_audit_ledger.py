"""The audit ledger: hash-chained entries, chain heads, and triggers that refuse edits.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from boltztrader.db.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE FUNCTION audit_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_ledger is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""

PG_TRIGGERS = (
    "CREATE TRIGGER audit_ledger_no_update BEFORE UPDATE ON audit_ledger "
    "FOR EACH ROW EXECUTE FUNCTION audit_ledger_append_only()",
    "CREATE TRIGGER audit_ledger_no_delete BEFORE DELETE ON audit_ledger "
    "FOR EACH ROW EXECUTE FUNCTION audit_ledger_append_only()",
    "CREATE TRIGGER audit_ledger_no_truncate BEFORE TRUNCATE ON audit_ledger "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_ledger_append_only()",
)

SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_ledger_no_update BEFORE UPDATE ON audit_ledger "
    "BEGIN SELECT RAISE(ABORT, 'audit_ledger is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_ledger_no_delete BEFORE DELETE ON audit_ledger "
    "BEGIN SELECT RAISE(ABORT, 'audit_ledger is append-only: DELETE refused'); END",
)


def upgrade() -> None:
    op.create_table(
        "audit_heads",
        sa.Column("chain", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_heads")),
    )
    op.create_table(
        "audit_ledger",
        sa.Column("chain", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("entity", sa.String(length=100), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_audit_ledger_seq_positive")),
        sa.PrimaryKeyConstraint("chain", "seq", name=op.f("pk_audit_ledger")),
    )
    op.create_index("ix_audit_ledger_entity_entity_id", "audit_ledger", ["entity", "entity_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    # Dropping the table drops its triggers with it on both engines.
    op.drop_index("ix_audit_ledger_entity_entity_id", table_name="audit_ledger")
    op.drop_table("audit_ledger")
    op.drop_table("audit_heads")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_ledger_append_only()")
