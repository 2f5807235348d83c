"""The HTTP-Redirect and HTTP-POST bindings: what is signed is what arrives, and nothing else passes."""

from __future__ import annotations

import base64
import zlib
from urllib.parse import quote, unquote

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from deskgate.identity.saml import bindings
from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.settings import ServiceProvider
from deskgate.identity.saml.xml import MAX_BYTES, SAML, SAMLP, qname
from tests.saml.hostile_idp import HostileIdp, SigningKey, sign

SP = ServiceProvider.for_idp("https://desk.lumen.example", "corp")
IDP = HostileIdp(SP)
OTHER = SigningKey.generate("Another IdP")
MESSAGE = b'<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x"/>'


def private(key: SigningKey) -> rsa.RSAPrivateKey:
    loaded = serialization.load_pem_private_key(key.key_pem, password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded


def test_a_signed_query_round_trips_with_each_strong_rsa_algorithm() -> None:
    for alg in (bindings.RSA_SHA256, bindings.RSA_SHA384, bindings.RSA_SHA512):
        query = bindings.sign(
            "SAMLRequest", MESSAGE, key=private(IDP.key), relay_state="a b/c&d=é", sig_alg=alg
        )
        message = bindings.verify(query, IDP.settings())
        assert (message.kind, message.xml, message.relay_state, message.sig_alg) == (
            "SAMLRequest",
            MESSAGE,
            "a b/c&d=é",
            alg,
        )


def test_ecdsa_signs_and_verifies_against_an_ec_certificate() -> None:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec idp")])
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    idp = IDP.settings(signing_certificates=(cert.public_bytes(serialization.Encoding.PEM).decode(),))
    query = bindings.sign("SAMLResponse", MESSAGE, key=key, sig_alg=bindings.ECDSA_SHA256)
    assert bindings.verify(query, idp).xml == MESSAGE
    with pytest.raises(SamlRejected) as refused:
        bindings.verify(query, IDP.settings())  # the RSA certificate of another IdP
    assert refused.value.check == "signature"


def test_only_configured_certificates_verify() -> None:
    query = bindings.sign("SAMLRequest", MESSAGE, key=private(OTHER))
    with pytest.raises(SamlRejected) as refused:
        bindings.verify(query, IDP.settings())
    assert refused.value.check == "signature"
    # during a rollover both keys are configured, and either verifies
    both = IDP.settings(signing_certificates=(IDP.key.cert_pem, OTHER.cert_pem))
    assert bindings.verify(query, both).xml == MESSAGE


def test_unsigned_and_half_signed_queries_are_refused() -> None:
    query = bindings.encode("SAMLRequest", MESSAGE, relay_state="r")
    with pytest.raises(SamlRejected) as refused:
        bindings.verify(query, IDP.settings())
    assert refused.value.check == "unsigned"
    assert bindings.verify(query, IDP.settings(), require_signature=False).xml == MESSAGE
    signed = bindings.sign("SAMLRequest", MESSAGE, key=private(IDP.key))
    without_sig_alg = "&".join(p for p in signed.split("&") if not p.startswith("SigAlg="))
    with pytest.raises(SamlRejected) as refused:
        bindings.verify(without_sig_alg, IDP.settings())
    assert refused.value.check == "binding"


def test_sha1_is_refused_unless_allowed() -> None:
    query = bindings.sign("SAMLRequest", MESSAGE, key=private(IDP.key), sig_alg=bindings.RSA_SHA1)
    with pytest.raises(SamlRejected) as refused:
        bindings.verify(query, IDP.settings())
    assert refused.value.check == "algorithm"
    assert bindings.verify(query, IDP.settings(allow_sha1=True)).xml == MESSAGE


def test_parameter_order_does_not_matter_but_duplicates_are_refused() -> None:
    query = bindings.sign("SAMLRequest", MESSAGE, key=private(IDP.key), relay_state="here")
    parts = query.split("&")
    reordered = "&".join(["foo=bar", *reversed(parts)])
    assert bindings.verify(reordered, IDP.settings()).relay_state == "here"
    with pytest.raises(SamlRejected) as refused:
        bindings.verify(query + "&RelayState=elsewhere", IDP.settings())
    assert refused.value.check == "binding"


def test_the_signature_covers_the_octets_as_sent_not_as_re_encoded() -> None:
    """A sender that leaves '/' unescaped signs those octets; we verify them as they came. Re-encoding
    the same values (as a proxy or a naive verifier would) changes the octets and fails."""
    relay = "/portal/x y"
    deflated = bindings.deflate(MESSAGE)
    signed = f"SAMLRequest={quote(deflated, safe='/=')}&RelayState={quote(relay, safe='/')}&SigAlg={quote(bindings.RSA_SHA256, safe=':/')}"
    sig = private(IDP.key).sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    query = f"{signed}&Signature={quote(base64.b64encode(sig).decode(), safe='')}"
    assert bindings.verify(query, IDP.settings()).relay_state == relay
    re_encoded = bindings.encode("SAMLRequest", MESSAGE, relay_state=relay)
    forged = f"{re_encoded}&SigAlg={quote(bindings.RSA_SHA256, safe='')}&Signature={quote(base64.b64encode(sig).decode(), safe='')}"
    with pytest.raises(SamlRejected):
        bindings.verify(forged, IDP.settings())


SIGNED_QUERY = bindings.sign("SAMLRequest", MESSAGE, key=private(IDP.key), relay_state="r/s")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(min_value=0), replacement=st.characters(codec="ascii"))
def test_any_tampering_of_a_signed_query_fails(position: int, replacement: str) -> None:
    index = position % len(SIGNED_QUERY)
    if SIGNED_QUERY[index] == replacement:
        return
    tampered = SIGNED_QUERY[:index] + replacement + SIGNED_QUERY[index + 1 :]
    try:
        message = bindings.verify(tampered, IDP.settings())
    except SamlRejected:
        return
    # only another spelling of the same signature may pass: '%2b' for '%2B', or base64's unused last bits
    head, _, sig = tampered.partition("&Signature=")
    original_head, _, original_sig = SIGNED_QUERY.partition("&Signature=")
    assert head == original_head
    assert base64.b64decode(unquote(sig)) == base64.b64decode(unquote(original_sig))
    assert (message.xml, message.relay_state) == (MESSAGE, "r/s")


