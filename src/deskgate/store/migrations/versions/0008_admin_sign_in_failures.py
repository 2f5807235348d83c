"""failed admin sign-ins in a row, per (client address, user name) and per address: the sign-in throttle

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
# Expand: a new table only (see deskgate.store.compat).
backward_compatible = True


def upgrade() -> None:
    op.create_table(
        "admin_sign_in_failures",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("admin_sign_in_failures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_admin_sign_in_failures_last_failure_at"), ["last_failure_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("admin_sign_in_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_sign_in_failures_last_failure_at"))
    op.drop_table("admin_sign_in_failures")
