"""The IdP console: the add wizard, editing, and the list's enable/disable/delete/reorder buttons."""

from __future__ import annotations

import re

import httpx
import pytest
from pydantic import SecretStr

from deskgate.identity.provider import ProviderConfig
from deskgate.services import (
    BACKCHANNEL_LOGOUT_PATH,
    CALLBACK_PATH,
    FRONTCHANNEL_LOGOUT_PATH,
    POST_LOGOUT_PATH,
    Services,
)
from tests.support.admin import ADMIN_USER, console_sign_in
from tests.support.idps import provider
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

SECRET = "gluu-secret-never-shown-42"
GLUU_FORM = {
    "name": "gluu",
    "title": "Corp Gluu",
    "domain": "idp.corp.test",
    "client_id": "inum-1234",
    "client_secret": SECRET,
    "scopes": "openid email profile",
}


def _idp(name: str, order: int) -> ProviderConfig:
    return provider(name, client_secret=SecretStr(SECRET), order=order)


async def _admin(client: httpx.AsyncClient, services: Services) -> str:
    return await console_sign_in(client, services)


async def _events(services: Services, event: str) -> list[str | None]:
    return [e.subject for e in await services.audit.query(event=event)]


async def test_wizard_adds_gluu_and_shows_what_to_register(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await _admin(client, services)
        step1 = await client.get("/admin/idps/new")
        assert 'name="protocol" value="oidc"' in step1.text
        step2 = await client.get("/admin/idps/new/preset", params={"protocol": "oidc", "q": "gluu"})
        assert "/admin/idps/new/gluu/urls" in step2.text and "/admin/idps/new/okta" not in step2.text
        # An IdP admin registers the client first: the URLs and console steps come before the form.
        step3 = await client.get("/admin/idps/new/gluu/urls")
        assert services.settings.url(CALLBACK_PATH) in step3.text and "Sign in to oxTrust" in step3.text
        assert 'href="/admin/idps/new/gluu"' in step3.text and "field-client_id" not in step3.text
        step4 = await client.get("/admin/idps/new/gluu")
        assert 'for="field-domain"' in step4.text and 'id="field-client_secret"' in step4.text

        saved = await client.post("/admin/idps/new/gluu", data={**GLUU_FORM, "csrf_token": token})
        assert saved.status_code == 303
        assert saved.headers["location"] == "/admin/idps/gluu/setup?saved=1"
        config = await services.providers.get("gluu")
        assert config.token_endpoint_auth_method == "client_secret_post"
        assert config.token_endpoint == "https://idp.corp.test/oxauth/restv1/token"
        assert config.authorization_endpoint == "https://idp.corp.test/oxauth/restv1/authorize"
        assert config.client_secret is not None and config.client_secret.get_secret_value() == SECRET
        assert await _events(services, "admin.idp.create") == [ADMIN_USER]

        summary = await client.get(saved.headers["location"])
        for path in (CALLBACK_PATH, FRONTCHANNEL_LOGOUT_PATH, BACKCHANNEL_LOGOUT_PATH, POST_LOGOUT_PATH):
            assert services.settings.url(path) in summary.text
        assert "&lt;base_url&gt;" not in summary.text and "<base_url>" not in summary.text
        assert "<ol" in summary.text and "Sign in to oxTrust" in summary.text
        assert "/admin/idps/gluu/test" in summary.text
        assert re.search(r'<script src="/static/copy(\.\w+)?\.js">', summary.text)  # fingerprinted or not
        assert SECRET not in summary.text


async def test_all_problems_are_shown_together_and_the_secret_is_not_echoed(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await _admin(client, services)
        bad = {**GLUU_FORM, "domain": "not a host/", "client_id": "", "csrf_token": token}
        page = await client.post("/admin/idps/new/gluu", data=bad)
        assert page.status_code == 400
        assert 'id="error-domain"' in page.text and 'id="error-client_id"' in page.text
        assert 'value="not a host/"' in page.text and 'value="Corp Gluu"' in page.text
        assert SECRET not in page.text
        assert await services.providers.all() == []


async def test_edit_prefills_and_keeps_the_secret_when_left_empty(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await _admin(client, services)
        await client.post("/admin/idps/new/gluu", data={**GLUU_FORM, "csrf_token": token})
        form = await client.get("/admin/idps/gluu/edit")
        assert 'value="idp.corp.test"' in form.text and 'value="inum-1234"' in form.text
        assert SECRET not in form.text
        changed = {**GLUU_FORM, "client_id": "inum-5678", "client_secret": "", "csrf_token": token}
        assert (await client.post("/admin/idps/gluu/edit", data=changed)).status_code == 303
        config = await services.providers.get("gluu")
        assert config.client_id == "inum-5678"
        assert config.client_secret is not None and config.client_secret.get_secret_value() == SECRET
        assert await _events(services, "admin.idp.update") == [ADMIN_USER]


async def test_list_buttons_disable_enable_reorder_delete_and_are_audited(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await services.providers.save(_idp("alpha", 0))
        await services.providers.save(_idp("beta", 0))
        token = await _admin(client, services)
        listing = await client.get("/admin/")
        assert "Logins (24 h)" in listing.text and SECRET not in listing.text

        unconfirmed = await client.post("/admin/idps/alpha/disable", data={"csrf_token": token})
        assert unconfirmed.status_code == 409 and "Disable Alpha?" in unconfirmed.text
        assert (await services.providers.get("alpha")).enabled
        confirmed = {"csrf_token": token, "confirm": "disable"}
        assert (await client.post("/admin/idps/alpha/disable", data=confirmed)).status_code == 303
        assert not (await services.providers.get("alpha")).enabled
        await client.post("/admin/idps/alpha/enable", data={"csrf_token": token})
        assert (await services.providers.get("alpha")).enabled

        await client.post("/admin/idps/beta/move/up", data={"csrf_token": token})
        assert [p.name for p in await services.providers.all()] == ["beta", "alpha"]
        await client.post("/admin/idps/beta/move/down", data={"csrf_token": token})
        assert [p.name for p in await services.providers.all()] == ["alpha", "beta"]

        confirm = await client.get("/admin/idps/beta/delete")
        assert "Delete Beta?" in confirm.text
        unconfirmed = await client.post("/admin/idps/beta/delete", data={"csrf_token": token})
        assert unconfirmed.status_code == 409 and "Delete Beta?" in unconfirmed.text
        assert [p.name for p in await services.providers.all()] == ["alpha", "beta"]
        await client.post("/admin/idps/beta/delete", data={"csrf_token": token, "confirm": "delete"})
        assert [p.name for p in await services.providers.all()] == ["alpha"]

        for event in ("disable", "enable", "reorder", "delete"):
            subjects = await _events(services, f"admin.idp.{event}")
            assert subjects and set(subjects) == {ADMIN_USER}, event
        for page in ("/admin/", "/admin/idps/alpha/edit", "/admin/idps/alpha/setup"):
            assert SECRET not in (await client.get(page)).text


POSTS: tuple[tuple[str, dict[str, str]], ...] = (
    ("/admin/idps/new/gluu", GLUU_FORM),
    ("/admin/idps/alpha/edit", {**GLUU_FORM, "name": "alpha"}),
    ("/admin/idps/alpha/disable", {}),
    ("/admin/idps/alpha/enable", {}),
    ("/admin/idps/alpha/delete", {}),
    ("/admin/idps/alpha/move/down", {}),
)


async def test_posts_without_a_valid_csrf_token_change_nothing(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await services.providers.save(_idp("alpha", 10))
        await services.providers.save(_idp("beta", 20))
        await _admin(client, services)
        before = await services.providers.all()
        for path, data in POSTS:
            for token in ({}, {"csrf_token": "forged"}):
                response = await client.post(path, data={**data, **token})
                assert response.status_code == 403, path
        services.providers.invalidate()
        assert await services.providers.all() == before
        assert [e for e in await services.audit.query() if e.event.startswith("admin.idp.")] == []


async def test_without_an_admin_session_every_route_sends_to_sign_in(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await services.providers.save(_idp("alpha", 10))
        gets = (
            "/admin/idps/new",
            "/admin/idps/new/preset",
            "/admin/idps/new/gluu",
            "/admin/idps/alpha/setup",
            "/admin/idps/alpha/edit",
            "/admin/idps/alpha/delete",
        )
        for path in gets:
            response = await client.get(path)
            assert response.status_code == 303 and response.headers["location"].startswith("/admin/login")
        for path, data in POSTS:
            response = await client.post(path, data=data)
            assert response.status_code == 303 and response.headers["location"].startswith("/admin/login")
        assert [p.name for p in await services.providers.all()] == ["alpha"]
