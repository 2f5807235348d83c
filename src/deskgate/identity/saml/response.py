"""The ACS checklist (Web Browser SSO profile, SAML profiles §4.1.4.3, and the security considerations):

    decode → parse safely → signatures, an EncryptedAssertion decrypted (signature.py) → Destination
    → Issuer → Status → InResponseTo
    → assertion Issuer → a bearer SubjectConfirmation (Recipient, NotOnOrAfter, InResponseTo)
    → Conditions (NotBefore, NotOnOrAfter, AudienceRestriction) → AuthnStatement → claims

The subject is the assertion's NameID, or its EncryptedID decrypted (encryption.py) from the signed copy.

Each check refuses with `SamlRejected(check)`. Everything after the signatures reads only the signed
copies. The assertion id's single use is the caller's last step (`replay.AssertionLedger`), taken only
once every check passed, so a refused assertion cannot be burnt by someone who replays it.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from deskgate.errors import IdpReturnedError
from deskgate.identity.claims import Claims
from deskgate.identity.saml.attributes import attribute_values, claims_data
from deskgate.identity.saml.encryption import decrypt
from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.nameid import NameId
from deskgate.identity.saml.settings import SamlIdpSettings, ServiceProvider
from deskgate.identity.saml.signature import verify_signatures
from deskgate.identity.saml.xml import NS, SAML, parse, qname, text_of

SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
ENTITY_FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
TRANSIENT_FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
_FRACTION = re.compile(r"(\.\d{1,6})\d*")


@dataclass(frozen=True, slots=True)
class AcceptedAssertion:
    claims: Claims
    assertion_id: str
    remember_until: datetime  # how long its id must stay spent: past every time limit it carries
    name_id: NameId  # as issued: single logout names the user this way


@dataclass(frozen=True, slots=True)
class Expected:
    """What this answer must match: our SP, the IdP as configured, this browser's request, the time."""

    sp: ServiceProvider
    idp: SamlIdpSettings
    request_id: str | None  # None: an IdP-initiated sign-in (then nothing may claim to answer a request)
    now: datetime
    skew: timedelta
    decryption_keys: tuple[rsa.RSAPrivateKey, ...] = ()  # the SP's published keys (`keys.SpKeys`)


