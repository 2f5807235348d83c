"""token buckets per (limit, customer): submissions, comments and uploaded files, taken atomically

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
# Expand: a new table only (see deskgate.store.compat).
backward_compatible = True


def upgrade() -> None:
    op.create_table(
        "token_buckets",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("token_buckets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_token_buckets_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("token_buckets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_token_buckets_updated_at"))
    op.drop_table("token_buckets")
