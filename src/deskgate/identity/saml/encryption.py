"""Encrypted assertions and NameIDs (XML Encryption 1.0 and 1.1), decrypted with the SP's keys.

Why not python-xmlsec: it links the system libxml2 while lxml's wheels carry their own (here 2.14
against Debian's 2.9), and xmlsec refuses to import on such a mismatch; making them agree means building
lxml from source on every machine. Decryption is small enough to write over `cryptography` instead:
find the EncryptedKey, unwrap the content key with RSA-OAEP, decrypt the CipherValue with AES, and parse
the plaintext with the same hardened parser as every other message (`xml.parse`).

What is accepted, and why not more:

- key transport: RSA-OAEP, as ``xmlenc#rsa-oaep-mgf1p`` (MGF1 with SHA-1) and ``xmlenc11#rsa-oaep``
  (any MGF1 and digest of the SHA-1/SHA-2 family). RSA PKCS#1 v1.5 (``xmlenc#rsa-1_5``) is refused:
  its padding errors make a Bleichenbacher oracle, and the IdPs that encrypt (AD FS, Entra ID, Okta,
  Shibboleth, SimpleSAMLphp, Keycloak) use or offer OAEP; SimpleSAMLphp's default is tested here.
- content: AES-GCM (128/192/256, XML Encryption 1.1) and AES-CBC (128/192/256). CBC has no integrity
  of its own, and its padding can be an oracle (Jager and Somorovsky, 2011). So every failure after the
  key is found — bad padding, bad tag, plaintext that is not the element expected — is one refusal with
  one message; and when the response is signed, its signature is checked *before* anything is
  decrypted (`signature.py`), so a tampered ciphertext never reaches AES at all.
- the EncryptedKey inside the EncryptedData's KeyInfo (most IdPs), or beside the EncryptedData in the
  holder element (AD FS, Shibboleth with RetrievalMethod). At most a few: one per SP key at most.

Encryption is confidentiality only: anyone holding our certificate can encrypt. The decrypted assertion
goes through the same signature checks as a plain one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree

from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.xml import DS, NS, XENC, parse, qname, text_of

XENC11 = "http://www.w3.org/2009/xmlenc11#"
ELEMENT_TYPE = XENC + "Element"
RSA_1_5 = XENC + "rsa-1_5"
RSA_OAEP_MGF1P = XENC + "rsa-oaep-mgf1p"
RSA_OAEP = XENC11 + "rsa-oaep"
AES_CBC = {XENC + "aes128-cbc": 16, XENC + "aes192-cbc": 24, XENC + "aes256-cbc": 32}
AES_GCM = {XENC11 + "aes128-gcm": 16, XENC11 + "aes192-gcm": 24, XENC11 + "aes256-gcm": 32}
_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    DS + "sha1": hashes.SHA1,
    "http://www.w3.org/2001/04/xmldsig-more#sha224": hashes.SHA224,
    XENC + "sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashes.SHA384,
    XENC + "sha512": hashes.SHA512,
}
_MGFS: dict[str, type[hashes.HashAlgorithm]] = {
    XENC11 + "mgf1sha1": hashes.SHA1,
    XENC11 + "mgf1sha224": hashes.SHA224,
    XENC11 + "mgf1sha256": hashes.SHA256,
    XENC11 + "mgf1sha384": hashes.SHA384,
    XENC11 + "mgf1sha512": hashes.SHA512,
}
# What the SP's metadata lists under its encryption keys, preferred first.
ADVERTISED = (
    XENC11 + "aes256-gcm",
    XENC11 + "aes128-gcm",
    XENC + "aes256-cbc",
    XENC + "aes128-cbc",
    RSA_OAEP,
    RSA_OAEP_MGF1P,
)
MAX_ENCRYPTED_KEYS = 4
_FAILED = "the encrypted element could not be decrypted with the SP's keys"


def _base64(element: etree._Element | None, what: str) -> bytes:
    if element is None:
        raise SamlRejected("encrypted", f"the {what} is missing")
    try:
        return base64.b64decode("".join(text_of(element).split()), validate=True)
    except (binascii.Error, ValueError):
        raise SamlRejected("encrypted", f"the {what} is not base64") from None


def _oaep(method: etree._Element) -> padding.OAEP:
    """The OAEP parameters an EncryptionMethod names (defaults: SHA-1 digest, MGF1 with SHA-1)."""
    algorithm = method.get("Algorithm")
    digest_method = method.find("ds:DigestMethod", NS)
    digest_name = DS + "sha1" if digest_method is None else str(digest_method.get("Algorithm"))
    mgf_method = method.find(qname(XENC11, "MGF"))
    mgf_name = XENC11 + "mgf1sha1" if mgf_method is None else str(mgf_method.get("Algorithm"))
    if algorithm == RSA_OAEP_MGF1P and mgf_method is not None:
        raise SamlRejected("algorithm", "rsa-oaep-mgf1p fixes MGF1 with SHA-1; an MGF element is refused")
    if digest_name not in _DIGESTS or mgf_name not in _MGFS:
        raise SamlRejected(
            "algorithm", f"unsupported OAEP digest or MGF: {digest_name[:80]}, {mgf_name[:80]}"
        )
    params = method.find("xenc:OAEPparams", NS)
    label = _base64(params, "OAEPparams") if params is not None else None
    return padding.OAEP(mgf=padding.MGF1(_MGFS[mgf_name]()), algorithm=_DIGESTS[digest_name](), label=label)


def _content_key(encrypted_keys: list[etree._Element], keys: Sequence[rsa.RSAPrivateKey], size: int) -> bytes:
    """The content-encryption key, unwrapped by one of `keys` from one of the EncryptedKeys."""
    for encrypted_key in encrypted_keys:
        method = encrypted_key.find("xenc:EncryptionMethod", NS)
        algorithm = method.get("Algorithm") if method is not None else None
        if algorithm == RSA_1_5:
            raise SamlRejected("algorithm", "RSA PKCS#1 v1.5 key transport is refused (use RSA-OAEP)")
        if method is None or algorithm not in (RSA_OAEP_MGF1P, RSA_OAEP):
            raise SamlRejected("algorithm", f"unsupported key transport {str(algorithm)[:100]!r}")
        wrapped = _base64(encrypted_key.find("xenc:CipherData/xenc:CipherValue", NS), "key's CipherValue")
        oaep = _oaep(method)
        for key in keys:
            try:
                content_key = key.decrypt(wrapped, oaep)
            except ValueError:
                continue
            if len(content_key) == size:
                return content_key
    raise SamlRejected("decryption", _FAILED)


def _decrypt_content(algorithm: str, key: bytes, data: bytes) -> bytes:
    if algorithm in AES_GCM:
        if len(data) < 12 + 16:
            raise SamlRejected("decryption", _FAILED)
        try:  # 96-bit IV first, 128-bit tag last (XML Encryption 1.1 §5.2.4)
            return AESGCM(key).decrypt(data[:12], data[12:], None)
        except InvalidTag:
            raise SamlRejected("decryption", _FAILED) from None
    if len(data) < 32 or len(data) % 16:
        raise SamlRejected("decryption", _FAILED)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(data[:16])).decryptor()
    padded = decryptor.update(data[16:]) + decryptor.finalize()
    # XML Encryption §5.2.1: the last octet counts the padding; the others are arbitrary (not PKCS#7).
    pad = padded[-1]
    if not 1 <= pad <= 16:
        raise SamlRejected("decryption", _FAILED)
    return padded[:-pad]


def decrypt(holder: etree._Element, keys: Sequence[rsa.RSAPrivateKey], expected: str) -> etree._Element:
    """The element `holder` (an EncryptedAssertion or EncryptedID) encrypts, which must be `expected`
    (a Clark name), parsed as untrusted XML. Refuses with `SamlRejected` on anything else."""
    if not keys:
        raise SamlRejected("encrypted", "an encrypted element came, but the SP has no decryption key")
    found = holder.findall("xenc:EncryptedData", NS)
    if len(found) != 1 or len(holder) != 1 + len(holder.findall("xenc:EncryptedKey", NS)):
        raise SamlRejected("encrypted", "expected one EncryptedData and its EncryptedKeys")
    data = found[0]
    if data.get("Type") not in (None, ELEMENT_TYPE):
        raise SamlRejected("encrypted", "the EncryptedData does not hold an element")
    method = data.find("xenc:EncryptionMethod", NS)
    algorithm = str(method.get("Algorithm")) if method is not None else ""
    if algorithm not in AES_CBC and algorithm not in AES_GCM:
        raise SamlRejected("algorithm", f"unsupported content encryption {algorithm[:100]!r}")
    ciphertext = _base64(data.find("xenc:CipherData/xenc:CipherValue", NS), "CipherValue")
    encrypted_keys = data.findall("ds:KeyInfo/xenc:EncryptedKey", NS) + holder.findall(
        "xenc:EncryptedKey", NS
    )
    if not encrypted_keys or len(encrypted_keys) > MAX_ENCRYPTED_KEYS:
        raise SamlRejected("encrypted", f"expected 1 to {MAX_ENCRYPTED_KEYS} EncryptedKeys")
    size = AES_CBC.get(algorithm) or AES_GCM[algorithm]
    plaintext = _decrypt_content(algorithm, _content_key(encrypted_keys, keys, size), ciphertext)
    try:
        element = parse(plaintext, what="decrypted element")
    except SamlRejected:
        raise SamlRejected("decryption", _FAILED) from None
    if element.tag != expected:
        raise SamlRejected("decryption", _FAILED)
    return element
