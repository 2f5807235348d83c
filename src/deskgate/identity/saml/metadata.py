"""SAML metadata: an IdP's read into `SamlIdpSettings`, the SP's written for the IdP's admin to load."""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from deskgate.identity.saml.encryption import ADVERTISED
from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.keys import SpKey
from deskgate.identity.saml.settings import SamlIdpSettings, ServiceProvider
from deskgate.identity.saml.xml import DS, MD, NS, SAMLP, parse, qname, text_of

REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"


def idp_settings(data: bytes, *, entity_id: str | None = None, **overrides: object) -> SamlIdpSettings:
    """Read an IdP's metadata (an EntityDescriptor, or an EntitiesDescriptor holding `entity_id`).

    Only what the SP needs is taken: the entity id, the Redirect SSO location and the signing
    certificates (KeyDescriptors marked for signing or for no use in particular). `overrides` sets the
    fields metadata does not carry (``signed``, ``allow_sha1``…).
    """
    root = parse(data, what="IdP metadata")
    if root.tag == qname(MD, "EntityDescriptor"):
        entities = [root]
    elif root.tag == qname(MD, "EntitiesDescriptor"):
        entities = root.findall(".//md:EntityDescriptor", NS)
    else:
        raise SamlRejected("metadata", "the document is not SAML metadata (no EntityDescriptor)")
    candidates = [e for e in entities if e.find("md:IDPSSODescriptor", NS) is not None]
    if entity_id is not None:
        candidates = [e for e in candidates if e.get("entityID") == entity_id]
    if len(candidates) != 1:
        found = sorted(str(e.get("entityID")) for e in candidates)
        raise SamlRejected("metadata", f"expected one IdP entity, found {len(candidates)}: {found[:5]}")
    entity = candidates[0]
    descriptor = entity.find("md:IDPSSODescriptor", NS)
    assert descriptor is not None
    if SAMLP not in (descriptor.get("protocolSupportEnumeration") or "").split():
        raise SamlRejected("metadata", "the IdP does not announce SAML 2.0 support")
    sso = [
        s.get("Location")
        for s in descriptor.findall("md:SingleSignOnService", NS)
        if s.get("Binding") == REDIRECT_BINDING
    ]
    if not sso or not sso[0]:
        raise SamlRejected("metadata", "the IdP has no SingleSignOnService for the HTTP-Redirect binding")
    # Single logout: Redirect preferred (a plain link both ways), else POST; none means no single logout.
    services = descriptor.findall("md:SingleLogoutService", NS)
    slo = {s.get("Binding"): s.get("Location") for s in services}
    slo_binding = next((b for b in (REDIRECT_BINDING, POST_BINDING) if slo.get(b)), None)
    # Metadata §2.2.2: answers to the IdP's requests go to ResponseLocation when it names one.
    answers = {s.get("Binding"): s.get("ResponseLocation") for s in services}
    certificates = [
        text_of(cert)
        for key in descriptor.findall("md:KeyDescriptor", NS)
        if key.get("use") in (None, "signing")
        for cert in key.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    ]
    if not certificates:
        raise SamlRejected("metadata", "the IdP's metadata carries no signing certificate")
    values: dict[str, object] = {
        "entity_id": entity.get("entityID"),
        "sso_url": sso[0],
        "signing_certificates": tuple(dict.fromkeys(certificates)),  # the same one listed twice counts once
        "slo_url": slo[slo_binding] if slo_binding else None,
        "slo_binding": "post" if slo_binding == POST_BINDING else "redirect",
        "slo_response_url": answers.get(slo_binding) or None if slo_binding else None,
        "sign_requests": descriptor.get("WantAuthnRequestsSigned") in ("true", "1"),
    }
    return SamlIdpSettings.model_validate(values | overrides)


# What the SP asks for when the IdP is not told one format (the IdP chooses among them).
NAME_ID_FORMATS = (
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
)


def _key_descriptor(parent: etree._Element, key: SpKey, use: str) -> None:
    descriptor = etree.SubElement(parent, qname(MD, "KeyDescriptor"), use=use)
    info = etree.SubElement(descriptor, qname(DS, "KeyInfo"), nsmap={"ds": DS})
    etree.SubElement(info, qname(DS, "KeyName")).text = key.id
    data = etree.SubElement(info, qname(DS, "X509Data"))
    etree.SubElement(data, qname(DS, "X509Certificate")).text = key.certificate_base64
    if use == "encryption":
        # Listed so that IdPs which read them (Shibboleth, SimpleSAMLphp 2) pick what we decrypt.
        for algorithm in ADVERTISED:
            etree.SubElement(descriptor, qname(MD, "EncryptionMethod"), Algorithm=algorithm)


def sp_metadata(sp: ServiceProvider, idp: SamlIdpSettings, keys: Sequence[SpKey]) -> bytes:
    """The SP's metadata for one IdP: every published key (`keys.PUBLISHED`) for signing and for
    encryption, so that during a rotation the IdP holds both certificates; the ACS (HTTP-POST); single
    logout (Redirect and POST). `WantAssertionsSigned` is claimed only when this IdP's settings demand
    a signed assertion: with "either" the response's signature may be the one that counts."""
    entity = etree.Element(qname(MD, "EntityDescriptor"), nsmap={"md": MD}, entityID=sp.entity_id)
    descriptor = etree.SubElement(
        entity,
        qname(MD, "SPSSODescriptor"),
        AuthnRequestsSigned="true" if idp.sign_requests else "false",
        WantAssertionsSigned="true" if idp.signed in ("assertion", "both") else "false",
        protocolSupportEnumeration=SAMLP,
    )
    for use in ("signing", "encryption"):
        for key in keys:
            _key_descriptor(descriptor, key, use)
    for binding in (REDIRECT_BINDING, POST_BINDING):
        etree.SubElement(descriptor, qname(MD, "SingleLogoutService"), Binding=binding, Location=sp.slo_url)
    for name_id_format in (idp.name_id_format,) if idp.name_id_format else NAME_ID_FORMATS:
        etree.SubElement(descriptor, qname(MD, "NameIDFormat")).text = name_id_format
    etree.SubElement(
        descriptor,
        qname(MD, "AssertionConsumerService"),
        Binding=POST_BINDING,
        Location=sp.acs_url,
        index="0",
        isDefault="true",
    )
    return bytes(etree.tostring(entity, xml_declaration=True, encoding="UTF-8", pretty_print=True))
