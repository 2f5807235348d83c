"""The explanation of each check a sign-in can fail at, for `diagnosis.explain`.

`BY_CHECK` maps a check name (as `LoginError` and `LoginDenied` carry it) to its `Diagnosis`. Several
checks share one: the admin fixes the same setting whichever of them failed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Diagnosis:
    title: str
    explanation: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


_CLOCK = Diagnosis(
    "Clocks out of step",
    "The ID token's time stamps do not fit Deskgate's clock: it was issued in the future or has already "
    "expired. The clock of this server or of the IdP is wrong, or the gap exceeds the allowed skew.",
    "Synchronise both servers with NTP. If a small gap remains, raise clock_skew_seconds for this IdP "
    "(at most 600).",
)
ISSUER = Diagnosis(
    "Issuer mismatch",
    "The issuer the IdP states is not exactly the one configured. Issuers are compared character by "
    "character: a typo, http instead of https, a missing path (realm, tenant) or a trailing slash all differ.",
    "Copy the issuer exactly as it appears in the IdP's /.well-known/openid-configuration, trailing slash "
    "included or not, into this IdP's issuer.",
)
UNREACHABLE = Diagnosis(
    "Identity provider unreachable",
    "Deskgate could not talk to the IdP from this server: the name did not resolve (DNS), the TLS "
    "certificate was not trusted, a proxy or firewall blocked the request, or the IdP was down.",
    "From the Deskgate server, try the issuer's /.well-known/openid-configuration URL (for example with "
    "curl). Check DNS, the proxy settings (HTTPS_PROXY), and that the IdP's certificate chain is trusted.",
)
_STATE = Diagnosis(
    "Sign-in expired or not recognised",
    "Deskgate did not recognise the sign-in the IdP returned: it took longer than the allowed time "
    "(5 minutes by default), was finished in another browser or private window, or was replayed with the "
    "back button or a reload after it had already completed.",
    "Start the test again and finish it within a few minutes in the same browser window. If it keeps "
    "happening, check that the browser accepts Deskgate's cookies and that base_url matches the address used.",
)
_MISSING_EMAIL = Diagnosis(
    "No email address",
    "The sign-in worked, but after mapping the user has no email address, and customers are found in "
    "Jira Service Management by email.",
    "Add the `email` scope to this IdP, let the IdP release the email claim to this client, and check the "
    "attribute mapping for email (some IdPs send it as `mail` or `upn`).",
)
_SIGNATURE = Diagnosis(
    "ID token signature not trusted",
    "The ID token is not signed by a key Deskgate trusts: its key id is not in the IdP's JWKS (keys "
    "rotated, or jwks_uri points at another tenant or realm), or it is signed in a way Deskgate refuses.",
    "Check the issuer and jwks_uri point at the same tenant or realm as the client. After a key rotation "
    "try again in a few minutes.",
)
FILTER = Diagnosis(
    "Refused by this IdP's user filters",
    "The IdP signed the user in, but one of the filters set for this IdP refused them.",
    "See the rule named in the detail. Change the filter if this user should get in, or sign in with an "
    "account that the filter allows.",
)

BY_CHECK: dict[str, Diagnosis] = {
    "state": _STATE,
    "browser": Diagnosis(
        "Sign-in finished in another browser",
        "The IdP sent the answer to a different browser (or private window) than the one that started the "
        "sign-in, or the browser dropped Deskgate's sign-in cookie on the way.",
        "Start and finish the test in the same browser window, and allow Deskgate's cookies.",
    ),
    "iss": ISSUER,
    "id_token.iss": ISSUER,
    "code": Diagnosis(
        "No authorization code",
        "The IdP came back without an authorization code: its application is probably set up for another "
        "flow (implicit or hybrid) or response type.",
        "Configure the IdP's application for the authorization code flow (response type `code`).",
    ),
    "csrf": Diagnosis(
        "Form expired",
        "The form was sent without a valid security token, usually because the page had been open too long.",
        "Reload the page and try again.",
    ),
    "discovery": UNREACHABLE,
    "jwks": Diagnosis(
        "Signing keys unavailable",
        "Deskgate could not read the IdP's signing keys (JWKS): the URL did not answer, answered an error, "
        "or the document was not a key set.",
        "Open the jwks_uri from the Deskgate server. Fix DNS, proxy or TLS trust if it does not answer; "
        "correct jwks_uri if the IdP publishes its keys elsewhere.",
    ),
    "token_response": Diagnosis(
        "Token response unusable",
        "The IdP's token response carried no ID token (the `openid` scope was not granted, or the "
        "application is plain OAuth 2.0) or an access token type Deskgate does not support.",
        "Make sure the IdP's application is an OpenID Connect client allowed the `openid` scope, or register "
        "the IdP with the OAuth 2.0 protocol and a userinfo endpoint.",
    ),
    "userinfo": Diagnosis(
        "Userinfo request failed",
        "The IdP's userinfo endpoint did not answer with the user's claims: the access token lacks a scope "
        "it needs, the endpoint URL is wrong, or it answered something other than JSON.",
        "Check the userinfo endpoint and the scopes the application may request.",
    ),
    "userinfo.sub": Diagnosis(
        "Userinfo describes someone else",
        "The userinfo answer names another subject than the ID token, so Deskgate cannot trust it.",
        "This is an IdP or proxy fault: check that nothing between Deskgate and the IdP caches userinfo answers.",
    ),
    "userinfo.subject": Diagnosis(
        "No subject in userinfo",
        "The userinfo answer lacks the claim configured as the subject for this OAuth 2.0 IdP.",
        "Set subject_claim to a claim the IdP's userinfo always returns (for example `id` or `sub`).",
    ),
    "id_token.exp": _CLOCK,
    "id_token.iat": _CLOCK,
    "id_token.nbf": _CLOCK,
    "id_token.kid": _SIGNATURE,
    "id_token.signature": _SIGNATURE,
    "id_token.alg": Diagnosis(
        "Signing algorithm not allowed",
        "The ID token is signed with an algorithm this IdP's configuration does not accept. Deskgate never "
        "accepts `none` or HMAC (HS256…) ID tokens, which would be keyed with the client secret.",
        "Configure the IdP's application to sign ID tokens with RS256 (or another asymmetric algorithm), "
        "or add that algorithm to id_token_signing_algs.",
    ),
    "id_token.format": Diagnosis(
        "ID token is not a signed JWT",
        "The ID token could not be read as a signed JWT; IdPs that encrypt ID tokens (JWE) send this.",
        "Turn off ID token encryption in the IdP's application.",
    ),
    "id_token.typ": Diagnosis(
        "Wrong kind of token",
        "The token in the id_token field declares another type (for example a logout token).",
        "Check the IdP's application settings; this should not happen with a standard OpenID provider.",
    ),
    "id_token.aud": Diagnosis(
        "ID token for another application",
        "The ID token is addressed to another client id, or to extra audiences Deskgate does not trust.",
        "Check that this IdP's client id is exactly the one of the IdP application Deskgate signs in with.",
    ),
    "id_token.azp": Diagnosis(
        "ID token for another application",
        "The ID token's authorized party (azp) is another client.",
        "Check that this IdP's client id is exactly the one of the IdP application Deskgate signs in with.",
    ),
    "id_token.nonce": Diagnosis(
        "Nonce mismatch",
        "The ID token does not answer this sign-in's nonce: it belongs to another sign-in (another tab, a "
        "replay), or the IdP does not echo the nonce.",
        "Start the test again in one tab. If it persists, the IdP must return the nonce it was sent.",
    ),
    "id_token.sub": Diagnosis(
        "No subject in the ID token",
        "The ID token lacks the `sub` claim that identifies the user.",
        "This is an IdP fault; check the IdP's application and claim settings.",
    ),
    "id_token.at_hash": Diagnosis(
        "Access token does not match the ID token",
        "The ID token's at_hash does not fit the access token sent with it: something altered the response.",
        "Check for proxies that rewrite the token response between Deskgate and the IdP.",
    ),
    "deny_domains": FILTER,
    "allow_domains": FILTER,
    "require_email_verified": Diagnosis(
        "Email address not verified",
        "This IdP's filters require email_verified to be true, and the IdP sent false or nothing.",
        "Let the IdP release email_verified (or verify the user's address there), or turn off "
        "require_email_verified if this IdP only holds verified addresses.",
    ),
    "claim_rules": FILTER,
    "email_required": _MISSING_EMAIL,
    "missing_email": _MISSING_EMAIL,
    "admin_access": Diagnosis(
        "Not allowed to sign in to the console",
        "The IdP signed the user in, but this IdP's admin rule does not admit them to the admin console.",
        "Check the admin access rule of this IdP (claim and value), and that the IdP releases that claim "
        "(for example the `groups` scope).",
    ),
}
