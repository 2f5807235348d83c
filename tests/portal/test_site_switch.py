"""Pointing Deskgate at another JSM site: the previous site's customer links and desk settings go with the
save (a new token for the same site keeps them), a link of another site is never used even when one
survives, and a second worker on the same database stops serving the previous site within seconds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from deskgate.jsm import JsmConnection
from deskgate.jsm.emulator import EmulatorApp, create_emulator
from deskgate.jsm.emulator.app import ServiceAccountCredentials
from deskgate.jsm.emulator.state import User
from deskgate.portal import connection as connection_module
from deskgate.portal import desks as desks_module
from deskgate.portal import provisioning as provisioning_module
from deskgate.portal.connection import SiteSwitch, site_identity
from deskgate.portal.desks import DeskSetting
from deskgate.portal.jira_setup import change_desk, connect
from deskgate.portal.provisioning import CustomerLink
from deskgate.services import Services, build_services
from deskgate.sessions.store import SessionRecord
from deskgate.settings import Settings
from deskgate.store.models import CustomerLinkRow, ServiceDeskSettingRow
from tests.portal.conftest import BASE_URL, SECRET_KEY
from tests.support.jsm_sites import JsmSites

pytestmark = pytest.mark.anyio
SITE_A = "https://jsm-a.test"
SITE_B = "https://jsm-b.test"
ROTATED = ServiceAccountCredentials(api_token="rotated-api-token", personal_access_token="rotated-pat")


@dataclass
class Sites:
    a: EmulatorApp
    rotated: EmulatorApp  # site A after its service account's token was rotated; it sees no FAC desk
    b: EmulatorApp  # another site: its desk 1 is another desk, and it has no desk 2 or 3
    http: httpx.AsyncClient
    settings: Settings

    @asynccontextmanager
    async def worker(self) -> AsyncIterator[Services]:
        """One Deskgate process; two of them on the same database stand for two workers."""
        services = await build_services(self.settings, http=self.http)
        try:
            yield services
        finally:
            await services.aclose()


@pytest.fixture
async def sites(db_url: str, flavour: str) -> AsyncIterator[Sites]:
    a, b = create_emulator(flavour), create_emulator(flavour)  # type: ignore[arg-type]
    rotated = create_emulator(flavour, credentials=ROTATED)  # type: ignore[arg-type]
    rotated.store.desks = [d for d in rotated.store.desks if d.project_key != "FAC"]
    b.store.desks = b.store.desks[:1]
    b.store.desks[0].project_key, b.store.desks[0].project_name = "OTH", "Another site's desk"
    settings = Settings(
        base_url=BASE_URL, secret_key=SECRET_KEY, database_url=db_url, jsm=a.connection(SITE_A)
    )
    transport = JsmSites({"jsm-a.test": [a, rotated], "jsm-b.test": [b]})
    async with httpx.AsyncClient(transport=transport) as http:
        yield Sites(a, rotated, b, http, settings)


def session(subject: str, email: str) -> SessionRecord:
    now = datetime.now(UTC)
    return SessionRecord("h", "corp", subject, email, subject, now, now, now + timedelta(hours=1))


async def provision(services: Services, subject: str, email: str, desk: str = "1") -> CustomerLink:
    return await services.customers.customer_for(session(subject, email), desk)


async def rows(services: Services, table: type[CustomerLinkRow] | type[ServiceDeskSettingRow]) -> int:
    async with services.db() as db:
        return int(await db.scalar(select(func.count()).select_from(table)) or 0)


def test_the_site_is_the_normalised_url_and_the_deployment() -> None:
    def conn(url: str, deployment: str = "cloud") -> JsmConnection:
        secret = {"email": "bot@example.com", "api_token": SecretStr("t")}
        if deployment == "datacenter":
            secret = {"personal_access_token": SecretStr("t")}
        return JsmConnection.model_validate({"site_url": url, "deployment": deployment, **secret})

    same = {
        site_identity(conn(u))
        for u in ("https://jsm-a.test", "HTTPS://JSM-A.test:443/", "https://Jsm-A.test/")
    }
    assert same == {"cloud:https://jsm-a.test"}
    others = {
        site_identity(conn(u, d))
        for u, d in [
            ("https://jsm-a.test", "datacenter"),  # the same host, another kind of JSM: another site
            ("https://jsm-a.test:8443", "cloud"),
            ("https://jsm-a.test/jira", "cloud"),
            ("https://jsm-b.test", "cloud"),
        ]
    }
    assert len(others) == 4 and not others & same


async def test_another_site_deletes_links_and_desk_settings_a_new_token_keeps_them(sites: Sites) -> None:
    async with sites.worker() as services:
        await provision(services, "dave", "dave@example.com")
        await provision(services, "erin", "erin@example.com", desk="2")
        await change_desk(services.desks, "1", sso=False)

        # The same site written differently, with the rotated token: the links and settings stay.
        same_site = sites.rotated.connection("HTTPS://JSM-A.test:443/")
        assert await connect(services, same_site) is None
        assert await rows(services, CustomerLinkRow) == 2
        assert await services.desks.get("1") == DeskSetting("1", sso_enabled=False)

        switch = await connect(services, sites.b.connection(SITE_B))
        assert switch == SiteSwitch("https://JSM-A.test:443", customer_links=2, desk_settings=1)
        assert await rows(services, CustomerLinkRow) == 0 and await rows(services, ServiceDeskSettingRow) == 0
        assert await services.desks.get("1") == DeskSetting("1")  # desk 1 of site B: defaults
        assert [d.project_key for d in await services.catalogue.service_desks()] == ["OTH"]

        # Dave is looked up on site B (found or created there) and linked to that site.
        sites.b.calls.clear()
        link = await provision(services, "dave", "dave@example.com")
        assert link.site == site_identity(sites.b.connection(SITE_B))
        assert any(path.endswith("/customer") for _, path in sites.b.calls)
        customer = sites.b.store.find_user(link.jsm_user_id)
        assert customer is not None and customer.account_id in sites.b.store.desks[0].customers

        # The same URL as another kind of JSM is another site as well.
        other_kind = "datacenter" if sites.b.flavour == "cloud" else "cloud"
        credentials = {"email": "bot@example.com", "api_token": SecretStr("t")}
        if other_kind == "datacenter":
            credentials = {"personal_access_token": SecretStr("t")}
        moved = JsmConnection.model_validate({"site_url": SITE_B, "deployment": other_kind, **credentials})
        assert await connect(services, moved) == SiteSwitch(SITE_B, customer_links=1, desk_settings=0)


async def test_a_link_of_another_site_is_never_used(sites: Sites) -> None:
    # Dave's account id (Cloud) or username (Data Center) on site A names Mallory on site B.
    dave = User("qm:dave-on-a", "dave", "dave@example.com", "Dave", "customer")
    mallory = User("qm:dave-on-a", "dave", "mallory@example.com", "Mallory", "customer")
    sites.a.store.users.append(dave)
    sites.b.store.users.append(mallory)
    mallory_id = sites.b.store.user_id(mallory)
    async with sites.worker() as services:
        old = await provision(services, "dave", "dave@example.com")
        assert old.jsm_user_id == mallory_id  # the same identifier, a different person on site B

        await connect(services, sites.b.connection(SITE_B))
        # A link of site A saved after the switch (a sign-in on another worker racing it) survives in the
        # table and in this process's cache; neither may be used with site B.
        await services.customers.links.save(old)
        assert await rows(services, CustomerLinkRow) == 1

        link = await provision(services, "dave", "dave@example.com")
        assert link.jsm_user_id != mallory_id and link.email == "dave@example.com"
        found = sites.b.store.find_user(link.jsm_user_id)
        assert found is not None and found.email == "dave@example.com"
        assert mallory.account_id not in sites.b.store.desks[0].customers
        services.customers.links.forget()
        b_site = site_identity(sites.b.connection(SITE_B))
        assert await services.customers.links.load("corp", "dave", b_site) == link
        assert (
            await services.customers.links.load("corp", "dave", site_identity(sites.a.connection(SITE_A)))
            is None
        )


@pytest.fixture
def short_caches(monkeypatch: pytest.MonkeyPatch) -> float:
    """The per-process caches of the connection, desk settings and links, shortened from 5 s."""
    seconds = 0.2
    for module in (connection_module, desks_module, provisioning_module):
        monkeypatch.setattr(module, "CACHE_SECONDS", seconds)
    return seconds


async def test_a_second_worker_stops_serving_the_old_site_within_seconds(
    sites: Sites, short_caches: float
) -> None:
    async with sites.worker() as first, sites.worker() as second:
        await change_desk(first.desks, "1", sso=False)
        assert [d.project_key for d in await second.catalogue.service_desks()] == ["ITH", "HRS", "FAC"]
        assert not (await second.desks.get("1")).sso_enabled
        old = await provision(second, "dave", "dave@example.com")

        await connect(first, sites.b.connection(SITE_B))
        await asyncio.sleep(short_caches * 1.5)

        # The catalogue's own TTL (300 s) is far from over: the new connection alone empties it.
        assert second.catalogue._cache.ttl == 300
        assert [d.project_key for d in await second.catalogue.service_desks()] == ["OTH"]
        assert await second.desks.get("1") == DeskSetting("1")
        link = await provision(second, "dave", "dave@example.com")
        assert link.site != old.site and link.site == site_identity(sites.b.connection(SITE_B))


async def test_a_rotated_token_is_followed_by_every_worker_and_keeps_the_links(
    sites: Sites, short_caches: float
) -> None:
    async with sites.worker() as first, sites.worker() as second:
        link = await provision(second, "dave", "dave@example.com")
        assert "FAC" in [d.project_key for d in await second.catalogue.service_desks()]

        # The same site, another token whose account sees other desks: no longer the cached ones.
        assert await connect(first, sites.rotated.connection(SITE_A)) is None
        await asyncio.sleep(short_caches * 1.5)
        assert "FAC" not in [d.project_key for d in await second.catalogue.service_desks()]
        sites.rotated.calls.clear()
        assert await provision(second, "dave", "dave@example.com") == link
        assert not any(path.endswith("/customer") for _, path in sites.rotated.calls)