def decode(encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SamlRejected("encoding", "SAMLResponse is not base64") from None


def instant(value: str | None, what: str) -> datetime | None:
    """An xs:dateTime (UTC 'Z' or an offset; more than microseconds are cut), or None when absent."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00"))
    except ValueError:
        raise SamlRejected("time", f"{what} is not a valid time: {value[:40]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _issuer(element: etree._Element, idp: SamlIdpSettings, *, required: bool, what: str) -> None:
    issuer = element.find("saml:Issuer", NS)
    if issuer is None:
        if required:
            raise SamlRejected("issuer", f"the {what} names no issuer")
        return
    if issuer.get("Format") not in (None, ENTITY_FORMAT) or text_of(issuer) != idp.entity_id:
        raise SamlRejected(
            "issuer", f"the {what} comes from {text_of(issuer)[:200]!r}, not {idp.entity_id!r}"
        )


def _check_response(response: etree._Element, signed: bool, exp: Expected) -> None:
    if response.get("Version") != "2.0":
        raise SamlRejected("version", "not a SAML 2.0 response")
    destination = response.get("Destination")
    # Bindings §3.5.5.2: a signed message must say where it was sent; when present it must be here.
    if (signed and destination is None) or (destination is not None and destination != exp.sp.acs_url):
        raise SamlRejected("destination", f"the response was sent to {destination!r}, not {exp.sp.acs_url!r}")
    _issuer(response, exp.idp, required=False, what="response")
    code = response.find("samlp:Status/samlp:StatusCode", NS)
    if code is None or code.get("Value") != SUCCESS:
        status = code.get("Value") if code is not None else "none"
        inner = response.find("samlp:Status/samlp:StatusCode/samlp:StatusCode", NS)
        message = text_of(response.find("samlp:Status/samlp:StatusMessage", NS))[:300]
        sub = f" / {inner.get('Value')}" if inner is not None else ""
        raise IdpReturnedError("idp_status", f"{status}{sub}: {message}")
    in_response_to = response.get("InResponseTo")
    if exp.request_id is None and not exp.idp.idp_initiated:
        raise SamlRejected("unsolicited", "the response answers no request (IdP-initiated sign-in is off)")
    if in_response_to is None and exp.request_id is not None:
        raise SamlRejected("unsolicited", "the response answers no request, but this browser made one")
    if in_response_to != exp.request_id:
        raise SamlRejected("in_response_to", "the response answers another sign-in than this browser's")


def _check_confirmation(assertion: etree._Element, exp: Expected) -> datetime:
    """A bearer confirmation for our ACS and this request, still valid; returns its NotOnOrAfter."""
    problems: list[SamlRejected] = []
    for confirmation in assertion.findall("saml:Subject/saml:SubjectConfirmation", NS):
        data = confirmation.find("saml:SubjectConfirmationData", NS)
        if confirmation.get("Method") != BEARER or data is None:
            continue
        until = instant(data.get("NotOnOrAfter"), "SubjectConfirmationData NotOnOrAfter")
        if data.get("Recipient") != exp.sp.acs_url:
            problems.append(SamlRejected("recipient", f"the assertion is for {data.get('Recipient')!r}"))
        elif until is None or until <= exp.now - exp.skew:
            problems.append(SamlRejected("expired", f"the subject confirmation ended at {until}"))
        elif data.get("NotBefore") is not None:
            problems.append(SamlRejected("subject_confirmation", "a bearer confirmation carries NotBefore"))
        elif data.get("InResponseTo") != exp.request_id:
            problems.append(SamlRejected("in_response_to", "the assertion answers another request"))
        else:
            return until
    raise problems[0] if problems else SamlRejected("subject_confirmation", "no bearer subject confirmation")


def _check_conditions(assertion: etree._Element, exp: Expected) -> datetime | None:
    conditions = assertion.find("saml:Conditions", NS)
    if conditions is None:
        raise SamlRejected("conditions", "the assertion has no Conditions (no audience)")
    not_before = instant(conditions.get("NotBefore"), "Conditions NotBefore")
    not_after = instant(conditions.get("NotOnOrAfter"), "Conditions NotOnOrAfter")
    if not_before is not None and not_before > exp.now + exp.skew:
        raise SamlRejected("not_yet_valid", f"the assertion is valid only from {not_before}")
    if not_after is not None and not_after <= exp.now - exp.skew:
        raise SamlRejected("expired", f"the assertion ended at {not_after}")
    restrictions = conditions.findall("saml:AudienceRestriction", NS)
    # Core §2.5.1.4: every restriction must hold, so our entity id must be in each of them.
    if not restrictions or any(
        exp.sp.entity_id not in [text_of(a) for a in r.findall("saml:Audience", NS)] for r in restrictions
    ):
        raise SamlRejected("audience", f"the assertion is not addressed to {exp.sp.entity_id!r}")
    return not_after


def _subject(name_id: str, name_id_format: str | None, data: dict[str, object], idp: SamlIdpSettings) -> str:
    """Who the user is, for good: the NameID, or the configured attribute's single value. A transient
    NameID names the user afresh at every sign-in, so it never does: sessions, blocks and customer links
    would each meet a stranger."""
    if idp.subject_attribute:
        value = data.get(idp.subject_attribute)
        if not isinstance(value, str) or not value.strip():
            raise SamlRejected(
                "subject_attribute",
                f"the assertion carries no single value of {idp.subject_attribute!r}, the attribute "
                "that names the user",
            )
        return value.strip()
    if name_id_format == TRANSIENT_FORMAT:
        raise SamlRejected(
            "transient_subject",
            "the IdP named the user with a transient NameID, which changes at every sign-in: choose the "
            "attribute that names the user (subject attribute) in this IdP's settings, or have the IdP "
            "send a persistent or e-mail NameID",
        )
    return name_id


def accept(encoded: str, idp_name: str, exp: Expected) -> AcceptedAssertion:
    """Run the checklist over a POSTed SAMLResponse; the replay check is left to the caller."""
    root = parse(decode(encoded), what="SAML response")
    signed = verify_signatures(root, exp.idp, exp.decryption_keys)
    _check_response(signed.response, signed.response_signed, exp)
    assertion = signed.assertion
    if assertion.get("Version") != "2.0":
        raise SamlRejected("version", "not a SAML 2.0 assertion")
    _issuer(assertion, exp.idp, required=True, what="assertion")
    name_id = assertion.find("saml:Subject/saml:NameID", NS)
    encrypted_id = assertion.find("saml:Subject/saml:EncryptedID", NS)
    if name_id is None and encrypted_id is not None:
        name_id = decrypt(encrypted_id, exp.decryption_keys, qname(SAML, "NameID"))
    if name_id is None or not text_of(name_id):
        raise SamlRejected("subject", "the assertion names no subject (NameID)")
    confirmed_until = _check_confirmation(assertion, exp)
    conditions_until = _check_conditions(assertion, exp)
    statement = assertion.find("saml:AuthnStatement", NS)
    if statement is None:
        raise SamlRejected("authn_statement", "the assertion carries no AuthnStatement")
    session_until = instant(statement.get("SessionNotOnOrAfter"), "SessionNotOnOrAfter")
    if session_until is not None and session_until <= exp.now - exp.skew:
        raise SamlRejected("expired", f"the IdP session ended at {session_until}")
    data = claims_data(text_of(name_id), name_id.get("Format"), attribute_values(assertion))
    data["sub"] = subject = _subject(text_of(name_id), name_id.get("Format"), data, exp.idp)
    claims = Claims(
        idp=idp_name,
        issuer=exp.idp.entity_id,
        subject=subject,
        raw=data,
        session_id=statement.get("SessionIndex"),
    )
    until = max(t for t in (confirmed_until, conditions_until) if t is not None) + exp.skew
    return AcceptedAssertion(
        claims=claims,
        assertion_id=str(assertion.get("ID")),
        remember_until=until,
        name_id=NameId.of(name_id),
    )
