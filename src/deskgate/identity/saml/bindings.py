"""The two ways a SAML protocol message travels through the browser (SAML bindings §3.4 and §3.5).

HTTP-Redirect: the XML is raw-DEFLATEd, base64-encoded and put in the query as ``SAMLRequest`` or
``SAMLResponse``, next to ``RelayState``. When signed, ``SigAlg`` names the algorithm and ``Signature``
covers the octets ``SAMLRequest=…&RelayState=…&SigAlg=…`` *exactly as they were URL-encoded by the
sender* (§3.4.4.1). So the verifier rebuilds that string from the raw query as received, never from
decoded-then-re-encoded values: two encoders disagree on ``%2F`` versus ``/`` and on hex case, and a
re-encoding verifier would refuse honest senders or, worse, accept octets nobody signed. Parameter
order in the URL does not matter; the signed string has a fixed order.

The key that verifies is always one of the IdP's configured certificates; a message never brings
its own. SHA-1 is refused unless the IdP is configured with ``allow_sha1``.

HTTP-POST: the XML is base64 in a form field and carries its own enveloped XML signature, checked by
`signature.py`'s machinery.

Inflating is capped (`xml.MAX_BYTES`): a few hundred bytes of DEFLATE can expand to gigabytes.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, unquote_plus

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.signer import XMLSigner

from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.settings import SamlIdpSettings
from deskgate.identity.saml.signature import _verified_copy
from deskgate.identity.saml.xml import DS, MAX_BYTES, NS, parse, qname

REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
ECDSA_SHA1 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
ECDSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
ECDSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"

_ALGORITHMS: dict[str, tuple[Literal["rsa", "ecdsa"], type[hashes.HashAlgorithm]]] = {
    RSA_SHA1: ("rsa", hashes.SHA1),
    RSA_SHA256: ("rsa", hashes.SHA256),
    RSA_SHA384: ("rsa", hashes.SHA384),
    RSA_SHA512: ("rsa", hashes.SHA512),
    ECDSA_SHA1: ("ecdsa", hashes.SHA1),
    ECDSA_SHA256: ("ecdsa", hashes.SHA256),
    ECDSA_SHA384: ("ecdsa", hashes.SHA384),
    ECDSA_SHA512: ("ecdsa", hashes.SHA512),
}
_SHA1 = frozenset({RSA_SHA1, ECDSA_SHA1})

MessageKind = Literal["SAMLRequest", "SAMLResponse"]
SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class RedirectMessage:
    """A message taken from a Redirect query: the inflated XML and what travelled with it."""

    kind: MessageKind
    xml: bytes
    relay_state: str | None
    sig_alg: str | None  # None: the query carried no signature


# --- encoding ------------------------------------------------------------------------------------


def deflate(message: bytes) -> str:
    """Raw DEFLATE (no zlib header, §3.4.4.1) then base64."""
    deflater = zlib.compressobj(wbits=-15)
    return base64.b64encode(deflater.compress(message) + deflater.flush()).decode()


def inflate(encoded: str) -> bytes:
    """The reverse of `deflate`, refusing more than `MAX_BYTES` of output (a DEFLATE bomb)."""
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SamlRejected("encoding", "the message is not base64") from None
    inflater = zlib.decompressobj(wbits=-15)
    try:
        out = inflater.decompress(raw, MAX_BYTES + 1)
    except zlib.error:
        raise SamlRejected("encoding", "the message is not raw DEFLATE") from None
    if len(out) > MAX_BYTES or inflater.unconsumed_tail:
        raise SamlRejected("encoding", f"the message inflates to more than {MAX_BYTES} bytes")
    if not inflater.eof:
        raise SamlRejected("encoding", "the DEFLATE stream is truncated")
    return out


def _sign_octets(octets: bytes, key: SigningKey, sig_alg: str) -> bytes:
    kind, hash_type = _ALGORITHMS[sig_alg]
    if kind == "rsa" and isinstance(key, rsa.RSAPrivateKey):
        return key.sign(octets, padding.PKCS1v15(), hash_type())
    if kind == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
        # XML-DSig's ECDSA signature value is r || s, each as long as the curve's order (RFC 4050)
        r, s = decode_dss_signature(key.sign(octets, ec.ECDSA(hash_type())))
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    raise ValueError(f"{sig_alg} cannot be used with a {type(key).__name__}")


def encode(kind: MessageKind, message: bytes, *, relay_state: str | None = None) -> str:
    """The unsigned query string that carries `message`, without the '?'."""
    parts = [f"{kind}={quote(deflate(message), safe='')}"]
    if relay_state is not None:
        parts.append(f"RelayState={quote(relay_state, safe='')}")
    return "&".join(parts)


def sign(
    kind: MessageKind,
    message: bytes,
    *,
    key: SigningKey,
    relay_state: str | None = None,
    sig_alg: str = RSA_SHA256,
) -> str:
    """The query string that carries `message` signed with `key` (§3.4.4.1), without the '?'."""
    signed = f"{encode(kind, message, relay_state=relay_state)}&SigAlg={quote(sig_alg, safe='')}"
    signature = base64.b64encode(_sign_octets(signed.encode("ascii"), key, sig_alg)).decode()
    return f"{signed}&Signature={quote(signature, safe='')}"


def redirect_url(location: str, query: str) -> str:
    return f"{location}{'&' if '?' in location else '?'}{query}"


# --- decoding and verifying ----------------------------------------------------------------------

_NAMES = ("SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature")


def _raw_parameters(raw_query: str) -> dict[str, str]:
    """The SAML parameters of the query, each as its raw (still URL-encoded) value. Other parameters are
    ignored; a SAML parameter given twice is refused (which of the two was signed?)."""
    found: dict[str, str] = {}
    for pair in raw_query.split("&"):
        name, _, value = pair.partition("=")
        name = unquote_plus(name)
        if name not in _NAMES:
            continue
        if name in found:
            raise SamlRejected("binding", f"the query carries {name} twice")
        found[name] = value
    if ("SAMLRequest" in found) == ("SAMLResponse" in found):
        raise SamlRejected("binding", "the query must carry exactly one of SAMLRequest and SAMLResponse")
    return found


def _verify_octets(octets: bytes, signature: bytes, sig_alg: str, idp: SamlIdpSettings) -> None:
    kind, hash_type = _ALGORITHMS[sig_alg]
    for certificate in idp.certificates():
        public = certificate.public_key()
        try:
            if kind == "rsa" and isinstance(public, rsa.RSAPublicKey):
                public.verify(signature, octets, padding.PKCS1v15(), hash_type())
                return
            if kind == "ecdsa" and isinstance(public, ec.EllipticCurvePublicKey):
                size = (public.curve.key_size + 7) // 8
                if len(signature) != 2 * size:
                    continue
                r = int.from_bytes(signature[:size], "big")
                s = int.from_bytes(signature[size:], "big")
                public.verify(encode_dss_signature(r, s), octets, ec.ECDSA(hash_type()))
                return
        except InvalidSignature:
            continue
    raise SamlRejected("signature", "no configured certificate verifies the query's signature")


def verify(raw_query: str, idp: SamlIdpSettings, *, require_signature: bool = True) -> RedirectMessage:
    """Take a message from the raw query string as received (`request.url.query`, not parsed
    parameters), checking its signature against the IdP's configured certificates."""
    found = _raw_parameters(raw_query)
    kind: MessageKind = "SAMLRequest" if "SAMLRequest" in found else "SAMLResponse"
    relay_state = unquote_plus(found["RelayState"]) if "RelayState" in found else None
    sig_alg: str | None = None
    if "Signature" in found or "SigAlg" in found:
        if "Signature" not in found or "SigAlg" not in found:
            raise SamlRejected("binding", "a signed query needs both SigAlg and Signature")
        sig_alg = unquote_plus(found["SigAlg"])
        if sig_alg not in _ALGORITHMS:
            raise SamlRejected("algorithm", f"unknown signature algorithm {sig_alg[:100]!r}")
        if sig_alg in _SHA1 and not idp.allow_sha1:
            raise SamlRejected("algorithm", f"SHA-1 signatures are refused ({sig_alg})")
        # §3.4.4.1: the signed octets, in this order, with the values exactly as they arrived
        signed = "&".join(f"{name}={found[name]}" for name in (kind, "RelayState", "SigAlg") if name in found)
        try:
            signature = base64.b64decode(unquote_plus(found["Signature"]), validate=True)
        except (binascii.Error, ValueError):
            raise SamlRejected("encoding", "the Signature parameter is not base64") from None
        try:
            octets = signed.encode("ascii")
        except UnicodeEncodeError:
            raise SamlRejected("binding", "the signed parameters are not URL-encoded ASCII") from None
        _verify_octets(octets, signature, sig_alg, idp)
    elif require_signature:
        raise SamlRejected("unsigned", "the query carries no signature")
    return RedirectMessage(kind, inflate(unquote_plus(found[kind])), relay_state, sig_alg)


