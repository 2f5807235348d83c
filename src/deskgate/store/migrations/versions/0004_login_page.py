"""login page settings and portal branding

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 09:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
# Expand: a new table only (see deskgate.store.compat).
backward_compatible = True


def upgrade() -> None:
    op.create_table(
        "login_page",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("login_page")
