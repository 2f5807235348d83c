"""the JSM site each customer link belongs to

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 10:00:00.000000
"""

import json
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
# Expand: a column with a server default. Links written by 0005 code get site "" and are
# made again by newer code on first use, which is harmless (see deskgate.store.compat).
backward_compatible = True


def _site(config: Any) -> str:
    """`site_identity` of the stored connection, as it was written with this revision (a migration must
    not change meaning when the application's code later does). "" when there is no connection."""
    if isinstance(config, str):
        config = json.loads(config)
    if not isinstance(config, dict) or not config.get("site_url"):
        return ""
    parts = urlsplit(str(config["site_url"]).strip())
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = {"http": 80, "https": 443}.get(parts.scheme)
    netloc = host if port is None or port == default else f"{host}:{port}"
    return f"{config.get('deployment', 'cloud')}:{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def upgrade() -> None:
    with op.batch_alter_table("customer_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site", sa.Text(), server_default="", nullable=False))
    # The existing links were made on the connected site; without a connection they belong to none and
    # are made again on first use.
    bind = op.get_bind()
    config = bind.execute(sa.text("SELECT config FROM jsm_connection WHERE id = 1")).scalar()
    site = _site(config)
    if site:
        bind.execute(sa.text("UPDATE customer_links SET site = :site"), {"site": site})


def downgrade() -> None:
    with op.batch_alter_table("customer_links", schema=None) as batch_op:
        batch_op.drop_column("site")
