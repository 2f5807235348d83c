"""An IdP in process that signs what a test tells it to, with signxml and a key made for the run.

`HostileIdp.response()` builds a valid SAML response for one SP and request; keyword arguments break
one rule each, and the `tamper_*` helpers rewrite a signed response the way known attacks do.
`encrypt()` wraps an element in XML Encryption the way IdPs do (with algorithms we refuse too).
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.signer import XMLSigner

from deskgate.identity.saml.settings import SamlIdpSettings, ServiceProvider
from deskgate.identity.saml.xml import DS, SAML, SAMLP, XENC, qname

XENC11 = "http://www.w3.org/2009/xmlenc11#"
KeyTransport = Literal["rsa-oaep-mgf1p", "rsa-oaep-sha256", "rsa-1_5"]
Content = Literal["aes128-cbc", "aes192-cbc", "aes256-cbc", "aes128-gcm", "aes256-gcm"]

IDP_ENTITY = "https://idp.hostile.example/saml"
SSO_URL = "https://idp.hostile.example/sso"
EXC_C14N = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0


@dataclass(frozen=True)
class SigningKey:
    key_pem: bytes
    cert_pem: str

    @classmethod
    def generate(cls, name: str = "Hostile test IdP") -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return cls(key_pem, cert.public_bytes(serialization.Encoding.PEM).decode())


class _LegacySigner(XMLSigner):
    """Signs with SHA-1 too, as legacy IdPs still do (signxml refuses it by default, rightly)."""

    def check_deprecated_methods(self) -> None:
        return None


def sign(
    element: etree._Element, key: SigningKey, *, sha1: bool = False, reference: str | None = None
) -> etree._Element:
    """`element` with an enveloped signature as its child after the Issuer, as IdPs place it."""
    signer = (_LegacySigner if sha1 else XMLSigner)(
        signature_algorithm=SignatureMethod.RSA_SHA1 if sha1 else SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA1 if sha1 else DigestAlgorithm.SHA256,
        c14n_algorithm=EXC_C14N,
    )
    issuer = element.find(qname(SAML, "Issuer"))
    placeholder = etree.Element(qname(DS, "Signature"), Id="placeholder", nsmap={"ds": DS})
    if issuer is not None:
        issuer.addnext(placeholder)
    else:
        element.insert(0, placeholder)
    return signer.sign(
        element, key=key.key_pem, cert=key.cert_pem, reference_uri=reference or element.get("ID")
    )


def encrypt(
    element: etree._Element,
    certificate_pem: str,
    *,
    holder: str = "EncryptedAssertion",
    key_transport: KeyTransport = "rsa-oaep-mgf1p",
    content: Content = "aes256-gcm",
    key_beside: bool = False,
    plaintext: bytes | None = None,
) -> etree._Element:
    """`element` encrypted to the certificate's key inside a saml:`holder`: the EncryptedKey in the
    EncryptedData's KeyInfo (SimpleSAMLphp, Okta), or beside it when `key_beside` (AD FS). `plaintext`
    replaces the serialized element (to encrypt something hostile)."""
    public = x509.load_pem_x509_certificate(certificate_pem.encode()).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    size = int(content[3:6]) // 8
    key = os.urandom(size)
    plaintext = etree.tostring(element) if plaintext is None else plaintext
    if content.endswith("gcm"):
        iv = os.urandom(12)
        ciphertext, data_algorithm = iv + AESGCM(key).encrypt(iv, plaintext, None), XENC11 + content
    else:
        iv, pad = os.urandom(16), 16 - len(plaintext) % 16
        encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        padded = plaintext + os.urandom(pad - 1) + bytes([pad])  # XML Encryption padding, not PKCS#7
        ciphertext, data_algorithm = iv + encryptor.update(padded) + encryptor.finalize(), XENC + content
    if key_transport == "rsa-1_5":
        wrapped = public.encrypt(key, padding.PKCS1v15())
    else:
        sha = hashes.SHA256() if key_transport == "rsa-oaep-sha256" else hashes.SHA1()  # noqa: S303 (OAEP mgf1p is SHA-1 by definition)
        wrapped = public.encrypt(key, padding.OAEP(mgf=padding.MGF1(sha), algorithm=sha, label=None))
    outer = etree.Element(qname(SAML, holder), nsmap={"saml": SAML, "xenc": XENC, "ds": DS})
    data = etree.SubElement(outer, qname(XENC, "EncryptedData"), Type=XENC + "Element")
    etree.SubElement(data, qname(XENC, "EncryptionMethod"), Algorithm=data_algorithm)
    info = etree.SubElement(data, qname(DS, "KeyInfo"))
    encrypted_key = etree.SubElement(outer if key_beside else info, qname(XENC, "EncryptedKey"))
    if key_transport == "rsa-oaep-sha256":
        method = etree.SubElement(
            encrypted_key, qname(XENC, "EncryptionMethod"), Algorithm=XENC11 + "rsa-oaep"
        )
        etree.SubElement(method, qname(DS, "DigestMethod"), Algorithm=XENC + "sha256")
        etree.SubElement(method, qname(XENC11, "MGF"), Algorithm=XENC11 + "mgf1sha256")
    else:
        etree.SubElement(encrypted_key, qname(XENC, "EncryptionMethod"), Algorithm=XENC + key_transport)
    key_value = etree.SubElement(
        etree.SubElement(encrypted_key, qname(XENC, "CipherData")), qname(XENC, "CipherValue")
    )
    key_value.text = base64.b64encode(wrapped).decode()
    value = etree.SubElement(etree.SubElement(data, qname(XENC, "CipherData")), qname(XENC, "CipherValue"))
    value.text = base64.b64encode(ciphertext).decode()
    return outer


def _instant(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


Signed = Literal["response", "assertion", "both", "none"]


@dataclass
class HostileIdp:
    sp: ServiceProvider
    key: SigningKey = field(default_factory=SigningKey.generate)
    entity_id: str = IDP_ENTITY

    def settings(self, **changes: object) -> SamlIdpSettings:
        values: dict[str, object] = {
            "entity_id": self.entity_id,
            "sso_url": SSO_URL,
            "signing_certificates": (self.key.cert_pem,),
        }
        return SamlIdpSettings.model_validate(values | changes)

    def assertion(
        self,
        request_id: str | None,
        *,
        name_id: str = "ana@lumen.example",
        now: datetime | None = None,
        audience: str | None = None,
        recipient: str | None = None,
        not_before: timedelta = timedelta(minutes=-1),
        lifetime: timedelta = timedelta(minutes=5),
        issuer: str | None = None,
        attributes: dict[str, list[str]] | None = None,
        assertion_id: str | None = None,
    ) -> etree._Element:
        now = now or datetime.now(UTC)
        a = etree.Element(
            qname(SAML, "Assertion"),
            nsmap={"saml": SAML},
            ID=assertion_id or "_a" + secrets.token_hex(16),
            Version="2.0",
            IssueInstant=_instant(now),
        )
        etree.SubElement(a, qname(SAML, "Issuer")).text = issuer or self.entity_id
        subject = etree.SubElement(a, qname(SAML, "Subject"))
        nid = etree.SubElement(
            subject, qname(SAML, "NameID"), Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
        )
        nid.text = name_id
        confirmation = etree.SubElement(
            subject, qname(SAML, "SubjectConfirmation"), Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"
        )
        data = etree.SubElement(
            confirmation,
            qname(SAML, "SubjectConfirmationData"),
            Recipient=recipient or self.sp.acs_url,
            NotOnOrAfter=_instant(now + lifetime),
        )
        if request_id is not None:
            data.set("InResponseTo", request_id)
        conditions = etree.SubElement(
            a,
            qname(SAML, "Conditions"),
            NotBefore=_instant(now + not_before),
            NotOnOrAfter=_instant(now + lifetime),
        )
        restriction = etree.SubElement(conditions, qname(SAML, "AudienceRestriction"))
        etree.SubElement(restriction, qname(SAML, "Audience")).text = audience or self.sp.entity_id
        statement = etree.SubElement(
            a, qname(SAML, "AuthnStatement"), AuthnInstant=_instant(now), SessionIndex="_session-1"
        )
        context = etree.SubElement(statement, qname(SAML, "AuthnContext"))
        etree.SubElement(
            context, qname(SAML, "AuthnContextClassRef")
        ).text = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
        attrs = attributes if attributes is not None else {"mail": ["ana@lumen.example"]}
        if attrs:
            holder = etree.SubElement(a, qname(SAML, "AttributeStatement"))
            for name, values in attrs.items():
                attribute = etree.SubElement(holder, qname(SAML, "Attribute"), Name=name)
                for value in values:
                    etree.SubElement(attribute, qname(SAML, "AttributeValue")).text = value
        return a

    def envelope(
        self,
        assertion: etree._Element | None,
        request_id: str | None,
        *,
        destination: str | None = None,
        now: datetime | None = None,
        status: str = "urn:oasis:names:tc:SAML:2.0:status:Success",
    ) -> etree._Element:
        now = now or datetime.now(UTC)
        r = etree.Element(
            qname(SAMLP, "Response"),
            nsmap={"samlp": SAMLP, "saml": SAML},
            ID="_r" + secrets.token_hex(16),
            Version="2.0",
            IssueInstant=_instant(now),
            Destination=destination or self.sp.acs_url,
        )
        if request_id is not None:
            r.set("InResponseTo", request_id)
        etree.SubElement(r, qname(SAML, "Issuer")).text = self.entity_id
        code = etree.SubElement(etree.SubElement(r, qname(SAMLP, "Status")), qname(SAMLP, "StatusCode"))
        code.set("Value", status)
        if assertion is not None:
            r.append(assertion)
        return r

    def response(
        self,
        request_id: str | None,
        *,
        signed: Signed = "assertion",
        key: SigningKey | None = None,
        sha1: bool = False,
        destination: str | None = None,
        now: datetime | None = None,
        encrypt_to: str | None = None,
        encrypt_name_id_to: str | None = None,
        key_transport: KeyTransport = "rsa-oaep-mgf1p",
        content: Content = "aes256-gcm",
        **assertion_changes: object,
    ) -> etree._Element:
        """With `encrypt_to` (a certificate) the assertion is signed first, then encrypted, as IdPs do;
        `encrypt_name_id_to` puts an EncryptedID in place of the NameID."""
        key = key or self.key
        assertion = self.assertion(request_id, now=now, **assertion_changes)  # type: ignore[arg-type]
        if encrypt_name_id_to is not None:
            name_id = assertion.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID")
            assert name_id is not None
            name_id.addprevious(encrypt(name_id, encrypt_name_id_to, holder="EncryptedID", content=content))
            name_id.getparent().remove(name_id)  # type: ignore[union-attr]
        if signed in ("assertion", "both"):
            assertion = sign(assertion, key, sha1=sha1)
        if encrypt_to is not None:
            assertion = encrypt(assertion, encrypt_to, key_transport=key_transport, content=content)
        response = self.envelope(assertion, request_id, destination=destination, now=now)
        if signed in ("response", "both"):
            response = sign(response, key, sha1=sha1)
        return response


def encode(element: etree._Element | bytes) -> str:
    data = element if isinstance(element, bytes) else etree.tostring(element)
    return base64.b64encode(data).decode()
