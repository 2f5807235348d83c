"""The ACS checklist against a hostile IdP: a valid answer passes, and each broken rule is refused for
its own reason (the `check` the audit log records)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from deskgate.errors import IdpReturnedError
from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.response import AcceptedAssertion, Expected, accept
from deskgate.identity.saml.settings import SamlIdpSettings, ServiceProvider
from deskgate.identity.saml.xml import DS, NS, SAML, SAMLP, qname
from tests.saml.hostile_idp import HostileIdp, SigningKey, encode, sign

SP = ServiceProvider.for_idp("https://desk.example.com", "corp")
OTHER_SP = ServiceProvider.for_idp("https://other.example.com", "corp")
REQUEST = "_request-0123456789abcdef"


@pytest.fixture(scope="module")
def idp() -> HostileIdp:
    return HostileIdp(SP)


@pytest.fixture(scope="module")
def attacker() -> SigningKey:
    return SigningKey.generate("Attacker")


def run(
    response: etree._Element | bytes,
    settings: SamlIdpSettings,
    *,
    request_id: str = REQUEST,
    now: datetime | None = None,
) -> AcceptedAssertion:
    expected = Expected(SP, settings, request_id, now or datetime.now(UTC), timedelta(seconds=60))
    return accept(encode(response), "corp", expected)


def refused(check: str, response: etree._Element | bytes, settings: SamlIdpSettings, **kw: object) -> str:
    with pytest.raises(SamlRejected) as caught:
        run(response, settings, **kw)  # type: ignore[arg-type]
    assert caught.value.check == check, caught.value.detail
    return caught.value.detail


@pytest.mark.parametrize("signed", ["assertion", "response", "both"])
def test_a_signed_answer_becomes_claims(idp: HostileIdp, signed: str) -> None:
    response = idp.response(
        REQUEST,
        signed=signed,  # type: ignore[arg-type]
        attributes={
            "urn:oid:2.5.4.42": ["Ana"],
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname": ["Costa"],
            "mail": ["ana@lumen.example"],
            "memberOf": ["staff", "vpn"],
        },
    )
    accepted = run(response, idp.settings())
    claims = accepted.claims
    assert (claims.idp, claims.issuer, claims.subject) == ("corp", idp.entity_id, "ana@lumen.example")
    assert claims.get("email") == "ana@lumen.example"
    assert claims.get("given_name") == "Ana" and claims.get("family_name") == "Costa"
    assert claims.get("groups") == ["staff", "vpn"]
    assert claims.session_id == "_session-1"
    assert accepted.remember_until > datetime.now(UTC) + timedelta(minutes=4)


def test_unsigned_is_refused(idp: HostileIdp) -> None:
    refused("unsigned", idp.response(REQUEST, signed="none"), idp.settings())


@pytest.mark.parametrize(
    ("configured", "sent"), [("response", "assertion"), ("assertion", "response"), ("both", "response")]
)
def test_the_configured_part_must_be_signed(idp: HostileIdp, configured: str, sent: str) -> None:
    refused("unsigned", idp.response(REQUEST, signed=sent), idp.settings(signed=configured))  # type: ignore[arg-type]


@pytest.mark.parametrize("signed", ["assertion", "response"])
def test_signed_by_another_key_is_refused(idp: HostileIdp, attacker: SigningKey, signed: str) -> None:
    # The attacker's certificate travels in the signature's KeyInfo: it must not be used.
    response = idp.response(REQUEST, signed=signed, key=attacker)  # type: ignore[arg-type]
    assert attacker.cert_pem.splitlines()[1] in etree.tostring(response).decode()
    refused("signature", response, idp.settings())


def test_a_key_value_in_the_message_is_not_trusted(idp: HostileIdp, attacker: SigningKey) -> None:
    """The attacker's public key as KeyValue next to the IdP's own certificate: still refused."""
    response = idp.response(REQUEST, signed="assertion", key=attacker)
    signature = response.find("saml:Assertion/ds:Signature", NS)
    assert signature is not None
    x509_data = signature.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    assert x509_data is not None
    x509_data.text = "".join(idp.key.cert_pem.splitlines()[1:-1])  # claims to be the IdP
    refused("signature", response, idp.settings())


def test_rollover_accepts_any_configured_certificate(idp: HostileIdp, attacker: SigningKey) -> None:
    settings = idp.settings(signing_certificates=(attacker.cert_pem, idp.key.cert_pem))
    assert run(idp.response(REQUEST), settings).claims.subject == "ana@lumen.example"


# Signature wrapping: a validly signed assertion kept somewhere, an assertion of the attacker's read.
def _evil_twin(original: etree._Element, same_id: bool) -> etree._Element:
    evil = copy.deepcopy(original)
    for signature in evil.findall("ds:Signature", NS):
        evil.remove(signature)
    name_id = evil.find("saml:Subject/saml:NameID", NS)
    assert name_id is not None
    name_id.text = "admin@lumen.example"
    if not same_id:
        evil.set("ID", "_evil")
    return evil


def _moved(response: etree._Element) -> etree._Element:
    signed = response.find("saml:Assertion", NS)
    assert signed is not None
    response.remove(signed)
    extensions = etree.Element(qname(SAMLP, "Extensions"))
    extensions.append(signed)
    response.insert(1, extensions)
    response.append(_evil_twin(signed, same_id=True))
    return response


def _duplicated(response: etree._Element) -> etree._Element:
    signed = response.find("saml:Assertion", NS)
    assert signed is not None
    response.append(_evil_twin(signed, same_id=True))
    return response


def _in_object(response: etree._Element) -> etree._Element:
    signed = response.find("saml:Assertion", NS)
    assert signed is not None
    evil = _evil_twin(signed, same_id=True)
    signature = signed.find("ds:Signature", NS)
    assert signature is not None
    signed_copy = copy.deepcopy(signed)
    etree.SubElement(signature, qname(DS, "Object")).append(signed_copy)
    evil.append(copy.deepcopy(signature))
    response.replace(signed, evil)
    return response


def _second_unsigned(response: etree._Element) -> etree._Element:
    signed = response.find("saml:Assertion", NS)
    assert signed is not None
    response.append(_evil_twin(signed, same_id=False))
    return response


def _signature_moved_to_evil(response: etree._Element) -> etree._Element:
    """The response's own valid signature carried by a lone unsigned, attacker-written assertion."""
    signed = response.find("saml:Assertion", NS)
    assert signed is not None
    evil = _evil_twin(signed, same_id=False)
    response_signature = response.find("ds:Signature", NS)
    assert response_signature is not None
    response.remove(response_signature)
    evil.insert(1, response_signature)
    response.replace(signed, evil)
    return response


