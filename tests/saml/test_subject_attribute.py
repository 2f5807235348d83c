"""Who a SAML user is, for good: the NameID, or the attribute the admin names (`subject_attribute`). A
transient NameID is new at every sign-in, so on its own it names no one: it is refused, with what to do."""

from __future__ import annotations

import pytest
from lxml import etree

from deskgate.identity.saml.response import TRANSIENT_FORMAT
from deskgate.identity.saml.xml import NS
from tests.saml.hostile_idp import HostileIdp, sign
from tests.saml.test_acs_checks import REQUEST, SP, refused, run

PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


@pytest.fixture(scope="module")
def idp() -> HostileIdp:
    return HostileIdp(SP)


def answer(
    idp: HostileIdp, name_id: str, name_format: str, attributes: dict[str, list[str]]
) -> etree._Element:
    assertion = idp.assertion(REQUEST, name_id=name_id, attributes=attributes)
    node = assertion.find("saml:Subject/saml:NameID", NS)
    assert node is not None
    node.set("Format", name_format)
    return idp.envelope(sign(assertion, idp.key), REQUEST)


def test_a_transient_name_id_alone_is_refused_with_what_to_do(idp: HostileIdp) -> None:
    response = answer(idp, "_9f8e7d", TRANSIENT_FORMAT, {"mail": ["ana@lumen.example"]})
    detail = refused("transient_subject", response, idp.settings())
    assert "subject attribute" in detail


def test_the_subject_attribute_names_the_user_whatever_the_name_id(idp: HostileIdp) -> None:
    settings = idp.settings(subject_attribute="urn:oid:1.3.6.1.4.1.5923.1.1.1.6")
    for transient in ("_first-sign-in", "_second-sign-in"):
        response = answer(
            idp,
            transient,
            TRANSIENT_FORMAT,
            {"urn:oid:1.3.6.1.4.1.5923.1.1.1.6": ["ana@lumen.example"], "mail": ["ana@work.example"]},
        )
        accepted = run(response, settings)
        assert accepted.claims.subject == "ana@lumen.example"
        assert accepted.claims.get("sub") == "ana@lumen.example"
        assert accepted.claims.get("name_id") == transient  # kept: single logout repeats it
        assert accepted.name_id.value == transient
    # A persistent NameID names the user too: without the setting it does, with it the attribute does.
    persistent = answer(idp, "p-1234", PERSISTENT, {"mail": ["ana@lumen.example"]})
    assert run(persistent, idp.settings()).claims.subject == "p-1234"
    assert run(persistent, idp.settings(subject_attribute="mail")).claims.subject == "ana@lumen.example"


@pytest.mark.parametrize(
    "attributes", [{}, {"mail": [""]}, {"mail": ["ana@lumen.example", "ana@other.example"]}, {"cn": ["Ana"]}]
)
def test_an_attribute_that_is_missing_empty_or_several_names_no_one(
    idp: HostileIdp, attributes: dict[str, list[str]]
) -> None:
    response = answer(idp, "_transient", TRANSIENT_FORMAT, attributes)
    refused("subject_attribute", response, idp.settings(subject_attribute="mail"))
