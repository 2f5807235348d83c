"""A NameID exactly as the IdP issued it (value, Format, qualifiers): SAML core §3.7.1 wants a
LogoutRequest to name the principal that way, so the session keeps it from sign-in to sign-out."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from lxml import etree

from deskgate.identity.saml.xml import SAML, qname, text_of


@dataclass(frozen=True, slots=True)
class NameId:
    """A NameID as the IdP issued it; `to_json` is what the session keeps for sign-out."""

    value: str
    format: str | None = None
    name_qualifier: str | None = None
    sp_name_qualifier: str | None = None

    @classmethod
    def of(cls, element: etree._Element) -> NameId:
        return cls(
            text_of(element),
            element.get("Format"),
            element.get("NameQualifier"),
            element.get("SPNameQualifier"),
        )

    def to_json(self) -> str:
        return json.dumps({"saml_name_id": asdict(self)})

    @classmethod
    def from_json(cls, value: str | None) -> NameId | None:
        """The NameID a session kept, or None when it kept none (an OIDC session, or an older one)."""
        try:
            data = json.loads(value or "")["saml_name_id"]
            return cls(**{k: data.get(k) for k in ("value", "format", "name_qualifier", "sp_name_qualifier")})
        except (ValueError, TypeError, KeyError):
            return None

    def element(self, parent: etree._Element) -> etree._Element:
        node = etree.SubElement(parent, qname(SAML, "NameID"))
        for attribute, value in (
            ("Format", self.format),
            ("NameQualifier", self.name_qualifier),
            ("SPNameQualifier", self.sp_name_qualifier),
        ):
            if value is not None:
                node.set(attribute, value)
        node.text = self.value
        return node
