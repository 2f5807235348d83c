"""Encrypted assertions and NameIDs through the ACS checklist: every algorithm IdPs use is decrypted
with the SP's keys, RSA v1.5 and foreign keys are refused, encryption never stands in for a signature,
and signature wrapping stays refused around and inside the encrypted element."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.keys import new_key_pair
from deskgate.identity.saml.response import AcceptedAssertion, Expected, accept
from deskgate.identity.saml.settings import SamlIdpSettings, ServiceProvider
from deskgate.identity.saml.xml import NS, SAML, SAMLP, qname
from tests.saml.hostile_idp import Content, HostileIdp, KeyTransport, encode, encrypt, sign

SP = ServiceProvider.for_idp("https://desk.example.com", "corp")
REQUEST = "_request-0123456789abcdef"
SP_KEY, SP_CERT = new_key_pair("Deskgate test SP", key_size=2048)
OTHER_KEY, OTHER_CERT = new_key_pair("Someone else", key_size=2048)


@pytest.fixture(scope="module")
def idp() -> HostileIdp:
    return HostileIdp(SP)


def run(
    response: etree._Element, settings: SamlIdpSettings, keys: tuple[rsa.RSAPrivateKey, ...] = (SP_KEY,)
) -> AcceptedAssertion:
    expected = Expected(SP, settings, REQUEST, datetime.now(UTC), timedelta(seconds=60), decryption_keys=keys)
    return accept(encode(response), "corp", expected)


def refused(
    check: str,
    response: etree._Element,
    settings: SamlIdpSettings,
    keys: tuple[rsa.RSAPrivateKey, ...] = (SP_KEY,),
) -> str:
    with pytest.raises(SamlRejected) as caught:
        run(response, settings, keys)
    assert caught.value.check == check, caught.value.detail
    return caught.value.detail


def refusal(response: etree._Element, settings: SamlIdpSettings) -> str | None:
    """The check that refused the response, or None when it was accepted."""
    try:
        run(response, settings)
    except SamlRejected as exc:
        return exc.check
    return None


@pytest.mark.parametrize("key_transport", ["rsa-oaep-mgf1p", "rsa-oaep-sha256"])
@pytest.mark.parametrize("content", ["aes128-cbc", "aes192-cbc", "aes256-cbc", "aes128-gcm", "aes256-gcm"])
def test_an_encrypted_signed_assertion_is_accepted(
    idp: HostileIdp, key_transport: KeyTransport, content: Content
) -> None:
    response = idp.response(REQUEST, encrypt_to=SP_CERT, key_transport=key_transport, content=content)
    assert response.find("saml:Assertion", NS) is None
    assert response.find("saml:EncryptedAssertion", NS) is not None
    accepted = run(response, idp.settings())
    assert accepted.claims.subject == "ana@lumen.example"
    assert accepted.claims.get("email") == "ana@lumen.example"


def test_the_key_may_sit_beside_the_encrypted_data(idp: HostileIdp) -> None:
    assertion = sign(idp.assertion(REQUEST), idp.key)
    response = idp.envelope(encrypt(assertion, SP_CERT, key_beside=True), REQUEST)
    assert run(response, idp.settings()).claims.subject == "ana@lumen.example"


def test_any_published_key_decrypts(idp: HostileIdp) -> None:
    """During a rotation the IdP may encrypt to the next key or to the retiring one."""
    response = idp.response(REQUEST, encrypt_to=SP_CERT)
    assert run(response, idp.settings(), keys=(OTHER_KEY, SP_KEY)).claims.subject == "ana@lumen.example"


def test_a_signed_response_around_an_encrypted_assertion(idp: HostileIdp) -> None:
    response = idp.response(REQUEST, signed="response", encrypt_to=SP_CERT)
    assert run(response, idp.settings(signed="response")).claims.subject == "ana@lumen.example"
    both = idp.response(REQUEST, signed="both", encrypt_to=SP_CERT)
    assert run(both, idp.settings(signed="both")).claims.subject == "ana@lumen.example"


def test_encryption_is_no_signature(idp: HostileIdp) -> None:
    """Anyone can encrypt to the SP's public certificate: an unsigned encrypted assertion is refused."""
    refused("unsigned", idp.response(REQUEST, signed="none", encrypt_to=SP_CERT), idp.settings())
    # The configured part must still be signed: a signed response does not stand for a signed assertion.
    response = idp.response(REQUEST, signed="response", encrypt_to=SP_CERT)
    refused("unsigned", response, idp.settings(signed="assertion"))


