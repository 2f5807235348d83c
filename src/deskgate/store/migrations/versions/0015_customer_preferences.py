"""customer_preferences: what a customer chose on their account page (their time zone)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-13 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None
# Expand-only: a table 0014 code does not know.
backward_compatible = True


def upgrade() -> None:
    op.create_table(
        "customer_preferences",
        sa.Column("idp", sa.String(length=63), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idp", "subject"),
    )


def downgrade() -> None:
    op.drop_table("customer_preferences")
