"""saml_assertions_seen: ids of accepted SAML assertions, so that a replayed one is refused on every
worker and instance

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-06 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None
# Expand-only: a new table the previous version neither reads nor writes.
backward_compatible = True


def upgrade() -> None:
    op.create_table(
        "saml_assertions_seen",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("saml_assertions_seen", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saml_assertions_seen_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("saml_assertions_seen", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saml_assertions_seen_expires_at"))
    op.drop_table("saml_assertions_seen")
