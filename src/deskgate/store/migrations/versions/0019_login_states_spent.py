"""login_states_spent: the states of sign-ins already used (pending sign-ins now live sealed in a cookie)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 02:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None
# Expand-only: a new table the previous version neither reads nor writes; `login_states` stays (this
# version still finishes the sign-ins the previous one kept there).
backward_compatible = True


def upgrade() -> None:
    op.create_table(
        "login_states_spent",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state_hash"),
    )
    op.create_index(op.f("ix_login_states_spent_expires_at"), "login_states_spent", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_login_states_spent_expires_at"), table_name="login_states_spent")
    op.drop_table("login_states_spent")
