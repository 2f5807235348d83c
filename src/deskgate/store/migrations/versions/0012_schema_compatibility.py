"""deskgate_schema: each revision and the oldest revision whose code may run on it (rolling upgrades)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None
# A new table nobody before 0012 reads (see deskgate.store.compat and this folder's README).
backward_compatible = True


def upgrade() -> None:
    # The rows are written by deskgate.store.db after every migration run, from each file's declaration.
    op.create_table(
        "deskgate_schema",
        sa.Column("revision", sa.String(length=32), nullable=False),
        sa.Column("compatible_with", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("revision"),
    )


def downgrade() -> None:
    op.drop_table("deskgate_schema")
