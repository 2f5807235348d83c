"""The SP's metadata (valid against the OASIS schema, with its keys, single logout and formats) and the
AuthnRequest signed over the Redirect binding when the IdP wants it, checked by an independent verifier
(`bindings.verify`, the one the SP uses for IdPs' logout messages) with the SP's certificate."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree

from deskgate.identity.saml import bindings
from deskgate.identity.saml.authn import redirect
from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.keys import SpKey, new_key_pair
from deskgate.identity.saml.metadata import idp_settings, sp_metadata
from deskgate.identity.saml.settings import SamlIdpSettings, ServiceProvider
from deskgate.identity.saml.xml import NS
from tests.saml.hostile_idp import HostileIdp

SP = ServiceProvider.for_idp("https://desk.example.com", "corp")
SCHEMAS = Path("/usr/share/simplesamlphp/schemas")  # the OASIS schemas, as Debian's simplesamlphp ships them
_private, _certificate = new_key_pair("Deskgate test SP", key_size=2048)
KEY = SpKey("k1", "current", _certificate, _private, created_at=None)  # type: ignore[arg-type]
_next_private, _next_certificate = new_key_pair("Deskgate test SP next", key_size=2048)
NEXT = SpKey("k2", "next", _next_certificate, _next_private, created_at=None)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    path = SCHEMAS / "saml-schema-metadata-2.0.xsd"
    assert path.exists(), "dev/setup --tests installs simplesamlphp, which ships the SAML schemas"
    return etree.XMLSchema(etree.parse(str(path)))


def idp(**changes: object) -> SamlIdpSettings:
    return HostileIdp(SP).settings(**changes)


@pytest.mark.parametrize("keys", [[KEY], [KEY, NEXT]])
def test_sp_metadata_is_valid_saml_metadata(schema: etree.XMLSchema, keys: list[SpKey]) -> None:
    document = etree.fromstring(sp_metadata(SP, idp(sign_requests=True, signed="both"), keys))
    assert schema.validate(document), schema.error_log
    descriptor = document.find("md:SPSSODescriptor", NS)
    assert descriptor is not None
    assert descriptor.get("AuthnRequestsSigned") == "true"
    assert descriptor.get("WantAssertionsSigned") == "true"
    for use in ("signing", "encryption"):
        published = descriptor.findall(
            f"md:KeyDescriptor[@use='{use}']/ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS
        )
        assert [c.text for c in published] == [k.certificate_base64 for k in keys]
    methods = [
        m.get("Algorithm")
        for m in descriptor.findall("md:KeyDescriptor[@use='encryption']/md:EncryptionMethod", NS)
    ]
    assert "http://www.w3.org/2001/04/xmlenc#rsa-1_5" not in methods
    assert "http://www.w3.org/2009/xmlenc11#aes256-gcm" in methods
    slo = {(s.get("Binding"), s.get("Location")) for s in descriptor.findall("md:SingleLogoutService", NS)}
    assert slo == {(bindings.REDIRECT_BINDING, SP.slo_url), (bindings.POST_BINDING, SP.slo_url)}
    formats = [f.text for f in descriptor.findall("md:NameIDFormat", NS)]
    assert "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" in formats


def test_sp_metadata_claims_only_what_is_configured(schema: etree.XMLSchema) -> None:
    persistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    document = etree.fromstring(sp_metadata(SP, idp(name_id_format=persistent), [KEY]))
    assert schema.validate(document), schema.error_log
    descriptor = document.find("md:SPSSODescriptor", NS)
    assert descriptor is not None
    assert descriptor.get("AuthnRequestsSigned") == "false"
    assert descriptor.get("WantAssertionsSigned") == "false"  # "either": the response's may be the one
    assert [f.text for f in descriptor.findall("md:NameIDFormat", NS)] == [persistent]


def test_idp_metadata_asking_for_signed_requests_turns_signing_on() -> None:
    certificate = "".join(KEY.certificate_pem.strip().splitlines()[1:-1])

    def metadata(want: str) -> bytes:
        return (
            '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example/saml">'
            f'<md:IDPSSODescriptor {want} protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{certificate}'
            "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
            '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
            'Location="https://idp.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>'
        ).encode()

    assert idp_settings(metadata('WantAuthnRequestsSigned="true"')).sign_requests is True
    assert idp_settings(metadata('WantAuthnRequestsSigned="false"')).sign_requests is False
    assert idp_settings(metadata("")).sign_requests is False


def as_idp_sees_it() -> SamlIdpSettings:
    """The SP's certificate where an IdP keeps it: what `bindings.verify` checks a query against."""
    return SamlIdpSettings(
        entity_id=SP.entity_id, sso_url="https://idp.example/sso", signing_certificates=(KEY.certificate_pem,)
    )


def test_a_signed_authn_request_verifies_with_the_sp_certificate() -> None:
    sent = redirect(SP, idp(sign_requests=True), "relay-1", signing_key=KEY.private_key)
    query = urlsplit(sent.url).query
    assert "&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256&Signature=" in query
    message = bindings.verify(query, as_idp_sees_it())
    assert message.kind == "SAMLRequest" and message.relay_state == "relay-1"
    assert etree.fromstring(message.xml).get("ID") == sent.request_id
    # Not signed when the IdP does not ask for it, even with a key at hand.
    plain = urlsplit(redirect(SP, idp(), "relay-1", signing_key=KEY.private_key).url).query
    assert "Signature=" not in plain and "SigAlg=" not in plain


def test_a_signed_request_needs_the_key() -> None:
    with pytest.raises(ValueError, match="signed AuthnRequests"):
        redirect(SP, idp(sign_requests=True), "relay-1")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("RelayState=relay-1", "RelayState=relay-2"),  # another sign-in's state
        ("rsa-sha256", "rsa-sha512"),  # another algorithm claimed
        ("SAMLRequest=", "SAMLRequest=A"),  # another message
    ],
)
def test_a_tampered_signed_request_is_refused(old: str, new: str) -> None:
    query = urlsplit(redirect(SP, idp(sign_requests=True), "relay-1", signing_key=KEY.private_key).url).query
    assert old in query
    with pytest.raises(SamlRejected):
        bindings.verify(query.replace(old, new, 1), as_idp_sees_it())


def test_a_request_signed_by_another_key_is_refused() -> None:
    query = urlsplit(redirect(SP, idp(sign_requests=True), "relay-1", signing_key=NEXT.private_key).url).query
    with pytest.raises(SamlRejected) as caught:
        bindings.verify(query, as_idp_sees_it())
    assert caught.value.check == "signature"
