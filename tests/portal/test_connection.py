"""The JSM connection in the database: secret encrypted at rest, one client per configuration."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from deskgate.config_io import export_config, import_config
from deskgate.jsm import JsmConnection
from deskgate.portal.connection import JsmNotConnected
from deskgate.services import build_services
from deskgate.settings import Settings
from deskgate.store.models import JsmConnectionRow
from tests.portal.conftest import BASE_URL, SECRET_KEY, SITE, Portal

pytestmark = pytest.mark.anyio


async def stored_row(portal: Portal) -> JsmConnectionRow:
    async with portal.services.db() as db:
        return (await db.scalars(select(JsmConnectionRow))).one()


async def test_saved_from_settings_with_the_secret_encrypted_at_rest(portal: Portal) -> None:
    connection = await portal.services.jira.get()
    assert connection == portal.app.connection(SITE)
    row = await stored_row(portal)
    secret = portal.app.credentials.api_token
    if portal.app.flavour == "datacenter":
        secret = portal.app.credentials.personal_access_token
    assert secret not in repr(row.config) and row.secret_encrypted and secret not in row.secret_encrypted
    assert portal.services.box.decrypt(row.secret_encrypted) == secret


async def test_one_client_per_configuration(portal: Portal) -> None:
    first = await portal.services.jsm_client()
    assert await portal.services.jsm_client() is first
    assert (await first.myself()).email == "deskgate-bot@example.com"
    changed = portal.app.connection(SITE, timeout_seconds=3)
    await portal.services.jira.save(changed)
    second = await portal.services.jsm_client()
    assert second is not first and second.connection == changed


async def test_not_connected_says_so(db_url: str) -> None:
    settings = Settings(base_url=BASE_URL, secret_key=SECRET_KEY, database_url=db_url)
    async with httpx.AsyncClient() as http:
        services = await build_services(settings, http=http)
        try:
            assert await services.jira.get() is None
            with pytest.raises(JsmNotConnected, match="JSM is not connected"):
                await services.jsm_client()
            assert (await export_config(services)).get("jsm") is None
        finally:
            await services.aclose()


async def test_export_leaves_the_secret_out_and_import_keeps_the_stored_one(portal: Portal) -> None:
    plain = await export_config(portal.services)
    assert "api_token" not in plain["jsm"] and "personal_access_token" not in plain["jsm"]
    assert plain["jsm"]["site_url"] == SITE
    full = await export_config(portal.services, include_secrets=True)
    assert any(full["jsm"].get(name) for name in ("api_token", "personal_access_token"))

    plain["jsm"]["timeout_seconds"] = 7.0
    report = await import_config(portal.services, plain)
    assert report.jsm == "updated"
    connection = await portal.services.jira.get()
    assert connection is not None and connection.timeout_seconds == 7.0
    assert connection.auth_headers() == portal.app.connection(SITE).auth_headers()


async def test_a_connection_round_trips_through_the_database(portal: Portal) -> None:
    cloud = JsmConnection(
        site_url="https://example.atlassian.net",
        deployment="cloud",
        email="bot@example.com",
        api_token=SecretStr("t0ken"),
    )
    await portal.services.jira.save(cloud)
    assert await portal.services.jira.get() == cloud
    datacenter = JsmConnection(
        site_url="https://jira.example.com/jira",
        deployment="datacenter",
        personal_access_token=SecretStr("p4t"),
    )
    await portal.services.jira.save(datacenter)
    assert await portal.services.jira.get() == datacenter
