"""The console's Jira page when the admin connects another JSM site: it says beforehand that the previous
site's customer links and desk settings go, reports afterwards that they went (and the audit log says
so), keeps them for a new token on the same site, and a refused (CSRF) save changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from deskgate.jsm.emulator import EmulatorApp, create_emulator
from deskgate.portal.desks import DeskSetting
from deskgate.portal.jira_setup import change_desk
from deskgate.services import Services
from deskgate.sessions.store import SessionRecord
from deskgate.store.models import CustomerLinkRow
from tests.support.admin import ADMIN_USER, create_admin, csrf_token
from tests.support.inprocess import running_app
from tests.support.jsm_sites import JsmSites

pytestmark = pytest.mark.anyio

SITE_A, SITE_B = "https://jsm-a.test", "https://jsm-b.test"
WARNING = "Connecting another site"


@dataclass
class Console:
    client: httpx.AsyncClient
    services: Services
    a: EmulatorApp
    b: EmulatorApp
    token: str

    def form(self, jsm: EmulatorApp, site: str, **changes: str) -> dict[str, str]:
        values = {
            "csrf_token": self.token,
            "deployment": "cloud",
            "site_url": site,
            "email": jsm.credentials.email,
            "api_token": jsm.credentials.api_token,
        }
        return values | changes

    async def post(self, data: Mapping[str, str]) -> httpx.Response:
        return await self.client.post("/admin/jira/connection", data=data)

    async def connect_details(self) -> list[str | None]:
        return [e.detail for e in await self.services.audit.query(event="admin.jira.connect")]

    async def customer(self, subject: str) -> None:
        now = datetime.now(UTC)
        email = f"{subject}@example.com"
        session = SessionRecord("h", "corp", subject, email, subject, now, now, now + timedelta(hours=1))
        await self.services.customers.customer_for(session, "1")

    async def linked(self) -> list[str]:
        async with self.services.db() as db:
            return list((await db.scalars(select(CustomerLinkRow.subject))).all())


@pytest.fixture
async def console(db_url: str) -> AsyncIterator[Console]:
    a, b = create_emulator("cloud"), create_emulator("cloud")
    async with (
        httpx.AsyncClient(transport=JsmSites({"jsm-a.test": [a], "jsm-b.test": [b]})) as jsm_http,
        running_app(db_url, idp_http=jsm_http) as (client, services),
    ):
        await create_admin(services)
        form = await client.get("/admin/login")
        password = "admin-password-for-tests"
        data = {"csrf_token": csrf_token(form.text), "username": ADMIN_USER, "password": password}
        assert (await client.post("/admin/login", data=data)).status_code == 303
        console = Console(client, services, a, b, csrf_token((await client.get("/admin/jira")).text))
        saved = await console.post(console.form(a, SITE_A))
        assert saved.headers["location"] == "/admin/jira?saved=connection"
        await console.customer("dave")
        await change_desk(services.desks, "1", sso=False)
        yield console


async def test_the_page_warns_before_and_reports_after_a_switch(console: Console) -> None:
    page = await console.client.get("/admin/jira")
    assert WARNING in page.text and f"desk settings of {SITE_A}" in page.text
    assert 'aria-describedby="site-switch-warning"' in page.text

    switched = await console.post(console.form(console.b, SITE_B))
    assert switched.status_code == 303
    assert switched.headers["location"] == "/admin/jira?saved=other-site&links=1&desks=1"
    assert await console.linked() == [] and await console.services.desks.all() == {}
    stored = await console.services.jira.get()
    assert stored is not None and stored.site_url == SITE_B

    report = await console.client.get(switched.headers["location"])
    assert "The connection to the new site is saved" in report.text
    assert "customer links (1) and desk settings (1) are deleted" in report.text
    assert f"desk settings of {SITE_B}" in report.text  # the warning now names the site connected
    details = await console.connect_details()
    assert details[0] == (
        f"JSM connection set to {SITE_B} (cloud); another site: the customer links (1) and desk settings "
        f"(1) of the previous site {SITE_A} were deleted by {ADMIN_USER}"
    )


async def test_a_new_token_for_the_same_site_keeps_links_and_desk_settings(console: Console) -> None:
    # The same site written differently, the stored token kept (an empty field): the same site.
    saved = await console.post(console.form(console.a, "HTTPS://JSM-A.test/", api_token=""))
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/jira?saved=connection"
    assert await console.linked() == ["dave"]
    assert await console.services.desks.all() == {"1": DeskSetting("1", sso_enabled=False)}
    assert "another site" not in ((await console.connect_details())[0] or "")


async def test_a_refused_switch_changes_nothing(console: Console) -> None:
    for token in ("", "forged"):
        data = console.form(console.b, SITE_B, csrf_token=token)
        refused = await console.post({k: v for k, v in data.items() if v})
        assert refused.status_code == 403
    stored = await console.services.jira.get()
    assert stored is not None and stored.site_url == SITE_A
    assert await console.linked() == ["dave"] and (await console.services.desks.get("1")).sso_enabled is False
    assert len(await console.connect_details()) == 1


async def test_the_report_shows_only_counts(console: Console) -> None:
    page = await console.client.get("/admin/jira?saved=other-site&links=<b>x</b>&desks=12345678901")
    assert "customer links (?) and desk settings (?) are deleted" in page.text
    assert "<b>x</b>" not in page.text


async def test_no_warning_before_the_first_connection(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await create_admin(services)
        form = await client.get("/admin/login")
        password = "admin-password-for-tests"
        data = {"csrf_token": csrf_token(form.text), "username": ADMIN_USER, "password": password}
        assert (await client.post("/admin/login", data=data)).status_code == 303
        page = await client.get("/admin/jira")
        assert page.status_code == 200 and WARNING not in page.text