def test_encrypted_to_another_key_is_refused(idp: HostileIdp) -> None:
    refused("decryption", idp.response(REQUEST, encrypt_to=OTHER_CERT), idp.settings())


def test_an_sp_without_keys_refuses_encrypted_assertions(idp: HostileIdp) -> None:
    refused("encrypted", idp.response(REQUEST, encrypt_to=SP_CERT), idp.settings(), keys=())


def test_rsa_v15_key_transport_is_refused(idp: HostileIdp) -> None:
    detail = refused(
        "algorithm", idp.response(REQUEST, encrypt_to=SP_CERT, key_transport="rsa-1_5"), idp.settings()
    )
    assert "v1.5" in detail


def test_an_unknown_content_algorithm_is_refused(idp: HostileIdp) -> None:
    response = idp.response(REQUEST, encrypt_to=SP_CERT)
    method = response.find("saml:EncryptedAssertion/xenc:EncryptedData/xenc:EncryptionMethod", NS)
    assert method is not None
    method.set("Algorithm", "http://www.w3.org/2001/04/xmlenc#tripledes-cbc")
    refused("algorithm", response, idp.settings())


def test_an_encrypted_name_id(idp: HostileIdp) -> None:
    response = idp.response(REQUEST, encrypt_name_id_to=SP_CERT, name_id="bo@lumen.example")
    assertion = response.find("saml:Assertion", NS)
    assert assertion is not None and assertion.find("saml:Subject/saml:NameID", NS) is None
    assert run(response, idp.settings()).claims.subject == "bo@lumen.example"
    # Both at once, as Shibboleth may send them: the NameID inside the encrypted assertion, encrypted too.
    both = idp.response(REQUEST, encrypt_name_id_to=SP_CERT, encrypt_to=SP_CERT, name_id="bo@lumen.example")
    assert run(both, idp.settings()).claims.subject == "bo@lumen.example"
    refused("decryption", idp.response(REQUEST, encrypt_name_id_to=OTHER_CERT), idp.settings())


def test_require_encryption_refuses_a_plaintext_assertion(idp: HostileIdp) -> None:
    strict = idp.settings(require_encryption=True)
    refused("unencrypted", idp.response(REQUEST, signed="both"), strict)
    assert run(idp.response(REQUEST, encrypt_to=SP_CERT), strict).claims.subject == "ana@lumen.example"


# --- signature wrapping around and inside the encrypted element --------------------------------------


def test_a_signed_response_whose_encrypted_assertion_is_swapped(idp: HostileIdp) -> None:
    """The attacker keeps the IdP's signed response and swaps in an assertion of their own, encrypted
    to our public certificate: the response's signature covers the EncryptedAssertion and breaks."""
    response = idp.response(REQUEST, signed="response", encrypt_to=SP_CERT)
    holder = response.find("saml:EncryptedAssertion", NS)
    assert holder is not None
    evil = encrypt(idp.assertion(REQUEST, name_id="admin@lumen.example"), SP_CERT)
    response.replace(holder, evil)
    refused("signature", response, idp.settings(signed="response"))


def test_a_plaintext_assertion_beside_the_encrypted_one(idp: HostileIdp) -> None:
    response = idp.response(REQUEST, signed="response", encrypt_to=SP_CERT)
    response.append(idp.assertion(REQUEST, name_id="admin@lumen.example"))
    refused("structure", response, idp.settings(signed="response"))


