"""SimpleSAMLphp, a real IdP, given Deskgate's SP certificate: it demands signed AuthnRequests
(`validate.authnrequest`) and encrypts its assertions to us (`assertion.encryption`), and a customer
signs in. Without our signature it refuses to answer at all, so the signature is what it checked."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from lxml import etree

from deskgate.identity.provider import ProviderConfig
from deskgate.identity.saml.keys import new_key_pair
from deskgate.identity.saml.metadata import idp_settings
from deskgate.identity.saml.settings import ServiceProvider
from deskgate.identity.saml.xml import NS, XENC
from deskgate.services import Services
from tests.saml.simplesamlphp import ANA, available, simplesamlphp
from tests.saml.test_simplesamlphp_peer import hidden_fields
from tests.support.inprocess import running_app

BASE = "http://127.0.0.1:8080"
SP = ServiceProvider.for_idp(BASE, "ssp")
pytestmark = [pytest.mark.anyio, pytest.mark.peer]


async def sign_in(
    deskgate: httpx.AsyncClient, browser: httpx.AsyncClient, sso_url: str
) -> tuple[httpx.Response, bytes]:
    """From /login to the ACS through SimpleSAMLphp's login form; the ACS's answer and the IdP's."""
    start = await deskgate.get("/login", params={"idp": "ssp", "next": "/account"})
    assert start.status_code == 302 and start.headers["location"].startswith(sso_url)
    form = await browser.get(start.headers["location"])
    assert form.status_code == 200 and 'name="password"' in form.text, form.text[-2000:]
    posted = await browser.post(
        str(form.url), data=hidden_fields(form.text) | {"username": ANA[0], "password": ANA[1]}
    )
    answer = hidden_fields(posted.text)
    assert "SAMLResponse" in answer, posted.text[-2000:]
    return await deskgate.post("/saml/ssp/acs", data=answer), base64.b64decode(answer["SAMLResponse"])


async def save(services: Services, metadata: bytes, **changes: bool) -> str:
    settings = idp_settings(metadata, signed="both").model_copy(update=changes)
    await services.providers.save(
        ProviderConfig(name="ssp", title="SimpleSAMLphp", protocol="saml", saml=settings)
    )
    return settings.sso_url


async def test_signed_requests_and_encrypted_assertions(db_url: str, tmp_path: Path) -> None:
    missing = available()
    if missing:
        pytest.skip(missing)  # a failure under CI=true (tests/conftest.py)
    async with running_app(db_url, base_url=BASE, raise_app_exceptions=False) as (deskgate, services):
        certificate = (await services.saml_keys.current()).certificate_pem
        with simplesamlphp(
            tmp_path, SP, sp_certificate=certificate, encrypt=True, signed_requests=True
        ) as base:
            async with httpx.AsyncClient(follow_redirects=True) as browser:
                metadata = (await browser.get(base + "/saml2/idp/metadata.php")).content
                sso_url = await save(services, metadata, sign_requests=True, require_encryption=True)
                done, sent = await sign_in(deskgate, browser, sso_url)
                assert done.status_code == 303, done.text[-3000:]
                response = etree.fromstring(sent)
                assert response.find("saml:Assertion", NS) is None
                method = response.find("saml:EncryptedAssertion/xenc:EncryptedData/xenc:EncryptionMethod", NS)
                assert method is not None and method.get("Algorithm", "").startswith(XENC)
                me = (await deskgate.get("/me")).json()
                assert me["subject"] == "ana@lumen.example" and me["name"] == "Ana Costa"


@pytest.mark.parametrize("signed_by", ["nobody", "another key"])
async def test_simplesamlphp_refuses_a_request_we_did_not_sign(
    db_url: str, tmp_path: Path, signed_by: str
) -> None:
    """The control: unsigned, or signed by a key SimpleSAMLphp does not hold for us, it shows no login."""
    missing = available()
    if missing:
        pytest.skip(missing)
    async with running_app(db_url, base_url=BASE, raise_app_exceptions=False) as (deskgate, services):
        certificate = (await services.saml_keys.current()).certificate_pem
        if signed_by == "another key":
            certificate = new_key_pair("Not Deskgate", key_size=2048)[1]
        with simplesamlphp(tmp_path, SP, sp_certificate=certificate, signed_requests=True) as base:
            async with httpx.AsyncClient(follow_redirects=True) as browser:
                metadata = (await browser.get(base + "/saml2/idp/metadata.php")).content
                await save(services, metadata, sign_requests=signed_by != "nobody")
                start = await deskgate.get("/login", params={"idp": "ssp", "next": "/account"})
                assert ("Signature=" in start.headers["location"]) == (signed_by != "nobody")
                refused = await browser.get(start.headers["location"])
                assert 'name="password"' not in refused.text
                expected = "no signature found" if signed_by == "nobody" else "unable to validate signature"
                assert expected in refused.text.lower(), refused.text[-3000:]
