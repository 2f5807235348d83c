"""what the settings file last applied (so console edits survive a restart)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 14:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
# Expand: a new table only (see deskgate.store.compat).
backward_compatible = True


def upgrade() -> None:
    op.create_table(
        "settings_file_seeds",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("settings_file_seeds")
