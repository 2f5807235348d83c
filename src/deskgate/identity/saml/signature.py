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
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from cryptography import x509
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier

from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.settings import SamlIdpSettings
from deskgate.identity.saml.xml import DS, NS, SAMLP, qname

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


def _check_shape(root: etree._Element) -> etree._Element:
    if root.tag != qname(SAMLP, "Response"):
        raise SamlRejected("structure", f"expected a samlp:Response, got {etree.QName(root).text}")
    if (
        root.find(".//saml:EncryptedAssertion", NS) is not None
        or root.find(".//xenc:EncryptedData", NS) is not None
    ):
        raise SamlRejected("encrypted", "encrypted assertions are not supported yet")
    assertions = root.findall(".//saml:Assertion", NS)
    if len(assertions) != 1 or assertions[0].getparent() is not root:
        raise SamlRejected(
            "structure", f"expected one assertion as the response's child, found {len(assertions)} elsewhere"
        )
    ids = Counter(node.get("ID") for node in root.iter() if node.get("ID") is not None)
    duplicated = [value for value, count in ids.items() if count > 1]
    if duplicated or not root.get("ID") or not assertions[0].get("ID"):
        raise SamlRejected("structure", "the response and the assertion need unique ID attributes")
    for signature in root.iter(qname(DS, "Signature")):
        if signature.getparent() not in (root, assertions[0]):
            raise SamlRejected("structure", "a signature sits outside the response and the assertion")
    for parent in (root, assertions[0]):
        if len(parent.findall("ds:Signature", NS)) > 1:
            raise SamlRejected("structure", f"{etree.QName(parent).localname} carries several signatures")
    return assertions[0]


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


def verify_signatures(root: etree._Element, idp: SamlIdpSettings) -> SignedResponse:
    """Check the shape, then every signature present; refuse unless the configured parts are signed."""
    assertion = _check_shape(root)
    response_signed = root.find("ds:Signature", NS) is not None
    assertion_signed = assertion.find("ds:Signature", NS) is not None
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
    certificates = idp.certificates()
    response = _verified_copy(root, certificates, idp) if response_signed else root
    if assertion_signed:
        trusted = _verified_copy(assertion, certificates, idp)
    else:  # covered by the response's signature: read it from the signed copy
        found = response.find("saml:Assertion", NS)
        assert found is not None
        trusted = found
    return SignedResponse(response, trusted, response_signed, assertion_signed)