def sign_xml(message: bytes, key: SigningKey, certificate_pem: str | None = None) -> bytes:
    """`message` with its enveloped XML signature (SHA-256, exclusive c14n) right after its Issuer, where
    the schema wants it: how the HTTP-POST binding signs. The certificate, when given, is only a hint
    for the receiver, which must verify with the one it has configured for us."""
    root = parse(message)
    placeholder = etree.Element(qname(DS, "Signature"), Id="placeholder", nsmap={"ds": DS})
    issuer = root.find("saml:Issuer", NS)
    if issuer is not None:
        issuer.addnext(placeholder)
    else:
        root.insert(0, placeholder)
    ecdsa = isinstance(key, ec.EllipticCurvePrivateKey)
    signer = XMLSigner(
        signature_algorithm=SignatureMethod.ECDSA_SHA256 if ecdsa else SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed = signer.sign(root, key=key, cert=certificate_pem, reference_uri=root.get("ID"))
    return bytes(etree.tostring(signed))


def post_value(message: bytes) -> str:
    """The form value of the HTTP-POST binding (plain base64, no DEFLATE)."""
    return base64.b64encode(message).decode()


def read_post(encoded: str) -> bytes:
    try:
        message = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SamlRejected("encoding", "the message is not base64") from None
    if len(message) > MAX_BYTES:
        raise SamlRejected("xml", f"the message is larger than {MAX_BYTES} bytes")
    return message


def verified_post_message(message: bytes, idp: SamlIdpSettings) -> etree._Element:
    """A POSTed request or response whose own enveloped signature a configured certificate verifies:
    the signed copy of its root element (nothing else of the message is read). No other signature may
    sit anywhere in it, and its IDs must be unique (signature wrapping)."""
    root = parse(message)
    signatures = list(root.iter(qname(DS, "Signature")))
    if not signatures:
        raise SamlRejected("unsigned", "the message carries no signature")
    if len(signatures) > 1 or signatures[0].getparent() is not root:
        raise SamlRejected("structure", "the message's one signature must be the root's direct child")
    ids = [node.get("ID") for node in root.iter() if node.get("ID") is not None]
    if not root.get("ID") or len(ids) != len(set(ids)):
        raise SamlRejected("structure", "the message needs a unique ID attribute")
    assert root.find("ds:Signature", NS) is not None
    return _verified_copy(root, idp.certificates(), idp)
