"""The login page console: saving and auditing, inline errors with the input kept, CSRF, export/import."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from deskgate.errors import ConfigError
from deskgate.identity.provider import ProviderConfig
from deskgate.login.page import Branding, LoginPageSettings
from deskgate.services import Services
from deskgate.web.security import CookieNames
from tests.support.admin import ADMIN_USER, console_sign_in, csrf_token
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

PATH = "/admin/login-page"


def _idp(name: str, *, enabled: bool = True) -> ProviderConfig:
    return ProviderConfig(
        name=name,
        title=f"{name.title()} SSO",
        issuer=f"https://{name}.idp.test",
        client_id="deskgate",
        client_secret=SecretStr("client-secret-0123456789"),
        enabled=enabled,
    )


GOOD = {
    "mode": "chooser",
    "default_idp": "gluu",
    "domains": "Corp.com gluu\npartner.example = okta\n",
    "label-gluu": "Employees",
    "label-okta": "",
    "name": "Acme Support",
    "logo_url": "https://cdn.acme.test/logo.png",
    "accent_color": "#AA3300",
    "background_color": "#fafafa",
}


async def _admin(client: httpx.AsyncClient, services: Services) -> str:
    return await console_sign_in(client, services, PATH)


async def test_the_form_saves_every_setting_and_audits_it(db_url: str) -> None:
    async with running_app(db_url, idps=[_idp("gluu"), _idp("okta")]) as (client, services):
        token = await _admin(client, services)
        page = await client.get(PATH)
        assert 'aria-current="page">Login page' in page.text
        assert 'for="field-label-gluu"' in page.text and 'placeholder="Gluu SSO"' in page.text

        saved = await client.post(PATH, data={**GOOD, "csrf_token": token})
        assert saved.status_code == 303 and saved.headers["location"] == PATH + "?saved=1"
        settings = await services.login_page.get()
        assert settings.mode == "chooser" and settings.default_idp == "gluu"
        assert settings.domains == {"corp.com": "gluu", "partner.example": "okta"}
        assert settings.labels == {"gluu": "Employees"}
        assert settings.branding == Branding(
            name="Acme Support",
            logo_url="https://cdn.acme.test/logo.png",
            accent_color="#aa3300",
            background_color="#fafafa",
        )
        events = await services.audit.query(event="admin.login_page.update")
        assert [e.subject for e in events] == [ADMIN_USER]
        assert events[0].detail is not None and "mode" in events[0].detail and "branding" in events[0].detail

        shown = await client.get(saved.headers["location"])
        assert 'role="status"' in shown.text
        assert 'value="Employees"' in shown.text and 'value="#aa3300"' in shown.text
        assert "corp.com gluu\npartner.example okta</textarea>" in shown.text
        assert 'id="mode-chooser" name="mode" value="chooser" checked' in shown.text
        assert '<option value="gluu" selected>' in shown.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("accent_color", "red", "#rrggbb"),
        ("background_color", "#12345", "#rrggbb"),
        ("logo_url", "http://cdn.acme.test/logo.png", "https://"),
        ("logo_url", "javascript:alert(1)", "https://"),
        ("logo_url", "/static/../secret.png", "under /static/"),
        ("logo_url", "https://cdn.acme.test;script-src-elem/l.png", "letters, digits, dots and hyphens"),
        ("logo_url", "https://cdn_images.acme.test/l.png", "letters, digits, dots and hyphens"),
        ("logo_url", "https://cdn.acme.test:99999/l.png", "port must be a number"),
        ("domains", "not_a_domain gluu", "line 1"),
        ("domains", "corp.com nobody", "no identity provider named"),
        ("domains", "corp.com gluu\nCORP.com gluu", "listed twice"),
        ("default_idp", "nobody", "no identity provider named"),
    ],
)
async def test_bad_input_is_refused_inline_and_kept(
    db_url: str, field: str, value: str, message: str
) -> None:
    async with running_app(db_url, idps=[_idp("gluu"), _idp("okta")]) as (client, services):
        token = await _admin(client, services)
        page = await client.post(PATH, data={**GOOD, field: value, "csrf_token": token})
        assert page.status_code == 400
        assert 'role="alert"' in page.text
        assert f'id="error-{field}"' in page.text and message in page.text
        assert 'aria-invalid="true"' in page.text
        assert 'value="Acme Support"' in page.text  # the other fields are kept too
        if field == "domains":
            assert value.replace("\n", "&#10;") in page.text or value in page.text
        elif field != "default_idp":
            assert f'value="{value}"' in page.text.replace("&#39;", "'").replace("&amp;", "&")
        assert await services.login_page.get() == LoginPageSettings()
        assert await services.audit.query(event="admin.login_page.update") == []


async def test_a_post_without_a_valid_csrf_token_changes_nothing(db_url: str) -> None:
    async with running_app(db_url, idps=[_idp("gluu")]) as (client, services):
        await _admin(client, services)
        name = CookieNames(https=False).csrf
        ours = client.cookies[name]
        client.cookies.delete(name)
        theirs = csrf_token((await client.get("/admin/login")).text)  # another browser's token
        client.cookies.set(name, ours)
        for data in (GOOD, {**GOOD, "csrf_token": theirs}, {**GOOD, "csrf_token": "forged"}):
            refused = await client.post(PATH, data=data)
            assert refused.status_code == 403
        assert await services.login_page.get() == LoginPageSettings()
        assert await services.audit.query(event="admin.login_page.update") == []


async def test_domains_of_a_disabled_idp_are_flagged_as_ignored(db_url: str) -> None:
    async with running_app(db_url, idps=[_idp("gluu", enabled=False)]) as (client, services):
        token = await _admin(client, services)
        data = {**GOOD, "domains": "corp.com gluu", "default_idp": "", "csrf_token": token}
        assert (await client.post(PATH, data=data)).status_code == 303
        page = await client.get(PATH)
        assert "Ignored while their identity provider is disabled, a draft or deleted: corp.com." in page.text


async def test_export_and_replace_round_trip_and_a_bad_import_changes_nothing(db_url: str) -> None:
    async with running_app(db_url) as (_, services):
        store = services.login_page
        wanted = LoginPageSettings(
            mode="chooser", domains={"Corp.COM": "gluu"}, branding=Branding(accent_color="#ABCDEF")
        )
        await store.save(wanted)
        exported = await store.export()
        assert exported["domains"] == {"corp.com": "gluu"}
        assert exported["branding"]["accent_color"] == "#abcdef"
        await store.save(LoginPageSettings())
        assert await store.replace(exported) == wanted

        bad = {**exported, "branding": {"accent_color": "blue", "logo_url": "ftp://x.test/l.png"}}
        with pytest.raises(ConfigError) as caught:
            await store.replace(bad)
        problems = caught.value.problems
        assert any("accent_color" in p for p in problems) and any("logo_url" in p for p in problems)
        assert await store.export() == exported


async def test_the_yaml_setting_is_stored_at_start(db_url: str) -> None:
    section = {"mode": "chooser", "labels": {"gluu": "Staff"}, "branding": {"name": "Acme"}}
    async with running_app(db_url, idps=[_idp("gluu")], login_page=section) as (client, services):
        assert (await services.login_page.export())["labels"] == {"gluu": "Staff"}
        page = await client.get("/login")
        assert page.status_code == 200 and ">Staff</a>" in page.text