def test_an_encrypted_assertion_hidden_in_extensions(idp: HostileIdp) -> None:
    """A signed plaintext answer for the attacker, and an encrypted one tucked away: one assertion only."""
    response = idp.response(REQUEST, signed="both")
    extensions = etree.Element(qname(SAMLP, "Extensions"))
    extensions.append(encrypt(idp.assertion(REQUEST, name_id="admin@lumen.example"), SP_CERT))
    response.insert(1, extensions)
    refused("structure", response, idp.settings())


def test_the_signed_assertion_wrapped_inside_an_encrypted_one(idp: HostileIdp) -> None:
    """The attacker encrypts their own assertion to us, with the IdP's signed assertion (taken from
    their own sign-in) tucked inside it: the decrypted document must hold exactly one assertion."""
    genuine = sign(idp.assertion(REQUEST), idp.key)
    evil = idp.assertion(REQUEST, name_id="admin@lumen.example")
    advice = etree.SubElement(evil, qname(SAML, "Advice"))
    advice.append(genuine)
    response = idp.envelope(encrypt(evil, SP_CERT), REQUEST)
    refused("structure", response, idp.settings())


def test_a_decrypted_assertion_whose_signature_covers_another_id(idp: HostileIdp) -> None:
    genuine = sign(idp.assertion(REQUEST), idp.key)
    evil = copy.deepcopy(genuine)
    name_id = evil.find("saml:Subject/saml:NameID", NS)
    assert name_id is not None
    name_id.text = "admin@lumen.example"
    response = idp.envelope(encrypt(evil, SP_CERT), REQUEST)
    refused("signature", response, idp.settings())


@pytest.mark.parametrize(
    "plaintext",
    [
        b'<!DOCTYPE a [<!ENTITY x "y">]><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"/>',
        b"<samlp:Response xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol' ID='_x'/>",
        b"not xml at all",
    ],
)
def test_hostile_plaintext_is_refused_like_any_other_failure(idp: HostileIdp, plaintext: bytes) -> None:
    """A DOCTYPE, another element, garbage: one refusal for all (no oracle on what went wrong)."""
    holder = encrypt(idp.assertion(REQUEST), SP_CERT, content="aes128-cbc", plaintext=plaintext)
    detail = refused("decryption", idp.envelope(holder, REQUEST), idp.settings())
    assert detail.endswith(": the encrypted element could not be decrypted with the SP's keys")


def test_a_tampered_ciphertext_in_a_signed_response_is_never_decrypted(idp: HostileIdp) -> None:
    response = idp.response(REQUEST, signed="response", encrypt_to=SP_CERT, content="aes128-cbc")
    value = response.find("saml:EncryptedAssertion/xenc:EncryptedData/xenc:CipherData/xenc:CipherValue", NS)
    assert value is not None and value.text
    data = bytearray(base64.b64decode(value.text))
    data[-17] ^= 1  # flips a bit of the last block's plaintext: a padding oracle's probe
    value.text = base64.b64encode(bytes(data)).decode()
    refused("signature", response, idp.settings(signed="response"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_corrupted_ciphertext_is_a_refusal(idp: HostileIdp, position: int, flip: int) -> None:
    """Whatever byte is changed (IV, body, tag, padding), the answer is a SamlRejected, never a crash."""
    for content in ("aes128-cbc", "aes256-gcm"):
        response = idp.response(REQUEST, encrypt_to=SP_CERT, content=content)
        value = response.find(
            "saml:EncryptedAssertion/xenc:EncryptedData/xenc:CipherData/xenc:CipherValue", NS
        )
        assert value is not None and value.text
        data = bytearray(base64.b64decode(value.text))
        data[position % len(data)] ^= flip
        value.text = base64.b64encode(bytes(data)).decode()
        check = refusal(response, idp.settings())
        if check is None:
            # Only a CBC flip in the IV may pass: it changes the first block of plaintext alone, and a
            # space of the start tag turned into another whitespace is the same XML to the signature.
            assert content == "aes128-cbc" and position % len(data) < 16
        else:
            assert check in {"decryption", "signature", "structure"}
