"""anonymous failures per (event, client address) and window: the audit log's flood budget

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None
# Expand: a new table only (see deskgate.store.compat).
backward_compatible = True


def upgrade() -> None:
    op.create_table(
        "audit_budgets",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen", sa.Integer(), nullable=False),
        sa.Column("carried", sa.Integer(), nullable=False),
        sa.Column("carried_since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("audit_budgets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_budgets_window_start"), ["window_start"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_budgets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_budgets_window_start"))
    op.drop_table("audit_budgets")
