"""audit_events: the request id of the request that wrote the entry; jsm_connection: when an admin last
cleared the JSM caches (`deskgate jira refresh`), so that every instance's workers clear theirs

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 02:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None
# Expand-only: nullable columns 0013 code neither writes nor reads.
backward_compatible = True


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=100), nullable=True))
        batch_op.create_index("ix_audit_events_request_id", ["request_id"], unique=False)
    with op.batch_alter_table("jsm_connection", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caches_cleared_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jsm_connection", schema=None) as batch_op:
        batch_op.drop_column("caches_cleared_at")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_request_id")
        batch_op.drop_column("request_id")
