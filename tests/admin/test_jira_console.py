"""The Jira page of the console against the in-process JSM emulator: connect through the form, the check's
findings, the desks' substitute links, SSO and request types per desk, and the refusals (CSRF, bad input,
unknown desks, bad credentials, an unreachable site). The service account's token never reaches a page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import httpx
import pytest

from deskgate.jsm.emulator import EmulatorApp, create_emulator
from deskgate.portal.desks import DeskSetting
from deskgate.services import Services
from tests.support.admin import ADMIN_USER, create_admin, csrf_token
from tests.support.inprocess import running_app
from tests.support.live import free_port

pytestmark = pytest.mark.anyio

SITE = "https://jsm.test"
BASE_URL = "http://127.0.0.1:8080"
TOKEN = "emulator-api-token"  # the emulator's service account (ServiceAccountCredentials)
EMAIL = "deskgate-bot@example.com"
CLOUD = {"deployment": "cloud", "site_url": SITE, "email": EMAIL, "api_token": TOKEN}


@dataclass
class Console:
    client: httpx.AsyncClient
    services: Services
    jsm: EmulatorApp
    token: str  # a CSRF token for the console's forms

    async def post(self, path: str, data: Mapping[str, str | list[str]]) -> httpx.Response:
        return await self.client.post(path, data={"csrf_token": self.token, **data})

    async def events(self, event: str) -> list[str | None]:
        return [e.subject for e in await self.services.audit.query(event=event)]


async def _sign_in(client: httpx.AsyncClient, services: Services) -> str:
    await create_admin(services)
    form = await client.get("/admin/login")
    data = {
        "csrf_token": csrf_token(form.text),
        "username": ADMIN_USER,
        "password": "admin-password-for-tests",
    }
    assert (await client.post("/admin/login", data=data)).status_code == 303
    return csrf_token((await client.get("/admin/jira")).text)


@pytest.fixture
async def console(db_url: str) -> AsyncIterator[Console]:
    jsm = create_emulator("cloud")
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=jsm)) as jsm_http,
        running_app(db_url, base_url=BASE_URL, idp_http=jsm_http) as (client, services),
    ):
        yield Console(client, services, jsm, await _sign_in(client, services))


async def _connected(console: Console) -> None:
    saved = await console.post("/admin/jira/connection", CLOUD)
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/jira?saved=connection"


async def test_connect_check_and_the_desks_table(console: Console) -> None:
    before = await console.client.get("/admin/jira")
    assert before.status_code == 200 and "JSM is not connected yet" in before.text

    await _connected(console)
    stored = await console.services.jira.get()
    assert stored is not None and (stored.site_url, stored.email) == (SITE, EMAIL)
    assert stored.api_token is not None and stored.api_token.get_secret_value() == TOKEN
    assert await console.events("admin.jira.connect") == [ADMIN_USER]

    page = await console.client.get("/admin/jira?saved=connection")
    assert "The connection is saved" in page.text
    assert f'value="{SITE}"' in page.text and f'value="{EMAIL}"' in page.text
    assert "A token is stored: leave empty to keep it." in page.text
    for desk in ("1", "2", "3"):
        assert f'<code id="link-{desk}">{BASE_URL}/portal/{desk}</code>' in page.text
        assert f'data-copy="link-{desk}"' in page.text
    assert "IT Help" in page.text and "Request new hardware" in page.text
    assert re.search(r'<script src="/static/copy\.[0-9a-f]{12}\.js">', page.text)

    checked = await console.post("/admin/jira/check", {})
    assert checked.status_code == 200
    assert "No problem found." in checked.text
    assert "signed in as Deskgate service account" in checked.text
    assert "ITH (1), HRS (2), FAC (3)" in checked.text
    assert "raise on behalf: ITH" in checked.text and "may raise requests for customers" in checked.text
    assert await console.events("admin.jira.check") == [ADMIN_USER]
    for html in (before.text, page.text, checked.text):
        assert TOKEN not in html


async def test_bad_credentials_give_the_checks_plain_failure(console: Console) -> None:
    wrong = "not-the-right-token-123"
    assert (await console.post("/admin/jira/connection", {**CLOUD, "api_token": wrong})).status_code == 303
    checked = await console.post("/admin/jira/check", {})
    assert "1 check failed: credentials." in checked.text
    assert f"JSM refused {EMAIL} (HTTP 401)" in checked.text and "API token" in checked.text
    assert "The service desks cannot be listed right now" in checked.text
    assert wrong not in checked.text and wrong not in (await console.client.get("/admin/jira")).text


async def test_an_unreachable_site_still_renders_with_a_plain_message(db_url: str) -> None:
    async with running_app(db_url, base_url=BASE_URL) as (client, services):
        token = await _sign_in(client, services)
        site = f"http://127.0.0.1:{free_port()}"
        data = {**CLOUD, "site_url": site, "csrf_token": token}
        assert (await client.post("/admin/jira/connection", data=data)).status_code == 303
        page = await client.get("/admin/jira")
        assert page.status_code == 200 and "The service desks cannot be listed right now" in page.text
        checked = await client.post("/admin/jira/check", data={"csrf_token": token})
        assert checked.status_code == 200 and f"cannot reach {site}" in checked.text


async def test_invalid_input_is_shown_inline_and_nothing_is_stored(console: Console) -> None:
    bad = {
        "deployment": "cloud",
        "site_url": "http://jira.example.com",
        "email": "",
        "api_token": "t0k3n-typed",
    }
    page = await console.post("/admin/jira/connection", bad)
    assert page.status_code == 400
    assert 'role="alert"' in page.text and "The connection was not saved" in page.text
    assert 'id="error-site_url"' in page.text and "must use https" in page.text
    assert 'id="error-email"' in page.text and 'aria-invalid="true"' in page.text
    assert 'value="http://jira.example.com"' in page.text
    assert "t0k3n-typed" not in page.text
    unknown = await console.post("/admin/jira/connection", {**CLOUD, "deployment": "mainframe"})
    assert unknown.status_code == 400 and 'id="error-deployment"' in unknown.text
    assert await console.services.jira.get() is None
    assert await console.events("admin.jira.connect") == []


async def test_an_empty_token_keeps_the_stored_one_of_the_same_deployment(console: Console) -> None:
    await _connected(console)
    changed = {**CLOUD, "email": "other-bot@example.com", "api_token": ""}
    assert (await console.post("/admin/jira/connection", changed)).status_code == 303
    stored = await console.services.jira.get()
    assert stored is not None and stored.email == "other-bot@example.com"
    assert stored.api_token is not None and stored.api_token.get_secret_value() == TOKEN

    # The stored token belongs to Cloud: Data Center needs its own.
    switched = await console.post(
        "/admin/jira/connection", {**CLOUD, "deployment": "datacenter", "api_token": ""}
    )
    assert switched.status_code == 400 and 'id="error-personal_access_token"' in switched.text
    assert (await console.services.jira.get()) == stored


async def test_a_new_connection_serves_no_desk_cached_from_the_old_one(console: Console) -> None:
    await _connected(console)
    assert "Facilities" in (await console.client.get("/admin/jira")).text  # now cached
    console.jsm.store.desks = [d for d in console.jsm.store.desks if d.project_key != "FAC"]
    assert "Facilities" in (await console.client.get("/admin/jira")).text  # the cache still serves it
    await _connected(console)  # saved again: what was cached is forgotten
    page = await console.client.get("/admin/jira")
    assert "Facilities" not in page.text and "IT Help" in page.text


async def test_desk_sso_off_and_request_types_are_stored_and_the_portal_refuses_the_desk(
    console: Console,
) -> None:
    await _connected(console)
    session_id, _ = await console.services.sessions.start(
        idp="corp", subject="alice-sub", email="alice@example.com", display_name="Alice Adams", attributes={}
    )
    customer = httpx.AsyncClient(transport=console.client._transport, base_url=BASE_URL)
    customer.cookies.set("deskgate_session", session_id)
    async with customer:
        assert (await customer.get("/portal/1")).status_code == 200

        saved = await console.post(
            "/admin/jira/desks/1", {"request_types": "chosen", "request_type": ["2", "1"]}
        )
        assert saved.status_code == 303 and saved.headers["location"] == "/admin/jira?saved=desk-1#desk-1"
        assert await console.services.desks.get("1") == DeskSetting("1", False, ("1", "2"))
        assert (await customer.get("/portal/1")).status_code == 404
        page = await console.client.get("/admin/jira?saved=desk-1")
        assert "The settings of desk 1 are saved" in page.text
        assert 'id="desk-1-sso" name="sso" value="on">' in page.text  # unticked
        assert 'id="desk-1-type-3" name="request_type" value="3">' in page.text
        assert 'id="desk-1-type-2" name="request_type" value="2" checked>' in page.text

        back = await console.post("/admin/jira/desks/1", {"sso": "on", "request_types": "all"})
        assert back.status_code == 303
        assert await console.services.desks.get("1") == DeskSetting("1", True, None)
        assert (await customer.get("/portal/1")).status_code == 200
    assert await console.events("admin.jira.desk") == [ADMIN_USER, ADMIN_USER]
    details = [e.detail for e in await console.services.audit.query(event="admin.jira.desk")]
    assert "desk 1 (ITH): SSO off, request types: 1, 2 by admin" in details


async def test_desk_form_refusals(console: Console) -> None:
    await _connected(console)
    none_ticked = await console.post("/admin/jira/desks/2", {"sso": "on", "request_types": "chosen"})
    assert none_ticked.status_code == 400
    assert 'id="desk-2-error"' in none_ticked.text and "Tick at least one request type" in none_ticked.text
    assert 'id="desk-2-chosen" name="request_types" value="chosen" checked>' in none_ticked.text
    foreign = await console.post("/admin/jira/desks/2", {"request_types": "chosen", "request_type": "1"})
    assert foreign.status_code == 400 and "do not belong to this desk" in foreign.text
    assert await console.services.desks.all() == {}
    for desk in ("999", "ITH"):
        missing = await console.post(f"/admin/jira/desks/{desk}", {"sso": "on", "request_types": "all"})
        assert missing.status_code == 404, desk
    assert await console.events("admin.jira.desk") == []


async def test_every_post_refuses_a_missing_or_wrong_csrf_token(console: Console) -> None:
    await _connected(console)
    before = await console.services.jira.get()
    posts: list[tuple[str, dict[str, str]]] = [
        ("/admin/jira/connection", {**CLOUD, "email": "intruder@example.com"}),
        ("/admin/jira/check", {}),
        ("/admin/jira/desks/1", {"request_types": "all"}),
    ]
    for path, data in posts:
        for token in ({}, {"csrf_token": "forged"}):
            refused = await console.client.post(path, data={**data, **token})
            assert refused.status_code == 403, path
    assert await console.services.jira.get() == before
    assert await console.services.desks.all() == {}
    assert await console.events("admin.jira.check") == []
    assert await console.events("admin.jira.connect") == [ADMIN_USER]


async def test_the_page_needs_an_admin(db_url: str) -> None:
    async with running_app(db_url) as (client, _):
        answer = await client.get("/admin/jira")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")


async def test_the_confluence_address_is_kept_for_data_center_only(console: Console) -> None:
    data_center = {
        "deployment": "datacenter",
        "site_url": "https://jira.example.com",
        "personal_access_token": "dc-pat",
        "confluence_url": "https://confluence.example.com/",
    }
    assert (await console.post("/admin/jira/connection", data_center)).status_code == 303
    stored = await console.services.jira.get()
    assert stored is not None and stored.confluence_url == "https://confluence.example.com"
    page = await console.client.get("/admin/jira")
    assert 'name="confluence_url" type="url" value="https://confluence.example.com"' in page.text

    # Emptied: articles show their excerpts again. A bad address is refused inline and nothing changes.
    emptied = await console.post("/admin/jira/connection", {**data_center, "confluence_url": " "})
    assert emptied.status_code == 303 and (await console.services.jira.get()).confluence_url is None  # type: ignore[union-attr]
    bad = await console.post("/admin/jira/connection", {**data_center, "confluence_url": "ftp://wiki"})
    assert bad.status_code == 400 and 'id="error-confluence_url"' in bad.text
    assert 'value="ftp://wiki"' in bad.text
    assert (await console.services.jira.get()).confluence_url is None  # type: ignore[union-attr]

    # Jira Cloud reads its own /wiki: an address sent along is not stored.
    cloud = await console.post("/admin/jira/connection", {**CLOUD, "confluence_url": "https://other.example"})
    assert cloud.status_code == 303 and (await console.services.jira.get()).confluence_url is None  # type: ignore[union-attr]