@pytest.mark.parametrize(
    ("signed", "attack", "check"),
    [
        ("assertion", _moved, "structure"),
        ("assertion", _duplicated, "structure"),
        ("assertion", _in_object, "structure"),
        ("response", _second_unsigned, "structure"),
        ("both", _second_unsigned, "structure"),
        ("response", _signature_moved_to_evil, "signature"),
    ],
    ids=[
        "moved-to-extensions",
        "duplicated",
        "wrapped-in-object",
        "response-signed-second-assertion",
        "both-signed-second-assertion",
        "signature-moved",
    ],
)
def test_signature_wrapping_is_refused(
    idp: HostileIdp, signed: str, attack: Callable[[etree._Element], etree._Element], check: str
) -> None:
    response = attack(idp.response(REQUEST, signed=signed))  # type: ignore[arg-type]
    assert b"admin@lumen.example" in etree.tostring(response)
    refused(check, response, idp.settings())


def test_a_comment_inside_the_name_id_is_refused(idp: HostileIdp) -> None:
    """CVE-2017-11427 and kin: the signed value is ana@lumen.example.evil.example, a naive reader of
    the first text node sees ana@lumen.example. The comment does not break the signature (exclusive
    C14N drops comments), so it must be refused as such."""
    response = idp.response(REQUEST, name_id="ana@lumen.example.evil.example")
    text = etree.tostring(response).replace(
        b">ana@lumen.example.evil.example<", b">ana@lumen.example<!---->.evil.example<"
    )
    assert b"<!---->" in text
    assert "comment" in refused("xml", text, idp.settings())


