"""The customer's sign-in page as the login page settings shape it: automatic redirect, email-domain
routing, button labels, and the portal branding (name, logo, generated stylesheet)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr, ValidationError

from deskgate.identity.provider import ProviderConfig
from deskgate.login.page import Branding, LoginPageSettings, email_domain, parse_domain_lines
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio


def _idp(name: str, *, enabled: bool = True, order: int = 0) -> ProviderConfig:
    """Explicit endpoints: starting a sign-in needs no discovery, so no IdP has to run."""
    return ProviderConfig(
        name=name,
        title=f"{name.title()} SSO",
        discovery=False,
        issuer=f"https://{name}.idp.test",
        authorization_endpoint=f"https://{name}.idp.test/authorize",
        token_endpoint=f"https://{name}.idp.test/token",
        jwks_uri=f"https://{name}.idp.test/jwks",
        client_id="deskgate",
        client_secret=SecretStr("client-secret-0123456789"),
        enabled=enabled,
        order=order,
    )


def _sent_to(location: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query)


IDPS = [_idp("gluu", order=1), _idp("okta", order=2), _idp("old", enabled=False, order=3)]


async def test_automatic_mode_goes_straight_to_the_only_idp_or_the_default(db_url: str) -> None:
    async with running_app(db_url, idps=[_idp("gluu")]) as (client, services):
        alone = await client.get("/login", params={"next": "/portal"})  # automatic is the default mode
        assert alone.status_code == 302
        assert _sent_to(alone.headers["location"])[0] == "https://gluu.idp.test/authorize"

        await services.login_page.save(LoginPageSettings(mode="chooser"))
        page = await client.get("/login")
        assert page.status_code == 200 and ">Gluu SSO</a>" in page.text

    async with running_app(db_url, idps=IDPS) as (client, services):
        assert (await client.get("/login")).status_code == 200  # two enabled, no default: the page
        await services.login_page.save(LoginPageSettings(default_idp="okta"))
        straight = await client.get("/login")
        assert straight.status_code == 302
        assert _sent_to(straight.headers["location"])[0] == "https://okta.idp.test/authorize"

        await services.login_page.save(LoginPageSettings(default_idp="old"))  # disabled: never chosen
        assert (await client.get("/login")).status_code == 200


async def test_the_email_domain_picks_the_idp_and_passes_the_login_hint(db_url: str) -> None:
    async with running_app(db_url, idps=IDPS) as (client, services):
        await services.login_page.save(
            LoginPageSettings(mode="chooser", domains={"corp.com": "gluu", "partner.test": "okta"})
        )
        page = await client.get("/login", params={"next": "/portal/requests"})
        assert 'id="login-email"' in page.text and 'name="next" value="/portal/requests"' in page.text

        routed = await client.get("/login", params={"email": " Jo.Doe@CORP.com ", "next": "/portal"})
        assert routed.status_code == 302
        endpoint, query = _sent_to(routed.headers["location"])
        assert endpoint == "https://gluu.idp.test/authorize"
        assert query["login_hint"] == ["Jo.Doe@CORP.com"]
        other = await client.get("/login", params={"email": "ann@partner.test"})
        assert _sent_to(other.headers["location"])[0] == "https://okta.idp.test/authorize"
        # Exact domains only: a subdomain is another domain.
        sub = await client.get("/login", params={"email": "jo@eu.corp.com"})
        assert sub.status_code == 200 and "sign-in method for eu.corp.com" in sub.text


async def test_an_unknown_domain_gets_the_buttons_and_a_message(db_url: str) -> None:
    async with running_app(db_url, idps=IDPS) as (client, services):
        await services.login_page.save(LoginPageSettings(domains={"corp.com": "gluu"}))
        unknown = await client.get("/login", params={"email": "eve@elsewhere.org", "next": "//evil.test"})
        assert unknown.status_code == 200
        assert 'role="alert"' in unknown.text and "sign-in method for elsewhere.org" in unknown.text
        assert 'value="eve@elsewhere.org"' in unknown.text
        assert "/login?idp=gluu&amp;next=/" in unknown.text and "/login?idp=okta" in unknown.text
        assert 'name="next" value="/"' in unknown.text  # the hostile next was replaced, as everywhere
        invalid = await client.get("/login", params={"email": "not an address"})
        assert invalid.status_code == 400 and "such as name@example.com" in invalid.text


async def test_disabled_or_deleted_idps_are_never_chosen_by_domain(db_url: str) -> None:
    async with running_app(db_url, idps=IDPS) as (client, services):
        domains = {"corp.com": "gluu", "old.test": "old", "gone.test": "deleted"}
        await services.login_page.save(LoginPageSettings(domains=domains))
        for email in ("a@old.test", "a@gone.test"):
            page = await client.get("/login", params={"email": email})
            assert page.status_code == 200 and "location" not in page.headers
            assert "/login?idp=old" not in page.text
        await services.providers.save(_idp("gluu", enabled=False))
        services.providers.invalidate()
        page = await client.get("/login", params={"email": "a@corp.com"})
        assert page.status_code == 200 and "sign-in method for corp.com" in page.text
        # No domain leads to an enabled IdP any more: the email box goes away.
        assert 'id="login-email"' not in (await client.get("/login")).text


async def test_labels_replace_the_titles_on_the_buttons(db_url: str) -> None:
    async with running_app(db_url, idps=IDPS) as (client, services):
        await services.login_page.save(LoginPageSettings(labels={"gluu": "Employees", "old": "Legacy"}))
        page = await client.get("/login")
        buttons = re.findall(r'class="button" href="/login\?idp=(\w+)[^"]*">([^<]+)</a>', page.text)
        assert buttons == [("gluu", "Employees"), ("okta", "Okta SSO")]


async def test_branding_reaches_the_title_header_and_a_generated_stylesheet(db_url: str) -> None:
    async with running_app(db_url, idps=IDPS) as (client, services):
        plain = await client.get("/login")
        assert "<title>Sign in · Deskgate</title>" in plain.text and "/branding.css" not in plain.text
        branding = Branding(
            name="Acme Support",
            logo_url="https://cdn.acme.test/logo.png",
            accent_color="#aa3300",
            background_color="#fafafa",
        )
        await services.login_page.save(LoginPageSettings(branding=branding))
        page = await client.get("/login")
        assert "<title>Sign in · Acme Support</title>" in page.text
        assert '<img class="logo" src="https://cdn.acme.test/logo.png" alt="Acme Support logo">' in page.text
        assert "Acme Support</a>" in page.text and ">Help center</a>" not in page.text
        assert "img-src 'self' data: https://cdn.acme.test;" in page.headers["content-security-policy"]
        link = re.search(r'href="(/branding\.css\?v=(\w+))"', page.text)
        assert link and link.group(2) == branding.version

        css = await client.get(link.group(1))
        assert css.headers["content-type"].startswith("text/css")
        assert "--ds-background-brand-bold: #aa3300;" in css.text and "--dg-page: #fafafa;" in css.text
        assert "immutable" in css.headers["cache-control"]
        stale = await client.get("/branding.css", params={"v": "older"})
        assert stale.text == css.text and stale.headers["cache-control"] == "no-cache"

        changed = Branding(name="Acme Support", accent_color="#003366")
        await services.login_page.save(LoginPageSettings(branding=changed))
        again = await client.get("/login")
        assert f"/branding.css?v={changed.version}" in again.text and changed.version != branding.version
        assert "--ds-background-brand-bold: #003366;" in (await client.get("/branding.css")).text
        # The console keeps Deskgate's own look.
        console = await client.get("/admin/login")
        assert "Acme Support" not in console.text and "/branding.css" not in console.text


def test_domains_and_addresses_are_read_strictly() -> None:
    assert email_domain("Jo@Corp.COM.") == "corp.com"
    assert email_domain("jo@bücher.example") == "xn--bcher-kva.example"
    for bad in ("jo", "jo@", "jo@localhost", "a@b@corp.com", "jo@-corp.com", "jo@corp..com"):
        assert email_domain(bad) is None, bad
    domains, problems = parse_domain_lines("# staff\ncorp.com = gluu\n\nx.test:okta\nbad\n", ["gluu", "okta"])
    assert domains == {"corp.com": "gluu", "x.test": "okta"}
    assert problems == ["line 5: write the domain, then the identity provider (corp.com gluu)"]


@pytest.mark.parametrize(
    "branding",
    [
        {"accent_color": "#abc"},
        {"background_color": "rgb(0,0,0)"},
        {"logo_url": "https://x.test/a b.png"},
        {"logo_url": "https://user@x.test/a.png"},
        {"logo_url": "//x.test/a.png"},
        {"logo_url": "/portal/logo.png"},
        {"name": "x" * 81},
    ],
)
def test_branding_refuses_what_could_break_the_page(branding: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Branding.model_validate(branding)
