"""Plain explanations of a failed sign-in, for the admin who is setting up an IdP.

`explain(check, detail)` turns the `check` a `LoginError` carries (or the `rule` of a `LoginDenied`)
into a `Diagnosis`: a short title, what most likely happened, and what to change. The check names are
the ones raised by `identity.oidc` (discovery, jwks, token, token_response, userinfo*, id_token.*), by
`login` (state, browser), by the callback (idp_error, iss, code), by the filters (deny_domains,
allow_domains, require_email_verified, claim_rules…), by provisioning (email_required) and by admin
sign-in (admin_access*). The `detail` refines a few of them: the IdP's own error code after
``idp_error``, the token endpoint's ``error=`` after ``token``. An unknown check still gets an
explanation, pointing at the error id in the log.

The explanations that follow from the check name alone are the table in `login.explanations`; this
module holds the choice among them and the ones a detail selects.
"""

from __future__ import annotations

import re

from deskgate.login.explanations import BY_CHECK, FILTER, ISSUER, UNREACHABLE, Diagnosis

__all__ = ["Diagnosis", "explain"]

# Chosen by the detail of `token` and `idp_error` (below), so not in the table of check names.
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


def explain(check: str, detail: str = "", *, error_id: str | None = None) -> Diagnosis:
    """What a failed `check` most likely means and how to fix it; `detail` refines some checks."""
    text = detail.lower()
    if check == "idp_error":
        return _idp_error(text)
    if check == "token":
        return _token(text)
    if check == "client_credentials":  # the test page's probe: a made-up code redeemed, invalid_client back
        return _WRONG_SECRET
    if check == "discovery" and "issuer mismatch" in text:
        return ISSUER
    if check.startswith("id_token.") and "missing claim" in text:
        return Diagnosis(
            "ID token lacks a required claim",
            f"The ID token has no `{check.removeprefix('id_token.')}` claim, which OpenID Connect requires.",
            "Check the IdP's application: it must issue standard OpenID Connect ID tokens.",
        )
    if re.fullmatch(r"claim_rules\[\d+\]", check):
        return FILTER
    if check.startswith("admin_access"):
        return BY_CHECK["admin_access"]
    if check.startswith("logout_token."):
        return Diagnosis(
            "Logout token rejected",
            "A back-channel logout request from the IdP failed validation, so no session was ended.",
            "Check that the IdP's back-channel logout URL and signing keys belong to this client.",
        )
    if check in BY_CHECK:
        return BY_CHECK[check]
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
        return UNREACHABLE
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
