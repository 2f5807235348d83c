"""SP-initiated sign-in: an AuthnRequest sent with the HTTP-Redirect binding (SAML bindings §3.4).

The request's ID is what the IdP's answer must carry back in ``InResponseTo``; the caller keeps it in
the browser's pending sign-in (`deskgate.login.states`) exactly as OIDC keeps its nonce. When the IdP
wants signed requests (`SamlIdpSettings.sign_requests`), the query is signed with the SP's current key
(rsa-sha256 over ``SAMLRequest=…&RelayState=…&SigAlg=…``, bindings §3.4.4.1, in `bindings.sign`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from deskgate.identity.saml import bindings
from deskgate.identity.saml.metadata import POST_BINDING
from deskgate.identity.saml.settings import SamlIdpSettings, ServiceProvider
from deskgate.identity.saml.xml import SAML, SAMLP, qname


@dataclass(frozen=True, slots=True)
class AuthnRedirect:
    request_id: str
    url: str


def new_id() -> str:
    # An xs:ID must not start with a digit; 160 random bits, as the SAML core spec asks of identifiers.
    return "_" + secrets.token_hex(20)


def authn_request(
    sp: ServiceProvider, idp: SamlIdpSettings, request_id: str, *, now: datetime | None = None
) -> bytes:
    issued = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    request = etree.Element(
        qname(SAMLP, "AuthnRequest"),
        nsmap={"samlp": SAMLP, "saml": SAML},
        ID=request_id,
        Version="2.0",
        IssueInstant=issued,
        Destination=idp.sso_url,
        AssertionConsumerServiceURL=sp.acs_url,
        ProtocolBinding=POST_BINDING,
    )
    etree.SubElement(request, qname(SAML, "Issuer")).text = sp.entity_id
    policy = etree.SubElement(request, qname(SAMLP, "NameIDPolicy"), AllowCreate="true")
    if idp.name_id_format:
        policy.set("Format", idp.name_id_format)
    return bytes(etree.tostring(request))


def redirect(
    sp: ServiceProvider,
    idp: SamlIdpSettings,
    relay_state: str,
    *,
    signing_key: rsa.RSAPrivateKey | None = None,
) -> AuthnRedirect:
    """The URL that sends the browser to the IdP, and the request id to remember. `signing_key` (the
    SP's current key) is required when the IdP wants signed requests, and unused otherwise."""
    request_id = new_id()
    message = authn_request(sp, idp, request_id)
    if idp.sign_requests:
        if signing_key is None:
            raise ValueError("this IdP wants signed AuthnRequests: pass the SP's current key")
        query = bindings.sign("SAMLRequest", message, key=signing_key, relay_state=relay_state)
    else:
        query = bindings.encode("SAMLRequest", message, relay_state=relay_state)
    return AuthnRedirect(request_id=request_id, url=bindings.redirect_url(idp.sso_url, query))