def test_a_deflate_bomb_is_refused_before_it_is_all_inflated() -> None:
    deflater = zlib.compressobj(wbits=-15)
    bomb = deflater.compress(b"<a>" + b" " * (50 * MAX_BYTES)) + deflater.flush()
    assert len(bomb) < MAX_BYTES // 10
    with pytest.raises(SamlRejected) as refused:
        bindings.inflate(base64.b64encode(bomb).decode())
    assert refused.value.check == "encoding" and "inflates to more than" in str(refused.value)
    with pytest.raises(SamlRejected):
        bindings.inflate(base64.b64encode(zlib.compress(MESSAGE)).decode())  # zlib header: not raw


def _logout_request() -> etree._Element:
    request = etree.Element(
        qname(SAMLP, "LogoutRequest"), nsmap={"samlp": SAMLP, "saml": SAML}, ID="_lr1", Version="2.0"
    )
    etree.SubElement(request, qname(SAML, "Issuer")).text = IDP.entity_id
    etree.SubElement(request, qname(SAML, "NameID")).text = "ana@lumen.example"
    return request


def test_a_posted_message_is_read_from_its_signed_copy_only() -> None:
    signed = etree.tostring(sign(_logout_request(), IDP.key))
    encoded = bindings.post_value(signed)
    root = bindings.verified_post_message(bindings.read_post(encoded), IDP.settings())
    assert root.get("ID") == "_lr1"
    with pytest.raises(SamlRejected) as refused:
        bindings.verified_post_message(etree.tostring(_logout_request()), IDP.settings())
    assert refused.value.check == "unsigned"
    with pytest.raises(SamlRejected) as refused:
        bindings.verified_post_message(signed, IDP.settings(signing_certificates=(OTHER.cert_pem,)))
    assert refused.value.check == "signature"
    tampered = signed.replace(b"ana@lumen.example", b"bob@lumen.example")
    with pytest.raises(SamlRejected):
        bindings.verified_post_message(tampered, IDP.settings())


def test_a_message_signed_for_the_post_binding_verifies_and_keeps_the_schema_order() -> None:
    signed = bindings.sign_xml(etree.tostring(_logout_request()), private(IDP.key), IDP.key.cert_pem)
    root = bindings.verified_post_message(signed, IDP.settings())
    assert [etree.QName(child).localname for child in etree.fromstring(signed)][:2] == ["Issuer", "Signature"]
    assert root.findtext("saml:NameID", namespaces={"saml": SAML}) == "ana@lumen.example"
    with pytest.raises(SamlRejected):
        bindings.verified_post_message(signed, IDP.settings(signing_certificates=(OTHER.cert_pem,)))


@settings(max_examples=50, deadline=None)
@given(
    order=st.permutations(range(5)),
    extra=st.text(alphabet="abcxyz0123456789", min_size=1, max_size=8),
    lowered=st.integers(min_value=0),
)
def test_any_parameter_order_verifies_but_re_encoded_signed_octets_do_not(
    order: list[int], extra: str, lowered: int
) -> None:
    """Bindings §3.4.4.1 fixes the order of the signed string, not of the query; the signed octets are
    the values as sent, so writing one escape of a signed value in lower case breaks the signature."""
    parts = [*SIGNED_QUERY.split("&"), f"x{extra}={extra}"]
    assert len(parts) == 5
    shuffled = "&".join(parts[i] for i in order)
    message = bindings.verify(shuffled, IDP.settings())
    assert (message.xml, message.relay_state) == (MESSAGE, "r/s")
    signed_part = "&".join(p for p in parts if not p.startswith(("Signature=", "x")))
    escapes = [
        i
        for i in range(len(signed_part) - 2)
        if signed_part[i] == "%" and signed_part[i + 1 : i + 3].upper() != signed_part[i + 1 : i + 3].lower()
    ]
    assert escapes  # the SigAlg URI alone has several
    at = escapes[lowered % len(escapes)]
    re_encoded = signed_part[:at] + signed_part[at : at + 3].lower() + signed_part[at + 3 :]
    signature = next(p for p in parts if p.startswith("Signature="))
    with pytest.raises(SamlRejected) as refused:
        bindings.verify(f"{re_encoded}&{signature}", IDP.settings())
    assert refused.value.check == "signature"
