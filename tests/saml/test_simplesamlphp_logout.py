"""Single logout both ways, and IdP-initiated sign-in, with SimpleSAMLphp as the real IdP.

SimpleSAMLphp knows Deskgate's certificate (`validate.logout`): it refuses our LogoutRequest and
LogoutResponse unless their Redirect-binding signatures verify, and signs its own (`sign.logout`),
which Deskgate checks against the certificate from the IdP's metadata. Two HTTP clients play the
browser: the in-process one at Deskgate, a real one (with SimpleSAMLphp's cookies) at the IdP.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest

from deskgate.identity.provider import ProviderConfig
from deskgate.identity.saml.metadata import idp_settings
from deskgate.identity.saml.settings import SamlIdpSettings
from deskgate.services import Services
from tests.saml.simplesamlphp import ANA, available, simplesamlphp
from tests.saml.test_simplesamlphp_peer import BASE, SP, hidden_fields
from tests.support.admin import csrf_token
from tests.support.inprocess import running_app

pytestmark = [pytest.mark.anyio, pytest.mark.peer]


async def add_ssp(
    services: Services, browser_at_idp: httpx.AsyncClient, idp_base: str, **changes: object
) -> str:
    metadata = (await browser_at_idp.get(idp_base + "/saml2/idp/metadata.php")).content
    read = idp_settings(metadata, signed="both")
    settings = SamlIdpSettings.model_validate(read.model_dump() | changes)
    assert settings.slo_url == idp_base + "/saml2/idp/SingleLogoutService.php", settings.slo_url
    await services.providers.save(
        ProviderConfig(name="ssp", title="SimpleSAMLphp", protocol="saml", saml=settings)
    )
    return settings.sso_url


async def fill_login_form(browser_at_idp: httpx.AsyncClient, url: str) -> dict[str, str]:
    """Open the IdP's page at `url`, sign in as Ana; the fields of the form it posts to our ACS."""
    form = await browser_at_idp.get(url, follow_redirects=True)
    assert form.status_code == 200 and 'name="password"' in form.text, form.text[-2000:]
    fields = hidden_fields(form.text) | {"username": ANA[0], "password": ANA[1]}
    posted = await browser_at_idp.post(str(form.url), data=fields, follow_redirects=True)
    answer = hidden_fields(posted.text)
    assert "SAMLResponse" in answer and f'action="{SP.acs_url}"' in posted.text, posted.text[-2000:]
    return answer


async def sign_in(deskgate: httpx.AsyncClient, browser_at_idp: httpx.AsyncClient) -> None:
    start = await deskgate.get("/login", params={"idp": "ssp", "next": "/account"})
    done = await deskgate.post(
        "/saml/ssp/acs", data=await fill_login_form(browser_at_idp, start.headers["location"])
    )
    assert done.status_code == 303, done.text[-3000:]
    assert (await deskgate.get("/me")).status_code == 200


async def at_idp_until_back(browser_at_idp: httpx.AsyncClient, url: str) -> str:
    """Follow the IdP's redirects until one leads back to Deskgate; that URL."""
    for _ in range(10):
        answer = await browser_at_idp.get(url)
        assert answer.status_code in (302, 303), answer.text[-2000:]
        url = answer.headers["location"]
        if url.startswith(BASE):
            return url
    raise AssertionError("the IdP never sent the browser back")


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def peer_or_skip() -> None:
    missing = available()
    if missing:
        pytest.skip(missing)  # a failure under CI=true (tests/conftest.py)


async def test_sign_out_at_deskgate_signs_out_at_simplesamlphp(db_url: str, tmp_path: Path) -> None:
    peer_or_skip()
    async with running_app(db_url, base_url=BASE, raise_app_exceptions=False) as (deskgate, services):
        certificate = (await services.saml_keys.current()).certificate_pem
        with simplesamlphp(tmp_path, SP, sp_certificate=certificate) as idp_base:
            async with httpx.AsyncClient() as browser_at_idp:
                await add_ssp(services, browser_at_idp, idp_base)
                await sign_in(deskgate, browser_at_idp)
                form = await deskgate.get("/logout")
                out = await deskgate.post("/logout", data={"csrf_token": csrf_token(form.text)})
                assert out.status_code == 302 and "SAMLRequest=" in out.headers["location"]
                assert (await deskgate.get("/me")).status_code == 401  # already, whatever the IdP says
                back = await at_idp_until_back(browser_at_idp, out.headers["location"])
                assert back.startswith(SP.slo_url + "?") and "SAMLResponse=" in back, back
                done = await deskgate.get(local(back))
                assert done.status_code == 303 and done.headers["location"] == "/logged-out", done.text[
                    -2000:
                ]
                answered = next(e for e in await services.audit.query() if e.event == "logout.rp")
                assert (answered.outcome, answered.detail) == (
                    "success",
                    "IdP answered urn:oasis:names:tc:SAML:2.0:status:Success",
                )
                # SimpleSAMLphp's session ended too: a new sign-in asks for the password again.
                start = await deskgate.get("/login", params={"idp": "ssp"})
                again = await browser_at_idp.get(start.headers["location"], follow_redirects=True)
                assert 'name="password"' in again.text


