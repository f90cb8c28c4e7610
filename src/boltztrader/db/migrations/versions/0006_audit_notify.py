"""PostgreSQL: a chain's head moving notifies ``boltz_audit`` with the chain's name (the event bus).

Every change of a user's orders, fills, positions, approvals, accounts and risk moves the head of
the audit chain ``user:<id>`` in the same transaction; PostgreSQL delivers the notification at
commit (never for a rollback) to every process that LISTENs, and folds repeats of one chain within
one transaction into one. SQLite has no NOTIFY (and one process): there the bus polls the heads,
so this revision changes nothing on SQLite.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CHANNEL = "boltz_audit"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"""
        CREATE OR REPLACE FUNCTION boltz_audit_notify() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', NEW.chain);
            RETURN NULL;
        END
        $$
    """)
    op.execute("""
        CREATE TRIGGER audit_heads_notify
        AFTER INSERT OR UPDATE ON audit_heads
        FOR EACH ROW EXECUTE FUNCTION boltz_audit_notify()
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_heads_notify ON audit_heads")
    op.execute("DROP FUNCTION IF EXISTS boltz_audit_notify()")
