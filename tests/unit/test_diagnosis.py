"""explain(): every check a sign-in can fail at gets a plain explanation and a fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deskgate.login.diagnosis import Diagnosis, explain

SRC = Path(__file__).resolve().parents[2] / "src" / "deskgate"
GENERIC = "Sign-in failed"

# (check, detail as the code writes it, the title the admin must see)
CASES = [
    ("idp_error", "access_denied: The user cancelled", "Sign-in cancelled or not allowed at the IdP"),
    (
        "idp_error",
        "invalid_request: redirect_uri did not match any registered URI",
        "Callback URL not registered at the IdP",
    ),
    (
        "idp_error",
        "invalid_request: The reply URL specified does not match",
        "Callback URL not registered at the IdP",
    ),
    ("idp_error", "invalid_client: unknown client", "Client not known or not allowed at the IdP"),
    ("idp_error", "invalid_scope: groups", "Scope not allowed"),
    ("idp_error", "login_required: ", "The IdP needs the user's interaction"),
    ("idp_error", "temporarily_unavailable: ", "The IdP had a problem"),
    ("idp_error", "weird_error: something", "The IdP refused the sign-in"),
    ("state", "unknown or already used state", "Sign-in expired or not recognised"),
    ("state", "the sign-in took longer than allowed", "Sign-in expired or not recognised"),
    ("state", "the callback carries no state", "Sign-in expired or not recognised"),
    ("browser", "the callback arrived in another browser", "Sign-in finished in another browser"),
    ("iss", "the authorization response came from another issuer", "Issuer mismatch"),
    ("code", "the callback carries no authorization code", "No authorization code"),
    ("csrf", "logout form without a valid CSRF token", "Form expired"),
    (
        "token",
        "token endpoint answered HTTP 401 error='invalid_client'",
        "Client secret or client authentication method rejected",
    ),
    (
        "token",
        "token endpoint answered HTTP 400 error='unauthorized_client'",
        "Client secret or client authentication method rejected",
    ),
    ("token", "token endpoint answered HTTP 400 error='invalid_grant'", "Authorization code refused"),
    ("token", "token endpoint answered HTTP 500 error=None", "Token request failed"),
    ("token", "token endpoint unreachable: ConnectError", "Identity provider unreachable"),
    ("token_response", "the token response carries no id_token", "Token response unusable"),
    ("userinfo", "userinfo answered HTTP 403", "Userinfo request failed"),
    ("userinfo.sub", "userinfo describes another subject", "Userinfo describes someone else"),
    ("userinfo.subject", "userinfo lacks the subject claim 'id'", "No subject in userinfo"),
    (
        "discovery",
        "GET https://idp.test/.well-known/openid-configuration failed: ConnectError",
        "Identity provider unreachable",
    ),
    (
        "discovery",
        "issuer mismatch: configured 'https://idp.test/', document says 'https://idp.test'",
        "Issuer mismatch",
    ),
    ("jwks", "the JWKS could not be read", "Signing keys unavailable"),
    ("id_token.format", "not a signed JWT (DecodeError)", "ID token is not a signed JWT"),
    ("id_token.alg", "algorithm 'HS256' is not accepted", "Signing algorithm not allowed"),
    (
        "id_token.kid",
        "no key in the provider's JWKS matches kid 'k2' and alg RS256",
        "ID token signature not trusted",
    ),
    (
        "id_token.signature",
        "signature verification failed (BadSignatureError)",
        "ID token signature not trusted",
    ),
    ("id_token.typ", "typ 'logout+jwt' is not an ID token", "Wrong kind of token"),
    ("id_token.iss", "Invalid claim: iss", "Issuer mismatch"),
    ("id_token.aud", "the token is not addressed to this client", "ID token for another application"),
    ("id_token.azp", "the authorized party is another client", "ID token for another application"),
    ("id_token.exp", "the token has expired", "Clocks out of step"),
    ("id_token.iat", "The token was issued in the future", "Clocks out of step"),
    ("id_token.nbf", "The token is not yet valid", "Clocks out of step"),
    ("id_token.nonce", "Invalid claim: nonce", "Nonce mismatch"),
    ("id_token.sub", "Claim 'sub' must be a StringOrURI value", "No subject in the ID token"),
    (
        "id_token.at_hash",
        "at_hash does not match the access token",
        "Access token does not match the ID token",
    ),
    ("id_token.iat", "missing claim(s) iat", "ID token lacks a required claim"),
    ("deny_domains", "email domain evil.test is denied", "Refused by this IdP's user filters"),
    (
        "allow_domains",
        "email domain example.org is not in the allowed domains",
        "Refused by this IdP's user filters",
    ),
    ("claim_rules", "none of the allow claim rules matched", "Refused by this IdP's user filters"),
    (
        "claim_rules[2]",
        "claim 'groups' equal to 'x' matched a deny rule",
        "Refused by this IdP's user filters",
    ),
    ("require_email_verified", "the IdP's email_verified is false", "Email address not verified"),
    ("email_required", "your identity provider sent no email address", "No email address"),
    ("missing_email", "", "No email address"),
    ("admin_access", "not allowed for admin sign-in", "Not allowed to sign in to the console"),
    ("admin_access.claim_rules", "none matched", "Not allowed to sign in to the console"),
    ("logout_token.jti", "this logout token was already used", "Logout token rejected"),
]


@pytest.mark.parametrize(("check", "detail", "title"), CASES)
def test_each_check_has_its_explanation(check: str, detail: str, title: str) -> None:
    diagnosis = explain(check, detail)
    assert diagnosis.title == title
    assert diagnosis.explanation and diagnosis.fix


def test_specific_fixes_name_what_to_change() -> None:
    assert "clock_skew_seconds" in explain("id_token.iat", "The token was issued in the future").fix
    assert "NTP" in explain("id_token.exp", "the token has expired").fix
    assert "trailing slash" in explain("discovery", "issuer mismatch: configured 'a'").fix
    assert "`email` scope" in explain("missing_email").fix
    wrong_secret = explain("token", "token endpoint answered HTTP 401 error='invalid_client'")
    assert "client_secret_basic" in wrong_secret.explanation and "secret" in wrong_secret.fix
    assert "DNS" in explain("discovery", "GET x failed: ConnectError").explanation
    assert "assign" in explain("idp_error", "access_denied: ").fix.lower()


def test_an_unknown_check_gets_a_generic_explanation_with_the_error_id() -> None:
    diagnosis = explain("something_new", "odd", error_id="abc123def456")
    assert diagnosis.title == GENERIC
    assert "something_new" in diagnosis.explanation
    assert "abc123def456" in diagnosis.fix
    assert explain("something_new").fix.endswith("for this error.")


def test_as_dict_is_what_the_result_page_stores() -> None:
    assert Diagnosis("t", "e", "f").as_dict() == {"title": "t", "explanation": "e", "fix": "f"}


def _raised_checks() -> set[str]:
    """Every check name the sign-in code raises, read from the source so a new one cannot go unexplained."""
    names: set[str] = set()
    pattern = re.compile(
        r"\b(LoginError|IdpReturnedError|LoginStateError|ProviderUnavailable|TokenRejected)\(\s*\"([^\"]+)\""
    )
    for path in [*SRC.glob("identity/oidc/*.py"), *SRC.glob("login/*.py"), SRC / "web" / "auth.py"]:
        text = path.read_text()
        names |= {m.group(2) for m in pattern.finditer(text)}
        # `verify_signature` raises through the `reject` it is given: `_token_rejected` for ID tokens.
        names |= {"id_token." + m for m in re.findall(r"(?:_token_rejected|reject)\(\"([^\"]+)\"", text)}
    # joserfc's claim checks, named after the claim by `_run_registry`.
    names |= {f"id_token.{claim}" for claim in ("iss", "sub", "aud", "exp", "iat", "nbf", "nonce")}
    return names


def test_every_raised_check_has_a_specific_explanation() -> None:
    checks = _raised_checks()
    assert {"state", "browser", "token", "discovery", "jwks", "id_token.kid", "idp_error"} <= checks
    generic = sorted(c for c in checks if explain(c, "").title == GENERIC)
    assert generic == []
