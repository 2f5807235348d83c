"""an index on the audit log's event (the console filters and lists by it)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 15:15:00.000000
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
# Expand: an index only (see deskgate.store.compat).
backward_compatible = True


def upgrade() -> None:
    op.create_index("ix_audit_events_event", "audit_events", ["event"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_event", table_name="audit_events")
