"""SAML IdPs in the console: the wizard (protocol → preset → SP URLs → metadata URL, XML or typed in →
draft), editing, and the test connection whose result shows the decoded assertion. The wizard and the
test sign-in run against SimpleSAMLphp, a real IdP; refusals and warnings against the in-process one."""

from __future__ import annotations

import base64
import html
import re
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from deskgate.identity.filters import ClaimRule, FilterRules
from deskgate.identity.provider import AdminAccess, ProviderConfig
from deskgate.identity.saml.settings import ServiceProvider, normalize_certificate
from deskgate.services import Services
from tests.saml.hostile_idp import SSO_URL, HostileIdp, SigningKey, encode
from tests.saml.simplesamlphp import ANA, available, simplesamlphp
from tests.saml.test_metadata_and_ledger import idp_metadata
from tests.support.admin import console_sign_in, continue_target, csrf_token
from tests.support.inprocess import running_app

BASE = "http://127.0.0.1:8080"
pytestmark = pytest.mark.anyio
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def hidden_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in HIDDEN.findall(page)}


def short_lived_key(days: int) -> SigningKey:
    """A signing key whose certificate ends in `days` days."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ending soon")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=300))
        .not_valid_after(now + timedelta(days=days, hours=12))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return SigningKey(pem, cert.public_bytes(serialization.Encoding.PEM).decode())


@pytest.mark.peer
async def test_wizard_adds_a_saml_idp_from_its_metadata_url_and_a_test_sign_in_makes_it_live(
    db_url: str, tmp_path: Path
) -> None:
    missing = available()
    if missing:
        pytest.skip(missing)  # a failure under CI=true (tests/conftest.py)
    sp = ServiceProvider.for_idp(BASE, "ssp")
    with simplesamlphp(tmp_path, sp) as idp_base:
        metadata_url = idp_base + "/saml2/idp/metadata.php"
        async with (
            running_app(db_url, base_url=BASE, raise_app_exceptions=False) as (client, services),
            httpx.AsyncClient(follow_redirects=True) as browser_at_idp,
        ):
            token = await console_sign_in(client, services)
            step1 = await client.get("/admin/idps/new")
            assert 'name="protocol" value="saml"' in step1.text
            step2 = await client.get("/admin/idps/new/preset", params={"protocol": "saml"})
            assert "/admin/idps/new/keycloak-saml/urls" in step2.text
            assert "/admin/idps/new/gluu/urls" not in step2.text  # OIDC presets are not offered
            # Step 3: the SP URLs carry the IdP's name, so they are shown for the name chosen.
            step3 = await client.get("/admin/idps/new/generic-saml/urls", params={"name": "ssp"})
            for url in (sp.entity_id, sp.acs_url, sp.slo_url, sp.metadata_url):
                assert f">{url}</code>" in step3.text
            assert 'href="/admin/idps/new/generic-saml?name=ssp"' in step3.text
            bad_name = await client.get("/admin/idps/new/okta-saml/urls", params={"name": "Not OK/"})
            assert "/saml/okta/acs" in bad_name.text  # an invalid name falls back to the suggestion
            step4 = await client.get("/admin/idps/new/generic-saml", params={"name": "ssp"})
            assert 'id="field-name" name="name" value="ssp"' in step4.text
            form = {"csrf_token": token, "name": "ssp", "title": "SimpleSAMLphp", "source": "url"}
            # Without the CSRF token nothing is saved.
            refused = await client.post("/admin/idps/new/generic-saml", data={**form, "csrf_token": "x"})
            assert refused.status_code == 403
            saved = await client.post(
                "/admin/idps/new/generic-saml", data={**form, "metadata_url": metadata_url}
            )
            assert saved.status_code == 303, saved.text
            assert saved.headers["location"] == "/admin/idps/ssp/setup?saved=1"
            config = await services.providers.get("ssp")
            assert config.protocol == "saml" and config.draft and config.saml is not None
            assert config.saml.metadata_url == metadata_url and config.saml.entity_id == metadata_url
            assert config.saml.sso_url == idp_base + "/saml2/idp/SSOService.php"
            assert [e.idp for e in await services.audit.query(event="admin.idp.create")] == ["ssp"]
            setup = await client.get(saved.headers["location"])
            assert 'id="idp-saved"' in setup.text and f">{sp.acs_url}</code>" in setup.text

            # The test page: its checks pass, and the sign-in goes through SimpleSAMLphp.
            test_page = await client.get("/admin/idps/ssp/test")
            assert 'id="run-test"' in test_page.text and 'id="test-blocked"' not in test_page.text
            assert f">{sp.acs_url}</code>" in test_page.text
            start = await client.get("/admin/idps/ssp/test/start")
            assert start.status_code == 302 and start.headers["location"].startswith(config.saml.sso_url)
            login_form = await browser_at_idp.get(start.headers["location"])
            fields = hidden_fields(login_form.text) | {"username": ANA[0], "password": ANA[1]}
            answer = hidden_fields((await browser_at_idp.post(str(login_form.url), data=fields)).text)
            assert "SAMLResponse" in answer
            done = await client.post("/saml/ssp/acs", data=answer)
            result = await client.get(continue_target(done))
            assert result.status_code == 200, result.text
            page = result.text
            assert 'id="went-live"' in page
            assert f"<code>{metadata_url}</code>" in page  # the issuer
            assert '<code id="name-id">ana@lumen.example</code>' in page
            assert "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" in page
            assert 'id="saml-attributes"' in page and "memberOf" in page and "Costa" in page
            assert 'id="verdict" class="ok"' in page
            live = await services.providers.get("ssp")
            assert live.live
            # A test makes no customer session.
            assert (await client.get("/me")).status_code != 200


async def test_metadata_xml_and_typed_in_sources_and_their_refusals(db_url: str) -> None:
    key, other = SigningKey.generate(), SigningKey.generate("other")
    async with running_app(db_url, base_url=BASE) as (client, services):
        token = await console_sign_in(client, services)
        base = {"csrf_token": token, "title": "Corp"}
        pasted = {
            **base,
            "name": "pasted",
            "source": "xml",
            "metadata_xml": idp_metadata(key.cert_pem).decode(),
        }
        assert (await client.post("/admin/idps/new/okta-saml", data=pasted)).status_code == 303
        saml = (await services.providers.get("pasted")).saml
        assert saml is not None and saml.entity_id == "https://idp.example/saml" and saml.metadata_url is None
        # The same document uploaded as a file.
        uploaded = await client.post(
            "/admin/idps/new/okta-saml",
            data={**base, "name": "uploaded", "source": "xml"},
            files={"metadata_file": ("idp.xml", idp_metadata(other.cert_pem), "application/xml")},
        )
        assert uploaded.status_code == 303, uploaded.text
        saml = (await services.providers.get("uploaded")).saml
        assert saml is not None and saml.signing_certificates == (normalize_certificate(other.cert_pem),)
        typed = {
            **base,
            "name": "typed",
            "source": "manual",
            "entity_id": "https://idp.corp.test",
            "sso_url": "https://idp.corp.test/sso",
            "signing_certificates": key.cert_pem + other.cert_pem,
            "subject_attribute": " urn:oid:1.3.6.1.4.1.5923.1.1.1.6 ",
        }
        assert (await client.post("/admin/idps/new/generic-saml", data=typed)).status_code == 303
        saml = (await services.providers.get("typed")).saml
        assert saml is not None and len(saml.signing_certificates) == 2
        assert saml.subject_attribute == "urn:oid:1.3.6.1.4.1.5923.1.1.1.6"
        edit_page = await client.get("/admin/idps/typed/edit")
        assert 'value="urn:oid:1.3.6.1.4.1.5923.1.1.1.6"' in edit_page.text
        # Refusals come back on the form, each next to its field, with what was typed.
        wrong = {**typed, "name": "broken", "sso_url": "not a url", "signing_certificates": "garbage"}
        page = await client.post("/admin/idps/new/generic-saml", data=wrong)
        assert page.status_code == 400
        assert 'id="error-sso_url"' in page.text and 'id="error-signing_certificates"' in page.text
        assert 'value="not a url"' in page.text
        pinned = {**pasted, "name": "pinned", "metadata_pin": key.cert_pem}
        page = await client.post("/admin/idps/new/okta-saml", data=pinned)
        assert (
            page.status_code == 400 and 'id="error-metadata_pin"' in page.text and "not signed" in page.text
        )
        unreachable = {**base, "name": "gone", "source": "url", "metadata_url": "http://127.0.0.1:9/md"}
        page = await client.post("/admin/idps/new/generic-saml", data=unreachable)
        assert page.status_code == 400 and 'id="error-metadata_url"' in page.text
        plain_http = {**unreachable, "metadata_url": "http://idp.example.com/md"}
        page = await client.post("/admin/idps/new/generic-saml", data=plain_http)
        assert "must use https://" in page.text
        assert {p.name for p in await services.providers.all()} == {"pasted", "uploaded", "typed"}


async def test_editing_a_saml_idp_keeps_what_the_form_does_not_show(db_url: str) -> None:
    idp = HostileIdp(ServiceProvider.for_idp(BASE, "corp"))
    filters = FilterRules.model_validate({"allow_domains": ["lumen.example"]})
    stored = ProviderConfig(
        name="corp",
        title="Corp",
        preset="okta-saml",
        protocol="saml",
        saml=idp.settings(signed="both"),
        filters=filters,
        draft=True,
    )
    async with running_app(db_url, base_url=BASE) as (client, services):
        await services.providers.save(stored)
        token = await console_sign_in(client, services)
        form = await client.get("/admin/idps/corp/edit")
        assert form.status_code == 200
        assert (
            'value="https://idp.hostile.example/saml"' in form.text
            and 'id="source-manual" name="source" value="manual" checked' in form.text
        )
        values = dict(hidden_fields(form.text))
        posted = {
            "csrf_token": token,
            "name": "corp",
            "title": "Corp SSO",
            "source": "manual",
            "entity_id": idp.entity_id,
            "sso_url": SSO_URL,
            "signing_certificates": idp.key.cert_pem + SigningKey.generate("next").cert_pem,
        }
        assert values.get("csrf_token")
        saved = await client.post("/admin/idps/corp/edit", data=posted)
        assert saved.status_code == 303, saved.text
        changed = await services.providers.get("corp")
        assert changed.title == "Corp SSO" and changed.draft and changed.filters == filters
        assert changed.saml is not None and changed.saml.signed == "both"  # not on the form: kept
        assert len(changed.saml.signing_certificates) == 2
        assert [e.idp for e in await services.audit.query(event="admin.idp.update")] == ["corp"]


async def _start_test(client: httpx.AsyncClient) -> tuple[str, str]:
    start = await client.get("/admin/idps/corp/test/start")
    assert start.status_code == 302, start.text
    query = parse_qs(urlsplit(start.headers["location"]).query)
    request = etree.fromstring(zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), wbits=-15))
    return str(request.get("ID")), query["RelayState"][0]


def idp_site() -> httpx.AsyncClient:
    """The in-process IdP's SSO URL as Deskgate's checks reach it: it answers (a request without a
    SAMLRequest is refused, as real IdPs do), so the test page offers the sign-in."""

    def answer(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == SSO_URL
        return httpx.Response(400, text="no SAMLRequest")

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


async def _save_corp(services: Services, idp: HostileIdp) -> None:
    config = ProviderConfig(
        name="corp", title="Corp", preset="generic-saml", protocol="saml", saml=idp.settings()
    )
    await services.providers.save(config.model_copy(update={"draft": True}))


async def test_a_test_sign_in_warns_of_a_certificate_about_to_expire(db_url: str) -> None:
    idp = HostileIdp(ServiceProvider.for_idp(BASE, "corp"), key=short_lived_key(10))
    async with (
        idp_site() as http,
        running_app(db_url, base_url=BASE, raise_app_exceptions=False, idp_http=http) as (client, services),
    ):
        await _save_corp(services, idp)
        await console_sign_in(client, services)
        page = await client.get("/admin/idps/corp/test")
        assert "(in 10 days)" in page.text and 'id="run-test"' in page.text
        request_id, relay = await _start_test(client)
        answer = idp.response(request_id, signed="both", attributes={"mail": ["ana@lumen.example"]})
        done = await client.post("/saml/corp/acs", data={"SAMLResponse": encode(answer), "RelayState": relay})
        result = await client.get(continue_target(done))
        assert "Signing certificate expiring" in result.text and "(in 10 days)" in result.text
        assert 'id="went-live"' in result.text  # a warning, not a failure


async def test_a_refused_test_sign_in_is_shown_and_audited_as_a_test(db_url: str) -> None:
    idp = HostileIdp(ServiceProvider.for_idp(BASE, "corp"))
    impostor = HostileIdp(ServiceProvider.for_idp(BASE, "corp"))  # same entity id, another key
    async with running_app(db_url, base_url=BASE, raise_app_exceptions=False) as (client, services):
        await _save_corp(services, idp)
        await console_sign_in(client, services)
        request_id, relay = await _start_test(client)
        forged = impostor.response(request_id, signed="both")
        done = await client.post("/saml/corp/acs", data={"SAMLResponse": encode(forged), "RelayState": relay})
        result = await client.get(continue_target(done))
        assert 'id="test-outcome"' in result.text and "<code>signature</code>" in result.text
        assert (await services.providers.get("corp")).draft  # still a draft
        events = await services.audit.query(event="login.test")
        assert [(e.outcome, e.idp) for e in events] == [("failure", "corp")]
        assert await services.audit.query(event="login") == []


async def test_a_test_whose_checks_fail_offers_no_sign_in(db_url: str) -> None:
    idp = HostileIdp(ServiceProvider.for_idp(BASE, "corp"))
    async with running_app(db_url, base_url=BASE) as (client, services):
        saml = idp.settings().model_copy(update={"sso_url": "http://127.0.0.1:9/sso"})
        await services.providers.save(
            ProviderConfig(name="corp", title="Corp", preset="generic-saml", protocol="saml", saml=saml)
        )
        await console_sign_in(client, services)
        page = await client.get("/admin/idps/corp/test")
        assert 'id="test-blocked"' in page.text and 'id="run-test"' not in page.text
        assert "sso_url" in page.text


async def test_a_failing_metadata_refresh_shows_in_the_list_and_on_the_idps_pages(db_url: str) -> None:
    idp = HostileIdp(ServiceProvider.for_idp(BASE, "corp"))
    saml = idp.settings(
        metadata_url="https://idp.hostile.example/metadata",
        metadata_error="answered HTTP 503",
        metadata_checked_at=datetime.now(UTC),  # read just now: the app's refresh loop leaves it alone
    )
    async with running_app(db_url, base_url=BASE) as (client, services):
        await services.providers.save(
            ProviderConfig(name="corp", title="Corp", preset="generic-saml", protocol="saml", saml=saml)
        )
        await console_sign_in(client, services)
        listed = await client.get("/admin/")
        assert 'id="metadata-failing-corp"' in listed.text
        for page in ("/admin/idps/corp/setup", "/admin/idps/corp/edit"):
            assert "answered HTTP 503" in (await client.get(page)).text
        healthy = saml.model_copy(update={"metadata_error": None})
        config = (await services.providers.get("corp")).model_copy(update={"saml": healthy})
        await services.providers.save(config)
        services.providers.invalidate()
        assert 'id="metadata-failing-corp"' not in (await client.get("/admin/")).text


AGENTS_ONLY = AdminAccess(claim_rules=(ClaimRule(effect="allow", claim="groups", value="agents"),))


async def _admin_sign_in_through_corp(client: httpx.AsyncClient) -> tuple[str, str]:
    page = await client.get("/admin/login")
    started = await client.post(
        "/admin/login/idp/corp", data={"csrf_token": csrf_token(page.text), "next": "/admin/jira"}
    )
    assert started.status_code == 302, started.text
    query = parse_qs(urlsplit(started.headers["location"]).query)
    request = etree.fromstring(zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), wbits=-15))
    return str(request.get("ID")), query["RelayState"][0]


async def test_an_admin_signs_in_to_the_console_through_a_saml_idp(db_url: str) -> None:
    idp = HostileIdp(ServiceProvider.for_idp(BASE, "corp"))
    config = ProviderConfig(
        name="corp", title="Corp", protocol="saml", saml=idp.settings(), admin_access=AGENTS_ONLY
    )
    async with running_app(db_url, base_url=BASE, raise_app_exceptions=False) as (client, services):
        await services.providers.save(config)
        # Someone the admin rule does not admit: refused, audited, no console.
        request_id, relay = await _admin_sign_in_through_corp(client)
        answer = idp.response(
            request_id, signed="both", name_id="bob@lumen.example", attributes={"groups": ["staff"]}
        )
        refused = await client.post(
            "/saml/corp/acs", data={"SAMLResponse": encode(answer), "RelayState": relay}
        )
        assert refused.status_code == 403 and "Admin sign-in not completed" in refused.text
        assert (await client.get("/admin/", follow_redirects=False)).status_code in (302, 303)
        # An agent: an admin session, and the page asked for.
        request_id, relay = await _admin_sign_in_through_corp(client)
        answer = idp.response(
            request_id, signed="both", attributes={"groups": ["agents"], "mail": ["ana@lumen.example"]}
        )
        done = await client.post("/saml/corp/acs", data={"SAMLResponse": encode(answer), "RelayState": relay})
        assert continue_target(done) == "/admin/jira"
        assert (await client.get("/admin/")).status_code == 200
        assert (await client.get("/me")).status_code != 200  # never a customer session
        events = await services.audit.query(event="admin.login")
        assert sorted((e.outcome, e.idp) for e in events) == [("refused", "corp"), ("success", "corp")]
