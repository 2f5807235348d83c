"""The Content-Security-Policy lets images in from this site, data: URLs and the branding logo's origin
only: no https: wildcard, no origin without a logo on another host, a logo change (console save, or
another worker's after the cache window) shows in the header, and a logo URL whose host a CSP source
cannot name adds nothing to the policy."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

import deskgate.login.page
from deskgate.identity.provider import ProviderConfig
from deskgate.login.page import Branding, LoginPageSettings
from deskgate.services import build_services
from deskgate.settings import load_settings
from deskgate.web.security import image_origin
from tests.support.admin import console_sign_in
from tests.support.inprocess import SECRET_KEY, running_app

pytestmark = pytest.mark.anyio

IDP = ProviderConfig(
    name="corp",
    title="Corp",
    issuer="https://idp.corp.test",
    client_id="deskgate",
    client_secret=SecretStr("csp-logo-client-secret-0123"),
)
LOGO = "https://cdn.example.net/logo.png"
# Everything but img-src; form-action names the one enabled IdP (tests/web/test_csp_form_action.py).
OTHER_DIRECTIVES = {
    "default-src": "'self'",
    "style-src": "'self'",
    "script-src": "'self'",
    "form-action": "'self' https://idp.corp.test",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}


def directives(csp: str) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for part in csp.split(";"):
        name, _, value = part.strip().partition(" ")
        assert name not in parsed, f"{name} twice in {csp!r}"
        parsed[name] = value
    return parsed


def with_logo(logo_url: str | None) -> LoginPageSettings:
    return LoginPageSettings(branding=Branding(name="Acme", logo_url=logo_url))


@pytest.mark.parametrize(
    ("logo_url", "origin"),
    [
        (None, None),
        ("/static/logo.png", None),  # 'self' covers it
        (LOGO, "https://cdn.example.net"),
        ("https://CDN.Example.net:8443/img/logo.svg?v=2", "https://cdn.example.net:8443"),
        ("https://cdn.example.net;script-src-elem/logo.png", None),  # would start another directive
        ("https://cdn.example.net,evil.test/logo.png", None),
        ("https://[2001:db8::1]/logo.png", None),  # no IPv6 literal in a CSP source
        ("https://cdn.example.net:99999/logo.png", None),
        ("https://cdn_images.example.net/logo.png", None),
        ("http://cdn.example.net/logo.png", None),
    ],
)
def test_image_origin(logo_url: str | None, origin: str | None) -> None:
    assert image_origin(logo_url) == origin


async def test_img_src_names_the_logo_origin_and_nothing_else(db_url: str) -> None:
    async with running_app(db_url, idps=[IDP]) as (client, services):
        await services.login_page.save(with_logo(LOGO))
        page = await client.get("/login")
        assert f'src="{LOGO}"' in page.text
        csp = directives(page.headers["content-security-policy"])
        assert csp.pop("img-src").split() == ["'self'", "data:", "https://cdn.example.net"]
        assert csp == OTHER_DIRECTIVES
        assert "https:" not in page.headers["content-security-policy"].split()  # no bare wildcard

        # Every answer carries it, the frameable front-channel page and the console included.
        for path, ancestors in (("/plugins/servlet/oauth/logout", "*"), ("/admin/login", "'none'")):
            other = directives((await client.get(path)).headers["content-security-policy"])
            assert other["img-src"] == "'self' data: https://cdn.example.net"
            assert other["frame-ancestors"] == ancestors


@pytest.mark.parametrize("logo_url", [None, "/static/logo.png"])
async def test_without_a_logo_elsewhere_no_https_origin(db_url: str, logo_url: str | None) -> None:
    async with running_app(db_url, idps=[IDP]) as (client, services):
        await services.login_page.save(with_logo(logo_url))
        page = await client.get("/login")
        csp = directives(page.headers["content-security-policy"])
        assert csp.pop("img-src") == "'self' data:"
        assert csp == OTHER_DIRECTIVES
        header = page.headers["content-security-policy"]
        assert header.count("https") == 1  # the IdP's origin, in form-action


async def test_a_logo_url_a_csp_source_cannot_name_adds_nothing(db_url: str) -> None:
    forged = "https://cdn.example.net;script-src-elem/logo.png"
    with pytest.raises(ValueError, match="host name may hold only"):
        with_logo(forged)  # refused when entered; a row written before that rule must not widen the CSP
    stored = LoginPageSettings(branding=Branding.model_construct(name="Acme", logo_url=forged))
    async with running_app(db_url, idps=[IDP]) as (client, services):
        await services.login_page.save(stored)
        header = (await client.get("/login")).headers["content-security-policy"]
        csp = directives(header)
        assert csp.pop("img-src") == "'self' data:"
        assert csp == OTHER_DIRECTIVES and "script-src-elem" not in header


async def test_https_deployments_name_the_same_origins(db_url: str) -> None:
    async with running_app(db_url, base_url="https://help.example.com", idps=[IDP]) as (client, services):
        await services.login_page.save(with_logo(LOGO))
        csp = directives((await client.get("/login")).headers["content-security-policy"])
    assert csp["img-src"] == "'self' data: https://cdn.example.net"
    assert csp["form-action"] == "'self' https://idp.corp.test"


async def test_a_logo_saved_in_the_console_shows_at_once(db_url: str) -> None:
    async with running_app(db_url, idps=[IDP]) as (client, services):
        token = await console_sign_in(client, services, "/admin/login-page")

        async def save_logo(logo_url: str) -> str:
            fields = {
                "csrf_token": token,
                "mode": "chooser",
                "default_idp": "",
                "domains": "",
                "logo_url": logo_url,
            }
            saved = await client.post("/admin/login-page", data=fields)
            assert saved.status_code == 303, saved.text
            page = await client.get("/login")
            return directives(page.headers["content-security-policy"])["img-src"]

        assert await save_logo("https://cdn.example.net/logo.png") == "'self' data: https://cdn.example.net"
        assert (
            await save_logo("https://images.example.org:8443/a.png")
            == "'self' data: https://images.example.org:8443"
        )
        assert await save_logo("") == "'self' data:"


async def test_another_workers_change_shows_after_the_cache_window(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deskgate.login.page, "CACHE_SECONDS", 3600.0)  # a window no test outlasts
    async with running_app(db_url, idps=[IDP]) as (client, services):
        await services.login_page.save(with_logo(LOGO))
        assert "cdn.example.net" in (await client.get("/login")).headers["content-security-policy"]

        other = await build_services(load_settings(secret_key=SECRET_KEY, database_url=db_url))
        try:
            await other.login_page.save(with_logo("https://images.example.org/logo.png"))
        finally:
            await other.aclose()
        # Within the window this worker keeps what it had; once it has passed, the header follows.
        assert "cdn.example.net" in (await client.get("/login")).headers["content-security-policy"]
        monkeypatch.setattr(deskgate.login.page, "CACHE_SECONDS", 0.0)
        img_src = directives((await client.get("/login")).headers["content-security-policy"])["img-src"]
        assert img_src == "'self' data: https://images.example.org"
