"""The backup page when an imported file connects another JSM site: the report and the audit detail say
which site's customer links and desk settings were deleted, and how many; an import for the same site
and a refused (invalid) file say nothing of the kind and, for the latter, change nothing."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select

from deskgate.services import Services, build_services
from deskgate.settings import load_settings
from deskgate.store.models import CustomerLinkRow, JsmConnectionRow, ServiceDeskSettingRow
from tests.support.admin import ADMIN_USER, console_sign_in
from tests.support.inprocess import SECRET_KEY, running_app
from tests.support.jsm_sites import SITE_A, SITE_B, connect_site_a

pytestmark = pytest.mark.anyio

SWITCHED = f"the customer links (1) and desk settings (1) of the previous site {SITE_A} were deleted"


@dataclass
class Console:
    client: httpx.AsyncClient
    services: Services
    token: str

    async def upload(self, document: dict[str, Any]) -> httpx.Response:
        """The preview, then its form: the two steps of an import."""
        previewed = await self.client.post(
            "/admin/backup/import",
            data={"csrf_token": self.token, "mode": "merge"},
            files={"file": ("deskgate.yaml", yaml.safe_dump(document).encode(), "application/yaml")},
        )
        sealed = re.search(r'name="document" value="([^"]+)"', previewed.text)
        if previewed.status_code != 200 or sealed is None:
            return previewed
        data = {"csrf_token": self.token, "mode": "merge", "document": html.unescape(sealed.group(1))}
        return await self.client.post("/admin/backup/import", data=data)

    async def import_details(self) -> list[str | None]:
        return [e.detail for e in await self.services.audit.query(event="admin.backup.import")]

    async def stored(self) -> tuple[str | None, list[str], dict[str, bool]]:
        """The connected site, the customer links' subjects and each desk's SSO setting, as the database
        has them (not the app's caches, which a read racing a save may keep a few seconds behind)."""
        async with self.services.db() as db:
            connection = await db.get(JsmConnectionRow, 1)
            links = list((await db.scalars(select(CustomerLinkRow.subject))).all())
            desks = (await db.scalars(select(ServiceDeskSettingRow))).all()
        site = str(connection.config["site_url"]) if connection is not None else None
        return site, links, {desk.desk_id: desk.sso_enabled for desk in desks}


@pytest.fixture
async def console(db_url: str) -> AsyncIterator[Console]:
    # Prepared before the app starts: its submission worker reads the connection as soon as it starts,
    # and a read racing the save could keep the previous (no) connection in the app's cache.
    services = await build_services(load_settings(secret_key=SECRET_KEY, database_url=db_url))
    try:
        await connect_site_a(services)
    finally:
        await services.aclose()
    async with running_app(db_url) as (client, services):
        yield Console(client, services, await console_sign_in(client, services, "/admin/backup"))


def document(site_url: str) -> dict[str, Any]:
    jsm = {"site_url": site_url, "deployment": "cloud", "email": "bot@example.com", "api_token": "b-token"}
    return {"version": 1, "idps": [], "jsm": jsm}


async def test_the_page_warns_that_another_site_deletes_links(console: Console) -> None:
    page = await console.client.get("/admin/backup")
    assert "A file connecting another JSM site" in page.text and 'id="import-site-switch"' not in page.text


async def test_an_import_to_another_site_reports_the_switch(console: Console) -> None:
    report = await console.upload(document(SITE_B))
    assert report.status_code == 200, report.text
    assert "<dt>JSM connection</dt><dd>updated</dd>" in report.text
    assert "<dt>Another JSM site</dt>" in report.text and f"{SWITCHED}." in report.text
    assert await console.stored() == (SITE_B, [], {})
    assert await console.import_details() == [
        f"configuration imported (merge): JSM connection updated; another site: {SWITCHED} by {ADMIN_USER}"
    ]


async def test_an_import_to_the_same_site_reports_no_switch(console: Console) -> None:
    report = await console.upload(document(SITE_A + "/"))
    assert report.status_code == 200, report.text
    assert "<dt>JSM connection</dt><dd>updated</dd>" in report.text
    assert "Another JSM site" not in report.text and "previous site" not in report.text
    assert await console.stored() == (SITE_A, ["dave"], {"1": False})
    assert await console.import_details() == [
        f"configuration imported (merge): JSM connection updated by {ADMIN_USER}"
    ]


async def test_an_invalid_file_changes_nothing_and_reports_no_switch(console: Console) -> None:
    refused = await console.upload(document(SITE_B) | {"desks": [{"desk_id": "ITH"}]})
    assert refused.status_code == 400 and "Nothing was imported" in refused.text
    assert "Another JSM site" not in refused.text and "previous site" not in refused.text
    assert await console.stored() == (SITE_A, ["dave"], {"1": False})
    assert await console.import_details() == []