async def test_sign_out_at_simplesamlphp_signs_out_at_deskgate(db_url: str, tmp_path: Path) -> None:
    peer_or_skip()
    async with running_app(db_url, base_url=BASE, raise_app_exceptions=False) as (deskgate, services):
        certificate = (await services.saml_keys.current()).certificate_pem
        with simplesamlphp(tmp_path, SP, sp_certificate=certificate) as idp_base:
            async with httpx.AsyncClient() as browser_at_idp:
                await add_ssp(services, browser_at_idp, idp_base)
                await sign_in(deskgate, browser_at_idp)
                return_to = idp_base + "/saml2/idp/metadata.php?signed-out"
                begin = f"{idp_base}/saml2/idp/SingleLogoutService.php?ReturnTo={quote(return_to, safe='')}"
                request = await at_idp_until_back(browser_at_idp, begin)
                assert request.startswith(SP.slo_url + "?") and "SAMLRequest=" in request, request
                answered = await deskgate.get(local(request))
                assert answered.status_code == 303, answered.text[-2000:]
                assert answered.headers["location"].startswith(
                    idp_base + "/saml2/idp/SingleLogoutService.php?"
                )
                assert (await deskgate.get("/me")).status_code == 401
                # SimpleSAMLphp takes our signed LogoutResponse and finishes where it was asked to.
                finished = await browser_at_idp.get(answered.headers["location"])
                assert finished.status_code in (302, 303), finished.text[-2000:]
                assert finished.headers["location"] == return_to
                ended = [e for e in await services.audit.query() if e.event == "logout.frontchannel"]
                assert [(e.outcome, e.idp, e.subject) for e in ended] == [
                    ("success", "ssp", "ana@lumen.example")
                ]


async def test_idp_initiated_sign_in_from_simplesamlphp(db_url: str, tmp_path: Path) -> None:
    peer_or_skip()
    async with running_app(db_url, base_url=BASE, raise_app_exceptions=False) as (deskgate, services):
        with simplesamlphp(tmp_path, SP) as idp_base:
            async with httpx.AsyncClient() as browser_at_idp:
                unsolicited = (
                    f"{idp_base}/saml2/idp/SSOService.php?spentityid={quote(SP.entity_id, safe='')}"
                    f"&RelayState={quote('https://evil.example/', safe='')}"
                )
                await add_ssp(services, browser_at_idp, idp_base)
                refused = await deskgate.post(
                    "/saml/ssp/acs", data=await fill_login_form(browser_at_idp, unsolicited)
                )
                assert refused.status_code == 400
                assert (await deskgate.get("/me")).status_code == 401

                await add_ssp(
                    services, browser_at_idp, idp_base, idp_initiated=True, idp_initiated_landing="/account"
                )
                answer = await fill_login_form_or_auto(browser_at_idp, unsolicited)
                assert answer["RelayState"] == "https://evil.example/"
                landed = await deskgate.post("/saml/ssp/acs", data=answer)
                assert landed.status_code == 303, landed.text[-2000:]
                assert landed.headers["location"] == "/account"
                assert (await deskgate.get("/me")).json()["subject"] == "ana@lumen.example"


async def fill_login_form_or_auto(browser_at_idp: httpx.AsyncClient, url: str) -> dict[str, str]:
    """The IdP remembers Ana after the first sign-in: its auto-posting form comes at once."""
    page = await browser_at_idp.get(url, follow_redirects=True)
    answer = hidden_fields(page.text)
    return answer if "SAMLResponse" in answer else await fill_login_form(browser_at_idp, url)