@pytest.mark.parametrize(
    ("changes", "check"),
    [
        ({"audience": OTHER_SP.entity_id}, "audience"),
        ({"recipient": OTHER_SP.acs_url}, "recipient"),
        ({"destination": OTHER_SP.acs_url}, "destination"),
        ({"issuer": "https://someone-else.example/idp"}, "issuer"),
        ({"now": datetime.now(UTC) - timedelta(minutes=10)}, "expired"),
        ({"not_before": timedelta(minutes=5)}, "not_yet_valid"),
    ],
    ids=["audience", "recipient", "destination", "issuer", "expired", "not-yet-valid"],
)
def test_each_broken_rule_is_refused(idp: HostileIdp, changes: dict[str, object], check: str) -> None:
    refused(check, idp.response(REQUEST, signed="both", **changes), idp.settings())  # type: ignore[arg-type]


def test_a_response_for_another_sp_is_refused(idp: HostileIdp) -> None:
    other = HostileIdp(OTHER_SP, key=idp.key)
    refused("destination", other.response(REQUEST, signed="both"), idp.settings())
    # Even where the response names no destination (only the assertion is signed), the audience tells.
    response = other.response(REQUEST, signed="assertion")
    del response.attrib["Destination"]
    refused("recipient", response, idp.settings())


def test_skew_is_small(idp: HostileIdp) -> None:
    almost = datetime.now(UTC) - timedelta(minutes=5, seconds=30)  # ended 30 s ago, 60 s of skew
    assert run(idp.response(REQUEST, now=almost), idp.settings())
    refused("expired", idp.response(REQUEST, now=almost - timedelta(seconds=40)), idp.settings())


def test_unsolicited_and_foreign_answers_are_refused(idp: HostileIdp) -> None:
    refused("unsolicited", idp.response(None, signed="both"), idp.settings())
    refused("in_response_to", idp.response("_another-browsers-request", signed="both"), idp.settings())


def test_an_idp_error_status_is_the_idps(idp: HostileIdp) -> None:
    response = sign(
        idp.envelope(None, REQUEST, status="urn:oasis:names:tc:SAML:2.0:status:Responder"), idp.key
    )
    with pytest.raises(SamlRejected):  # no assertion at all: refused by its shape first
        run(response, idp.settings())
    with_assertion = idp.envelope(
        sign(idp.assertion(REQUEST), idp.key), REQUEST, status="urn:oasis:names:tc:SAML:2.0:status:Requester"
    )
    with pytest.raises(IdpReturnedError, match="Requester"):
        run(with_assertion, idp.settings())


def test_sha1_is_refused_unless_allowed(idp: HostileIdp) -> None:
    response = idp.response(REQUEST, sha1=True)
    assert "SHA1" in refused("algorithm", response, idp.settings())
    assert run(response, idp.settings(allow_sha1=True)).claims.subject == "ana@lumen.example"


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" Version="2.0">&xxe;</samlp:Response>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" Version="2.0">&e;</samlp:Response>"""


@pytest.mark.parametrize("document", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_entities_and_dtds_are_refused(idp: HostileIdp, document: bytes) -> None:
    assert "DOCTYPE" in refused("xml", document, idp.settings())


def test_a_signed_assertion_with_an_injected_doctype_is_refused(idp: HostileIdp) -> None:
    body = etree.tostring(idp.response(REQUEST))
    refused("xml", b'<!DOCTYPE x [<!ENTITY e "admin">]>' + body, idp.settings())


def test_not_base64_and_not_xml(idp: HostileIdp) -> None:
    with pytest.raises(SamlRejected) as caught:
        accept(
            "%%%not base64", "corp", Expected(SP, idp.settings(), REQUEST, datetime.now(UTC), timedelta(0))
        )
    assert caught.value.check == "encoding"
    refused("xml", b"<samlp:Response", idp.settings())
    refused("structure", etree.tostring(etree.Element(qname(SAML, "Assertion"))), idp.settings())
