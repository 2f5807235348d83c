"""Which parts of a SAML response are signed, by whom — and only what was signed is read afterwards.

XML signature wrapping works by making the verifier check one element while the application reads
another. Three defences, each enough against the classic variants on its own:

1. Shape: a `Response` with exactly one `Assertion`, its direct child; unique `ID`s; a signature
   only as the direct child of the response or of the assertion, at most one each. An assertion
   moved into `Extensions`, an `Object` or anywhere else, a second assertion, a signature elsewhere:
   refused before any cryptography.
2. Trust: each signature is checked against the configured certificates only (signxml's `x509_cert`
   overrides whatever `KeyInfo` the message carries, and a `KeyValue` that disagrees is refused).
   Its one reference must name the very element it sits in.
3. See what is signed: the caller gets signxml's parsed copy of the signed bytes, never the original
   tree, so nothing outside the signature can be read by mistake.

An `EncryptedAssertion` takes the assertion's place in the shape. When the response is signed, its
signature is checked first and the EncryptedAssertion is taken from the signed copy, so only what the
IdP signed is decrypted; the decrypted assertion is a document of its own and meets the same rules
(unique IDs, at most one signature, its own direct child, no assertion inside) before its signature is
checked. Encryption proves nothing about the sender: an encrypted assertion still needs a signature.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier

from deskgate.identity.saml.encryption import decrypt
from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.settings import SamlIdpSettings
from deskgate.identity.saml.xml import DS, NS, SAML, SAMLP, qname

_STRONG_METHODS = frozenset(
    {
        SignatureMethod.RSA_SHA256,
        SignatureMethod.RSA_SHA384,
        SignatureMethod.RSA_SHA512,
        SignatureMethod.ECDSA_SHA256,
        SignatureMethod.ECDSA_SHA384,
        SignatureMethod.ECDSA_SHA512,
    }
)
_STRONG_DIGESTS = frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512})


@dataclass(frozen=True, slots=True)
class SignedResponse:
    """The response and its assertion as far as a trusted signature covers them."""

    response: etree._Element  # the signed copy when the response is signed, else the parsed original
    assertion: etree._Element  # always covered by a signature: its own, or the response's
    response_signed: bool
    assertion_signed: bool
    encrypted: bool = False  # the assertion came as an EncryptedAssertion


def _config(idp: SamlIdpSettings) -> SignatureConfiguration:
    methods, digests = set(_STRONG_METHODS), set(_STRONG_DIGESTS)
    if idp.allow_sha1:
        methods |= {SignatureMethod.RSA_SHA1, SignatureMethod.ECDSA_SHA1}
        digests.add(DigestAlgorithm.SHA1)
    return SignatureConfiguration(
        location="./",  # the signature must be the element's own direct child
        expect_references=1,
        signature_methods=frozenset(methods),
        digest_algorithms=frozenset(digests),
    )


def _unique_ids(root: etree._Element, what: str) -> None:
    ids = Counter(node.get("ID") for node in root.iter() if node.get("ID") is not None)
    if any(count > 1 for count in ids.values()):
        raise SamlRejected("structure", f"the {what} carries duplicate ID attributes")


def _check_shape(root: etree._Element, idp: SamlIdpSettings) -> etree._Element:
    """The response's one Assertion or EncryptedAssertion, once the shape is as it must be."""
    if root.tag != qname(SAMLP, "Response"):
        raise SamlRejected("structure", f"expected a samlp:Response, got {etree.QName(root).text}")
    held = list(root.iter(qname(SAML, "Assertion"), qname(SAML, "EncryptedAssertion")))
    if len(held) != 1 or held[0].getparent() is not root:
        raise SamlRejected(
            "structure", f"expected one assertion as the response's child, found {len(held)} elsewhere"
        )
    _unique_ids(root, "response")
    if not root.get("ID") or (held[0].tag == qname(SAML, "Assertion") and not held[0].get("ID")):
        raise SamlRejected("structure", "the response and the assertion need unique ID attributes")
    # An EncryptedAssertion carries no signature of its own: the one inside is checked once decrypted.
    allowed = (root, held[0]) if held[0].tag == qname(SAML, "Assertion") else (root,)
    for signature in root.iter(qname(DS, "Signature")):
        if signature.getparent() not in allowed:
            raise SamlRejected("structure", "a signature sits outside the response and the assertion")
    for parent in (root, held[0]):
        if len(parent.findall("ds:Signature", NS)) > 1:
            raise SamlRejected("structure", f"{etree.QName(parent).localname} carries several signatures")
    if idp.require_encryption and held[0].tag != qname(SAML, "EncryptedAssertion"):
        raise SamlRejected("unencrypted", "this IdP's assertions must be encrypted to the SP's key")
    return held[0]


