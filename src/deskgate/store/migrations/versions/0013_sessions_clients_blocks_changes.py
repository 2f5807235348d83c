"""sessions: the client address and User-Agent of the sign-in; audit_events: what a change changed;
sign_in_blocks: users an admin blocked from signing in

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-12 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None
# Expand-only: nullable columns 0012 code neither writes nor reads, and a table it does not know.
backward_compatible = True


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_ip", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("user_agent", sa.String(length=512), nullable=True))
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("changes", sa.JSON(), nullable=True))
    op.create_table(
        "sign_in_blocks",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("idp", sa.String(length=63), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("blocked_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_blocks_idp_subject", "sign_in_blocks", ["idp", "subject"], unique=False)
    op.create_index(op.f("ix_sign_in_blocks_email"), "sign_in_blocks", ["email"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_blocks_email"), table_name="sign_in_blocks")
    op.drop_index("ix_sign_in_blocks_idp_subject", table_name="sign_in_blocks")
    op.drop_table("sign_in_blocks")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("changes")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("user_agent")
        batch_op.drop_column("client_ip")
