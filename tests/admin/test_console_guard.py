"""Every console route, found by walking the app's routes (a page added later is covered without a new test):

- a customer's session opens none of them: each sends the browser to the admin sign-in page;
- every state-changing request without a valid CSRF token is refused with 403 and changes nothing.

Only the sign-in, sign-out and setup-link routes are open without an admin session; their POSTs still need
the token.
"""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from deskgate.config_io import export_config
from deskgate.identity.provider import ProviderConfig
from deskgate.services import Services
from deskgate.web import (
    admin,
    admin_activity,
    admin_auth,
    admin_backup,
    admin_deliveries,
    admin_idps,
    admin_jira,
    admin_login_page,
    admin_policy,
)
from deskgate.web.security import CookieNames
from tests.support.admin import console_sign_in, csrf_token
from tests.support.console_routes import CONSOLE, GUARDED, STATE_CHANGING, concrete
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio


def _corp() -> ProviderConfig:
    return ProviderConfig(
        name="corp",
        title="Corp",
        issuer="https://corp.idp.test",
        client_id="deskgate",
        client_secret=SecretStr("corp-client-secret-0123"),
    )


def test_the_walk_finds_the_console() -> None:
    # Guards the walk itself: were it to find nothing, the tests below would pass without testing anything.
    assert ("GET", "/admin/") in GUARDED
    assert ("POST", "/admin/idps/{name}/delete") in STATE_CHANGING
    assert len(GUARDED) >= 15 and len(STATE_CHANGING) >= 8
    modules = (admin, admin_activity, admin_auth, admin_backup, admin_idps, admin_jira, admin_login_page)
    declared = {
        route.path for module in (*modules, admin_policy, admin_deliveries) for route in module.routes
    }
    declared = {path for path in declared if path.startswith("/admin")}
    assert declared <= {path for _, path in CONSOLE}


async def _customer(client: httpx.AsyncClient, services: Services) -> None:
    session_id, _ = await services.sessions.start(
        idp="corp", subject="customer-1", email="c@corp.test", display_name="A Customer", attributes={}
    )
    assert await services.sessions.resolve(session_id) is not None
    client.cookies.set(CookieNames(https=False).session, session_id)


async def test_a_customer_session_opens_no_console_route(db_url: str) -> None:
    async with running_app(db_url, idps=[_corp()]) as (client, services):
        await _customer(client, services)
        before = await export_config(services, include_secrets=True)
        token = csrf_token((await client.get("/admin/login")).text)  # even a valid token changes nothing
        opened = []
        for method, path in GUARDED:
            response = await client.request(method, concrete(path), data={"csrf_token": token})
            location = response.headers.get("location", "")
            if not (response.status_code == 303 and location.startswith("/admin/login")):
                opened.append(f"{method} {path}: {response.status_code} {location}")
        assert opened == []
        assert await export_config(services, include_secrets=True) == before
        assert [e.event for e in await services.audit.query() if e.event.startswith("admin.")] == []
        assert await services.sessions.resolve(client.cookies[CookieNames(https=False).session]) is not None


async def _admin(client: httpx.AsyncClient, services: Services) -> str:
    return await console_sign_in(client, services)


async def _token_of_another_browser(client: httpx.AsyncClient) -> str:
    """A real token, minted for another browser's CSRF cookie: worthless with this browser's cookie."""
    name = CookieNames(https=False).csrf
    ours = client.cookies[name]
    client.cookies.delete(name)
    theirs = csrf_token((await client.get("/admin/login")).text)
    client.cookies.set(name, ours)
    return theirs


async def test_every_console_change_needs_a_valid_csrf_token(db_url: str) -> None:
    async with running_app(db_url, idps=[_corp()]) as (client, services):
        valid = await _admin(client, services)
        stolen = await _token_of_another_browser(client)
        assert stolen != valid
        before = await export_config(services, include_secrets=True)
        events = len(await services.audit.query())
        accepted = []
        for method, path in STATE_CHANGING:
            for sent in ({}, {"csrf_token": ""}, {"csrf_token": "forged-token"}, {"csrf_token": stolen}):
                response = await client.request(method, concrete(path), data=sent)
                if response.status_code != 403 or "form had expired" not in response.text:
                    accepted.append(f"{method} {path} with {sent}: {response.status_code}")
        assert accepted == []
        assert await export_config(services, include_secrets=True) == before
        assert len(await services.audit.query()) == events
        # The admin is still signed in: a refused form ends nothing (not even the sign-out's).
        assert (await client.get("/admin/")).status_code == 200
