"""saml_sp_keys: the SAML SP's own key pairs (signing requests, decrypting assertions), private keys
encrypted

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 22:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None
# Expand-only: a new table the previous version neither reads nor writes.
backward_compatible = True


def upgrade() -> None:
    op.create_table(
        "saml_sp_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("slot", sa.String(length=16), nullable=True),
        sa.Column("private_key_encrypted", sa.Text(), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slot"),
    )


def downgrade() -> None:
    op.drop_table("saml_sp_keys")
