"""one outbox for every customer write: kind (request | comment), the comment's JSM id, and a sticky
outcome-unknown state with the times that bound the search for an earlier attempt

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None
# Contract in meaning, though the columns are additive: 0010 code's delivery worker would take a
# comment (kind = 'comment') for a new request and create it in JSM (see deskgate.store.compat).
backward_compatible = False


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="request", nullable=False))
        batch_op.add_column(sa.Column("comment_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("outcome_unknown", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("unclear_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True))
    # Rows written before 0011 said "unknown" only in the text of last_error: keep that knowledge.
    op.execute(
        "UPDATE submissions SET outcome_unknown = true, unclear_at = updated_at, "
        "first_attempt_at = created_at WHERE last_error LIKE 'outcome unknown: %' OR state = 'sending'"
    )


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("first_attempt_at")
        batch_op.drop_column("unclear_at")
        batch_op.drop_column("outcome_unknown")
        batch_op.drop_column("comment_id")
        batch_op.drop_column("kind")
