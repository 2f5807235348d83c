"""Migration 0006 gives the customer links made before it the site of the stored connection, so that an
upgrade keeps every customer linked; without a connection they belong to no site and are made again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import JSON, Connection, DateTime, column, insert, table, text

from deskgate.jsm.emulator import create_emulator
from deskgate.portal.connection import site_identity
from deskgate.settings import Settings
from deskgate.store import db

pytestmark = pytest.mark.anyio


def _upgrade(connection: Connection, revision: str) -> None:
    config = db.alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


@pytest.mark.parametrize("connected", [True, False], ids=["connected", "not-connected"])
async def test_existing_links_get_the_connected_site(db_url: str, connected: bool) -> None:
    connection = create_emulator("datacenter").connection("https://Jira.Example.com:443/jira/")
    url = Settings(database_url=db_url, demo=True).sqlalchemy_url
    engine = db.create_engine(url, transactional_ddl=url.startswith("sqlite"))
    now = datetime.now(UTC)
    # The tables as revision 0005 has them (the models describe the newest revision).
    connections = table(
        "jsm_connection", column("id"), column("config", JSON), column("updated_at", DateTime(timezone=True))
    )
    links = table(
        "customer_links",
        *(column(name) for name in ("idp", "subject", "jsm_user_id", "email", "display_name")),
        column("desks", JSON),
        column("updated_at", DateTime(timezone=True)),
    )
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, "0005")
            if connected:
                config = connection.model_dump(mode="json", exclude={"api_token", "personal_access_token"})
                await conn.execute(insert(connections).values(id=1, config=config, updated_at=now))
            values = {"jsm_user_id": "dave", "email": "dave@example.com", "display_name": "Dave", "desks": []}
            await conn.execute(insert(links).values(idp="corp", subject="dave", updated_at=now, **values))
            await conn.run_sync(_upgrade, "head")
            site = (await conn.execute(text("SELECT site FROM customer_links"))).scalar_one()
    finally:
        await engine.dispose()
    assert site == (site_identity(connection) if connected else "")
    if connected:
        assert site == "datacenter:https://jira.example.com/jira"