def _check_decrypted_shape(assertion: etree._Element) -> None:
    """The decrypted assertion alone: the rules of `_check_shape`, for a document of its own."""
    if not assertion.get("ID") or assertion.find(".//saml:Assertion", NS) is not None:
        raise SamlRejected("structure", "the decrypted assertion needs an ID and holds no assertion")
    if assertion.find(".//saml:EncryptedAssertion", NS) is not None:
        raise SamlRejected("structure", "the decrypted assertion holds another encrypted assertion")
    _unique_ids(assertion, "decrypted assertion")
    signatures = list(assertion.iter(qname(DS, "Signature")))
    if len(signatures) > 1 or any(s.getparent() is not assertion for s in signatures):
        raise SamlRejected("structure", "the decrypted assertion's one signature must be its own child")


def _verified_copy(
    element: etree._Element, certificates: list[x509.Certificate], idp: SamlIdpSettings
) -> etree._Element:
    """The signed copy of `element`, if one configured certificate verifies its own signature."""
    problems: list[str] = []
    for certificate in certificates:
        try:
            result = XMLVerifier().verify(
                element, x509_cert=certificate, id_attribute="ID", expect_config=_config(idp)
            )
        except (InvalidSignature, InvalidDigest, InvalidInput, InvalidCertificate) as exc:
            problems.append(str(exc)[:200])
            continue
        assert not isinstance(result, list)  # expect_references=1
        signed = result.signed_xml
        if signed is None or signed.tag != element.tag or signed.get("ID") != element.get("ID"):
            raise SamlRejected("signature", "the signature covers another element than the one it sits in")
        return signed
    if any("forbidden by configuration" in p for p in problems):
        raise SamlRejected("algorithm", f"signature algorithm refused: {problems[0]}")
    raise SamlRejected("signature", f"no configured certificate verifies it: {'; '.join(problems)}")


def _wanted(idp: SamlIdpSettings, response_signed: bool, assertion_signed: bool) -> None:
    wanted = {
        "either": response_signed or assertion_signed,
        "response": response_signed,
        "assertion": assertion_signed,
        "both": response_signed and assertion_signed,
    }[idp.signed]
    if not wanted:
        raise SamlRejected(
            "unsigned",
            f"the IdP must sign {idp.signed} (response signed: {response_signed}, "
            f"assertion signed: {assertion_signed})",
        )


def verify_signatures(
    root: etree._Element, idp: SamlIdpSettings, decryption_keys: Sequence[rsa.RSAPrivateKey] = ()
) -> SignedResponse:
    """Check the shape, then every signature present; refuse unless the configured parts are signed.
    An encrypted assertion is decrypted with `decryption_keys` (the SP's published keys)."""
    held = _check_shape(root, idp)
    certificates = idp.certificates()
    response_signed = root.find("ds:Signature", NS) is not None
    if held.tag == qname(SAML, "Assertion"):
        assertion_signed = held.find("ds:Signature", NS) is not None
        _wanted(idp, response_signed, assertion_signed)  # before any cryptography
        response = _verified_copy(root, certificates, idp) if response_signed else root
        if assertion_signed:
            trusted = _verified_copy(held, certificates, idp)
        else:  # covered by the response's signature: read it from the signed copy
            found = response.find("saml:Assertion", NS)
            assert found is not None
            trusted = found
        return SignedResponse(response, trusted, response_signed, assertion_signed)
    # Encrypted: the response's signature first, so that only what the IdP signed is decrypted.
    response = _verified_copy(root, certificates, idp) if response_signed else root
    holder = response.find("saml:EncryptedAssertion", NS)
    if holder is None:
        raise SamlRejected("structure", "the signed response holds no EncryptedAssertion")
    assertion = decrypt(holder, decryption_keys, qname(SAML, "Assertion"))
    _check_decrypted_shape(assertion)
    assertion_signed = assertion.find("ds:Signature", NS) is not None
    _wanted(idp, response_signed, assertion_signed)
    trusted = _verified_copy(assertion, certificates, idp) if assertion_signed else assertion
    return SignedResponse(response, trusted, response_signed, assertion_signed, encrypted=True)
