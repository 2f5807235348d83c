"""Untrusted XML in, a plain lxml tree out, or a refusal.

libxml2 is told not to load DTDs, resolve entities or touch the network; on top of that any DOCTYPE at
all is refused (SAML never needs one, and an internal subset is where XXE and "billion laughs" live),
and so are comments and processing instructions, which an attacker may slip into a signed value
(a comment inside a NameID changes what naive text readers see without breaking the signature).
"""

from __future__ import annotations

from lxml import etree

from deskgate.identity.saml.errors import SamlRejected

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
NS = {"samlp": SAMLP, "saml": SAML, "md": MD, "ds": DS, "xenc": XENC}

MAX_BYTES = 256 * 1024  # a generous SAML response is a few kB; metadata with many keys tens of kB


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_comments=False,  # kept so that they can be refused, not silently dropped
        remove_pis=False,
        collect_ids=False,
    )


def parse(data: bytes, *, what: str = "SAML message") -> etree._Element:
    """Parse `data`, refusing anything a SAML message or metadata document never carries."""
    if len(data) > MAX_BYTES:
        raise SamlRejected("xml", f"the {what} is larger than {MAX_BYTES} bytes")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise SamlRejected("xml", f"the {what} is not well-formed XML: {exc}") from None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise SamlRejected("xml", f"the {what} carries a DOCTYPE (DTDs and entities are refused)")
    for node in root.iter(etree.Comment, etree.ProcessingInstruction, etree.Entity):
        kind = "comment" if isinstance(node, etree._Comment) else "processing instruction or entity"
        raise SamlRejected("xml", f"the {what} carries a {kind} (refused: it can hide part of a value)")
    return root


def text_of(element: etree._Element | None) -> str:
    """The element's whole text content, trimmed; '' when absent."""
    if element is None:
        return ""
    return "".join(element.itertext()).strip()


def qname(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"
