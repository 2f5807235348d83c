"""Plain explanations of a failed sign-in, for the admin who is setting up an IdP.

`explain(check, detail)` turns the `check` a `LoginError` carries (or the `rule` of a `LoginDenied`)
into a `Diagnosis`: a short title, what most likely happened, and what to change. The check names are
the ones raised by `identity.oidc` (discovery, jwks, token, token_response, userinfo*, id_token.*), by
`login` (state, browser), by the callback (idp_error, iss, code), by the filters (deny_domains,
allow_domains, require_email_verified, claim_rules…), by provisioning (email_required) and by admin
sign-in (admin_access*). The `detail` refines a few of them: the IdP's own error code after
``idp_error``, the token endpoint's ``error=`` after ``token``. An unknown check still gets an
explanation, pointing at the error id in the log.
"""

from __future__ import annotations

import re
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
_ISSUER = Diagnosis(
    "Issuer mismatch",
    "The issuer the IdP states is not exactly the one configured. Issuers are compared character by "
    "character: a typo, http instead of https, a missing path (realm, tenant) or a trailing slash all differ.",
    "Copy the issuer exactly as it appears in the IdP's /.well-known/openid-configuration, trailing slash "
    "included or not, into this IdP's issuer.",
)
_UNREACHABLE = Diagnosis(
    "Identity provider unreachable",
    "Deskgate could not talk to the IdP from this server: the name did not resolve (DNS), the TLS "
    "certificate was not trusted, a proxy or firewall blocked the request, or the IdP was down.",
    "From the Deskgate server, try the issuer's /.well-known/openid-configuration URL (for example with "
    "curl). Check DNS, the proxy settings (HTTPS_PROXY), and that the IdP's certificate chain is trusted.",
)
_WRONG_SECRET = Diagnosis(
    "Client secret or client authentication method rejected",
    "The IdP's token endpoint refused Deskgate's client credentials (invalid_client / unauthorized_client): "
    "the client secret is wrong or expired, the client id belongs to another application, or the IdP "
    "expects the secret another way (client_secret_basic in the Authorization header versus "
    "client_secret_post in the form body).",
    "Copy the client secret again from the IdP (a new one if it expired), check the client id, and set the "
    "client authentication method to the one the IdP's application is configured for.",
)
_REDIRECT_URI = Diagnosis(
    "Callback URL not registered at the IdP",
    "The IdP refused to send the browser back because Deskgate's callback URL is not among the redirect "
    "URIs registered for this client. Many IdPs then show their own error page and never come back at all.",
    "Register the callback URL shown on the test page at the IdP, exactly (scheme, host, port and path), "
    "and check that Deskgate's base_url is the address the browser uses.",
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
_FILTER = Diagnosis(
    "Refused by this IdP's user filters",
    "The IdP signed the user in, but one of the filters set for this IdP refused them.",
    "See the rule named in the detail. Change the filter if this user should get in, or sign in with an "
    "account that the filter allows.",
)

_FIXED: dict[str, Diagnosis] = {
    "state": _STATE,
    "browser": Diagnosis(
        "Sign-in finished in another browser",
        "The IdP sent the answer to a different browser (or private window) than the one that started the "
        "sign-in, or the browser dropped Deskgate's sign-in cookie on the way.",
        "Start and finish the test in the same browser window, and allow Deskgate's cookies.",
    ),
    "iss": _ISSUER,
    "id_token.iss": _ISSUER,
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
    "discovery": _UNREACHABLE,
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
    "deny_domains": _FILTER,
    "allow_domains": _FILTER,
    "require_email_verified": Diagnosis(
        "Email address not verified",
        "This IdP's filters require email_verified to be true, and the IdP sent false or nothing.",
        "Let the IdP release email_verified (or verify the user's address there), or turn off "
        "require_email_verified if this IdP only holds verified addresses.",
    ),
    "claim_rules": _FILTER,
    "email_required": _MISSING_EMAIL,
    "missing_email": _MISSING_EMAIL,
    "admin_access": Diagnosis(
        "Not allowed to sign in to the console",
        "The IdP signed the user in, but this IdP's admin rule does not admit them to the admin console.",
        "Check the admin access rule of this IdP (claim and value), and that the IdP releases that claim "
        "(for example the `groups` scope).",
    ),
}


def explain(check: str, detail: str = "", *, error_id: str | None = None) -> Diagnosis:
    """What a failed `check` most likely means and how to fix it; `detail` refines some checks."""
    text = detail.lower()
    if check == "idp_error":
        return _idp_error(text)
    if check == "token":
        return _token(text)
    if check == "discovery" and "issuer mismatch" in text:
        return _ISSUER
    if check.startswith("id_token.") and "missing claim" in text:
        return Diagnosis(
            "ID token lacks a required claim",
            f"The ID token has no `{check.removeprefix('id_token.')}` claim, which OpenID Connect requires.",
            "Check the IdP's application: it must issue standard OpenID Connect ID tokens.",
        )
    if re.fullmatch(r"claim_rules\[\d+\]", check):
        return _FILTER
    if check.startswith("admin_access"):
        return _FIXED["admin_access"]
    if check.startswith("logout_token."):
        return Diagnosis(
            "Logout token rejected",
            "A back-channel logout request from the IdP failed validation, so no session was ended.",
            "Check that the IdP's back-channel logout URL and signing keys belong to this client.",
        )
    if check in _FIXED:
        return _FIXED[check]
    reference = f" (error id {error_id})" if error_id else ""
    return Diagnosis(
        "Sign-in failed",
        f"The sign-in failed at the check `{check}`, for which there is no specific explanation.",
        f"Read the detail below and Deskgate's log for this error{reference}.",
    )


def _idp_error(text: str) -> Diagnosis:
    """The IdP answered ``error=<code>: <description>`` instead of a code (RFC 6749 4.1.2.1)."""
    code = text.partition(":")[0].strip()
    if "redirect_uri" in text or "redirect uri" in text or "reply url" in text:
        return _REDIRECT_URI
    if code == "access_denied":
        return Diagnosis(
            "Sign-in cancelled or not allowed at the IdP",
            "The IdP answered access_denied: the user cancelled or declined consent, or the IdP does not "
            "allow this user to use Deskgate's application (not assigned to it).",
            "Assign the user (or their group) to Deskgate's application at the IdP, then try again and "
            "accept the consent screen.",
        )
    if code in ("invalid_client", "unauthorized_client"):
        return Diagnosis(
            "Client not known or not allowed at the IdP",
            "The IdP does not know this client id, or does not allow it the authorization code flow.",
            "Check the client id, and enable the authorization code grant for the application at the IdP.",
        )
    if code == "invalid_scope":
        return Diagnosis(
            "Scope not allowed",
            "The IdP refused one of the scopes Deskgate asked for.",
            "Remove the refused scope from this IdP's scopes, or allow it for the application at the IdP.",
        )
    if code in ("login_required", "interaction_required", "consent_required", "account_selection_required"):
        return Diagnosis(
            "The IdP needs the user's interaction",
            "The IdP could not complete the sign-in without showing the user a page (sign-in or consent).",
            "Try again and complete the IdP's pages; check that consent is granted for the application.",
        )
    if code in ("server_error", "temporarily_unavailable"):
        return Diagnosis(
            "The IdP had a problem",
            "The IdP reported an internal error or that it is temporarily unavailable.",
            "Try again later, and look at the IdP's own logs.",
        )
    return Diagnosis(
        "The IdP refused the sign-in",
        "The IdP answered with an error instead of signing the user in; its own words are in the detail.",
        "Read the IdP's error in the detail and its logs; the application's settings at the IdP are the usual cause.",
    )


def _token(text: str) -> Diagnosis:
    """The token endpoint failed: unreachable, or ``HTTP <status> error='<code>'``."""
    if "unreachable" in text:
        return _UNREACHABLE
    if "invalid_client" in text or "unauthorized_client" in text or "http 401" in text:
        return _WRONG_SECRET
    if "invalid_grant" in text:
        return Diagnosis(
            "Authorization code refused",
            "The token endpoint refused the authorization code: it expired or was already used, the "
            "callback URL differs from the one the sign-in started with, or the PKCE verifier did not match.",
            "Start the test again. If it persists, check that the callback URL registered at the IdP is "
            "exactly Deskgate's, and whether the IdP supports PKCE (use_pkce).",
        )
    return Diagnosis(
        "Token request failed",
        "The IdP's token endpoint did not exchange the authorization code for tokens.",
        "Check the token endpoint URL and the IdP's logs for this client.",
    )
