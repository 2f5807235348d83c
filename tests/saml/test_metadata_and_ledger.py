"""IdP metadata in (safely parsed), SP metadata and the AuthnRequest out, and the assertion ledger on
both databases."""

from __future__ import annotations

import base64
import zlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree

from deskgate.identity.saml.authn import redirect
from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.metadata import idp_settings, sp_metadata
from deskgate.identity.saml.replay import AssertionLedger
from deskgate.identity.saml.settings import ServiceProvider
from deskgate.identity.saml.xml import NS
from tests.saml.hostile_idp import SigningKey
from tests.support.databases import migrated

SP = ServiceProvider.for_idp("https://desk.example.com/", "corp")


def _body(cert_pem: str) -> str:
    return "".join(cert_pem.strip().splitlines()[1:-1])


def idp_metadata(*certs: str, entity: str = "https://idp.example/saml", doctype: str = "") -> bytes:
    keys = "".join(
        f'<md:KeyDescriptor use="{use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{_body(cert)}'
        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        for use, cert in zip(("signing", "encryption", "signing"), certs, strict=False)
    )
    return (
        f'<?xml version="1.0"?>{doctype}<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity}">'
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f"{keys}"
        '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
        'Location="https://idp.example/sso/post"/>'
        '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
        'Location="https://idp.example/sso/redirect"/>'
        "</md:IDPSSODescriptor></md:EntityDescriptor>"
    ).encode()


def test_sp_urls_per_idp() -> None:
    assert SP.entity_id == "https://desk.example.com/saml/corp/metadata" == SP.metadata_url
    assert SP.acs_url == "https://desk.example.com/saml/corp/acs"
    assert SP.slo_url == "https://desk.example.com/saml/corp/slo"


def test_idp_metadata_gives_entity_sso_and_signing_certificates() -> None:
    first, encryption, second = (SigningKey.generate(n) for n in ("one", "enc", "two"))
    settings = idp_settings(idp_metadata(first.cert_pem, encryption.cert_pem, second.cert_pem), signed="both")
    assert settings.entity_id == "https://idp.example/saml"
    assert settings.sso_url == "https://idp.example/sso/redirect"
    assert settings.signed == "both"
    # The encryption-only key is not trusted to sign; both signing keys are (rollover).
    assert [c.strip() for c in settings.signing_certificates] == [
        first.cert_pem.strip(),
        second.cert_pem.strip(),
    ]


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE md [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE md [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        '<!DOCTYPE md SYSTEM "http://127.0.0.1:9/evil.dtd">',
    ],
    ids=["xxe", "entity-expansion", "external-dtd"],
)
def test_metadata_with_a_doctype_is_refused(doctype: str) -> None:
    with pytest.raises(SamlRejected, match=r"DOCTYPE|network"):
        idp_settings(idp_metadata(SigningKey.generate().cert_pem, doctype=doctype))


def test_metadata_without_what_the_sp_needs_is_refused() -> None:
    with pytest.raises(SamlRejected, match="no signing certificate"):
        idp_settings(idp_metadata())
    with pytest.raises(SamlRejected, match="not SAML metadata"):
        idp_settings(b"<html/>")


def test_sp_metadata_names_the_acs() -> None:
    root = etree.fromstring(sp_metadata(SP, idp_settings(idp_metadata(SigningKey.generate().cert_pem)), []))
    assert root.get("entityID") == SP.entity_id
    acs = root.find("md:SPSSODescriptor/md:AssertionConsumerService", NS)
    assert acs is not None and acs.get("Location") == SP.acs_url
    assert acs.get("Binding") == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"


def test_authn_request_over_the_redirect_binding() -> None:
    settings = idp_settings(idp_metadata(SigningKey.generate().cert_pem))
    sent = redirect(SP, settings, relay_state="state-123")
    query = parse_qs(urlsplit(sent.url).query)
    assert sent.url.startswith("https://idp.example/sso/redirect?")
    assert query["RelayState"] == ["state-123"]
    request = etree.fromstring(zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), wbits=-15))
    assert request.get("ID") == sent.request_id and sent.request_id.startswith("_")
    assert request.get("AssertionConsumerServiceURL") == SP.acs_url
    assert request.get("Destination") == settings.sso_url
    issuer = request.find("saml:Issuer", NS)
    assert issuer is not None and issuer.text == SP.entity_id
    assert redirect(SP, settings, "state-123").request_id != sent.request_id


@pytest.mark.anyio
async def test_an_assertion_id_is_spent_once_per_idp(db_url: str) -> None:
    until = datetime.now(UTC) + timedelta(minutes=5)
    async with migrated(db_url) as sessions:
        ledger, other_instance = AssertionLedger(sessions), AssertionLedger(sessions)
        await ledger.spend("corp", "_a1", until=until)
        with pytest.raises(SamlRejected) as caught:
            await other_instance.spend("corp", "_a1", until=until)
        assert caught.value.check == "replay"
        await ledger.spend("other-idp", "_a1", until=until)  # another IdP's ids are its own
