"""Single logout (SAML profiles §4.4): the messages, and the checks on those the IdP sends.

Both directions travel through the browser (front-channel), with the HTTP-Redirect or HTTP-POST binding
(`bindings`). An IdP's `LogoutRequest` must be signed by one of its configured certificates, come from
its entity id, be addressed to our SLO URL, be fresh, and is accepted once (the caller spends its ID in
`replay.AssertionLedger`). It names whom to sign out by NameID (and optionally SessionIndex); the caller
ends exactly those sessions.

To send our own `LogoutRequest`, the NameID must be repeated as the IdP issued it (value, Format and
qualifiers, core §3.7.1): `nameid.NameId` keeps it with the session, from sign-in to sign-out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lxml import etree

from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.nameid import NameId
from deskgate.identity.saml.response import SUCCESS, instant
from deskgate.identity.saml.settings import SamlIdpSettings, ServiceProvider
from deskgate.identity.saml.xml import NS, SAML, SAMLP, qname, text_of

REQUESTER = "urn:oasis:names:tc:SAML:2.0:status:Requester"
PARTIAL_LOGOUT = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"
ENTITY_FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
MAX_AGE = timedelta(minutes=5)  # how old an IssueInstant may be (plus the clock skew)
REMEMBER_FOR = MAX_AGE + timedelta(minutes=10)  # a request's ID stays spent longer than it may be used


@dataclass(frozen=True, slots=True)
class LogoutOrder:
    """What a verified LogoutRequest from the IdP asks: end these sessions, answer this request."""

    request_id: str
    name_id: NameId
    session_indexes: tuple[str, ...]  # empty: every session of this NameID at this IdP


def _instant(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _message(
    tag: str, message_id: str, destination: str, sp: ServiceProvider, now: datetime
) -> etree._Element:
    root = etree.Element(
        qname(SAMLP, tag),
        nsmap={"samlp": SAMLP, "saml": SAML},
        ID=message_id,
        Version="2.0",
        IssueInstant=_instant(now),
        Destination=destination,
    )
    etree.SubElement(root, qname(SAML, "Issuer")).text = sp.entity_id
    return root


def logout_request(
    sp: ServiceProvider,
    destination: str,
    request_id: str,
    name_id: NameId,
    session_index: str | None,
    *,
    now: datetime,
) -> bytes:
    """Our LogoutRequest for one session (SP-initiated sign-out)."""
    root = _message("LogoutRequest", request_id, destination, sp, now)
    root.set("NotOnOrAfter", _instant(now + MAX_AGE))
    root.set("Reason", "urn:oasis:names:tc:SAML:2.0:logout:user")
    name_id.element(root)
    if session_index:
        etree.SubElement(root, qname(SAMLP, "SessionIndex")).text = session_index
    return bytes(etree.tostring(root))


def logout_response(
    sp: ServiceProvider,
    destination: str,
    response_id: str,
    in_response_to: str | None,
    status: str,
    *,
    now: datetime,
    message: str | None = None,
) -> bytes:
    """Our answer to an IdP's LogoutRequest. `status` is Success, or Requester for a refused request; a
    request we could not verify gets no InResponseTo (it may not be the IdP's at all)."""
    root = _message("LogoutResponse", response_id, destination, sp, now)
    if in_response_to is not None:
        root.set("InResponseTo", in_response_to)
    status_node = etree.SubElement(root, qname(SAMLP, "Status"))
    etree.SubElement(status_node, qname(SAMLP, "StatusCode"), Value=status)
    if message:
        etree.SubElement(status_node, qname(SAMLP, "StatusMessage")).text = message
    return bytes(etree.tostring(root))


def _check_common(
    root: etree._Element, tag: str, sp: ServiceProvider, idp: SamlIdpSettings, now: datetime, skew: timedelta
) -> None:
    """What every logout message from the IdP must satisfy: shape, issuer, destination, freshness."""
    if root.tag != qname(SAMLP, tag):
        raise SamlRejected("structure", f"expected a samlp:{tag}, got {etree.QName(root).text}")
    if root.get("Version") != "2.0" or not root.get("ID"):
        raise SamlRejected("version", f"not a SAML 2.0 {tag} with an ID")
    issuer = root.find("saml:Issuer", NS)
    if (
        issuer is None
        or issuer.get("Format") not in (None, ENTITY_FORMAT)
        or text_of(issuer) != idp.entity_id
    ):
        raise SamlRejected("issuer", f"the {tag} does not come from {idp.entity_id!r}")
    # Bindings §3.4.5.2 and §3.5.5.2: a signed message says where it goes, and that must be here.
    if root.get("Destination") != sp.slo_url:
        raise SamlRejected("destination", f"the {tag} was sent to {root.get('Destination')!r}")
    issued = instant(root.get("IssueInstant"), "IssueInstant")
    if issued is None or issued > now + skew or issued < now - skew - MAX_AGE:
        raise SamlRejected("time", f"the {tag} was issued at {issued}, too far from now")


def check_logout_request(
    root: etree._Element, sp: ServiceProvider, idp: SamlIdpSettings, *, now: datetime, skew: timedelta
) -> LogoutOrder:
    """Check a LogoutRequest whose signature was verified (`root` is the signed copy or the signed query's
    message). Its ID's single use is the caller's."""
    _check_common(root, "LogoutRequest", sp, idp, now, skew)
    until = instant(root.get("NotOnOrAfter"), "NotOnOrAfter")
    if until is not None and until <= now - skew:
        raise SamlRejected("expired", f"the LogoutRequest expired at {until}")
    if root.find("saml:EncryptedID", NS) is not None or root.find("saml:BaseID", NS) is not None:
        raise SamlRejected("subject", "only a plain NameID can name whom to sign out")
    name_id = root.find("saml:NameID", NS)
    if name_id is None or not text_of(name_id):
        raise SamlRejected("subject", "the LogoutRequest names no one (NameID)")
    indexes = tuple(text_of(s) for s in root.findall("samlp:SessionIndex", NS))
    if any(not index for index in indexes):
        raise SamlRejected("session_index", "an empty SessionIndex")
    return LogoutOrder(str(root.get("ID")), NameId.of(name_id), indexes)


def check_logout_response(
    root: etree._Element,
    sp: ServiceProvider,
    idp: SamlIdpSettings,
    request_id: str,
    *,
    now: datetime,
    skew: timedelta,
) -> str:
    """Check the IdP's answer to our LogoutRequest `request_id`; returns its top-level status code."""
    _check_common(root, "LogoutResponse", sp, idp, now, skew)
    if root.get("InResponseTo") != request_id:
        raise SamlRejected(
            "in_response_to", "the LogoutResponse answers another sign-out than this browser's"
        )
    code = root.find("samlp:Status/samlp:StatusCode", NS)
    if code is None or not code.get("Value"):
        raise SamlRejected("status", "the LogoutResponse carries no status")
    return str(code.get("Value"))


def succeeded(status: str) -> bool:
    return status == SUCCESS
