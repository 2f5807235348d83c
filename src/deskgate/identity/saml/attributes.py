"""A verified assertion's subject and attributes as the neutral claims every protocol produces.

Attributes keep their own names (``urn:oid:…``, claim URIs of AD FS and Entra ID) and, when they have
one, their FriendlyName; the well-known ones are also copied to the names OIDC uses (``email``,
``given_name``, ``family_name``, ``name``, ``groups``), so the default mapping and every filter work
unchanged. The mapping is data, like the rest of attribute mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from lxml import etree

from deskgate.identity.saml.xml import NS, text_of

_CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
_MS_CLAIMS = "http://schemas.microsoft.com/ws/2008/06/identity/claims/"
# Common claim name → the attribute names it may arrive under, in no particular order.
ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "email": (
            "email",
            "mail",
            "emailAddress",
            "urn:oid:0.9.2342.19200300.100.1.3",
            _CLAIMS + "emailaddress",
            "http://schemas.xmlsoap.org/claims/EmailAddress",
        ),
        "given_name": ("givenName", "given_name", "firstName", "urn:oid:2.5.4.42", _CLAIMS + "givenname"),
        "family_name": ("sn", "surname", "family_name", "lastName", "urn:oid:2.5.4.4", _CLAIMS + "surname"),
        "name": (
            "displayName",
            "cn",
            "urn:oid:2.16.840.1.113730.3.1.241",
            "urn:oid:2.5.4.3",
            _CLAIMS + "name",
        ),
        "groups": (
            "groups",
            "memberOf",
            "isMemberOf",
            "urn:oid:1.3.6.1.4.1.5923.1.5.1.1",
            "urn:oid:1.2.840.113556.1.2.102",
            _MS_CLAIMS + "groups",
            _MS_CLAIMS + "role",
            "http://schemas.xmlsoap.org/claims/Group",
        ),
        "upn": ("upn", _CLAIMS + "upn"),
    }
)
MULTI_VALUED = frozenset({"groups"})


def attribute_values(assertion: etree._Element) -> dict[str, list[str]]:
    """Every attribute by Name and by FriendlyName, values in order (several statements merge)."""
    values: dict[str, list[str]] = {}
    for attribute in assertion.findall("saml:AttributeStatement/saml:Attribute", NS):
        found = [text_of(v) for v in attribute.findall("saml:AttributeValue", NS)]
        for key in {attribute.get("Name"), attribute.get("FriendlyName")} - {None, ""}:
            values.setdefault(str(key), []).extend(found)
    return values


def claims_data(name_id: str, name_id_format: str | None, attributes: dict[str, list[str]]) -> dict[str, Any]:
    """The claims dictionary: ``sub`` (the NameID), each attribute, then the common aliases."""
    data: dict[str, Any] = {
        name: values[0] if len(values) == 1 else list(values) for name, values in attributes.items()
    }
    for claim, sources in ALIASES.items():
        source = next((s for s in sources if attributes.get(s)), None)
        if source is not None and claim not in data:
            data[claim] = list(attributes[source]) if claim in MULTI_VALUED else attributes[source][0]
    if "groups" in data and isinstance(data["groups"], str):
        data["groups"] = [data["groups"]]
    data["sub"] = name_id
    data["name_id"] = name_id
    if name_id_format:
        data["name_id_format"] = name_id_format
    if "email" not in data and name_id_format and name_id_format.endswith(":emailAddress"):
        data["email"] = name_id
    return data
