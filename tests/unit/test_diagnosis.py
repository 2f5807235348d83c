"""explain(): every check a sign-in can fail at gets a plain explanation and a fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deskgate.login.diagnosis import Diagnosis, explain

SRC = Path(__file__).resolve().parents[2] / "src" / "deskgate"
GENERIC = "Sign-in failed"

# The title the admin must see, for each (check, detail as the code writes it) that leads to it.
TITLES = {
    "Sign-in cancelled or not allowed at the IdP": [("idp_error", "access_denied: The user cancelled")],
    "Callback URL not registered at the IdP": [
        ("idp_error", "invalid_request: redirect_uri did not match any registered URI"),
        ("idp_error", "invalid_request: The reply URL specified does not match"),
    ],
    "Client not known or not allowed at the IdP": [("idp_error", "invalid_client: unknown client")],
    "Scope not allowed": [("idp_error", "invalid_scope: groups")],
    "The IdP needs the user's interaction": [("idp_error", "login_required: ")],
    "The IdP had a problem": [("idp_error", "temporarily_unavailable: ")],
    "The IdP refused the sign-in": [("idp_error", "weird_error: something")],
    "Sign-in expired or not recognised": [
        ("state", "unknown or already used state"),
        ("state", "the sign-in took longer than allowed"),
        ("state", "the callback carries no state"),
    ],
    "Sign-in finished in another browser": [("browser", "the callback arrived in another browser")],
    "Issuer mismatch": [
        ("iss", "the authorization response came from another issuer"),
        ("discovery", "issuer mismatch: configured 'https://idp.test/', document says 'https://idp.test'"),
        ("id_token.iss", "Invalid claim: iss"),
    ],
    "No authorization code": [("code", "the callback carries no authorization code")],
    "Form expired": [("csrf", "logout form without a valid CSRF token")],
    "Client secret or client authentication method rejected": [
        ("token", "token endpoint answered HTTP 401 error='invalid_client'"),
        ("token", "token endpoint answered HTTP 400 error='unauthorized_client'"),
    ],
    "Authorization code refused": [("token", "token endpoint answered HTTP 400 error='invalid_grant'")],
    "Token request failed": [("token", "token endpoint answered HTTP 500 error=None")],
    "Identity provider unreachable": [
        ("token", "token endpoint unreachable: ConnectError"),
        ("discovery", "GET https://idp.test/.well-known/openid-configuration failed: ConnectError"),
    ],
    "Token response unusable": [("token_response", "the token response carries no id_token")],
    "Userinfo request failed": [("userinfo", "userinfo answered HTTP 403")],
    "Userinfo describes someone else": [("userinfo.sub", "userinfo describes another subject")],
    "No subject in userinfo": [("userinfo.subject", "userinfo lacks the subject claim 'id'")],
    "Signing keys unavailable": [("jwks", "the JWKS could not be read")],
    "ID token is not a signed JWT": [("id_token.format", "not a signed JWT (DecodeError)")],
    "Signing algorithm not allowed": [("id_token.alg", "algorithm 'HS256' is not accepted")],
    "ID token signature not trusted": [
        ("id_token.kid", "no key in the provider's JWKS matches kid 'k2' and alg RS256"),
        ("id_token.signature", "signature verification failed (BadSignatureError)"),
    ],
    "Wrong kind of token": [("id_token.typ", "typ 'logout+jwt' is not an ID token")],
    "ID token for another application": [
        ("id_token.aud", "the token is not addressed to this client"),
        ("id_token.azp", "the authorized party is another client"),
    ],
    "Clocks out of step": [
        ("id_token.exp", "the token has expired"),
        ("id_token.iat", "The token was issued in the future"),
        ("id_token.nbf", "The token is not yet valid"),
    ],
    "Nonce mismatch": [("id_token.nonce", "Invalid claim: nonce")],
    "No subject in the ID token": [("id_token.sub", "Claim 'sub' must be a StringOrURI value")],
    "Access token does not match the ID token": [
        ("id_token.at_hash", "at_hash does not match the access token")
    ],
    "ID token lacks a required claim": [("id_token.iat", "missing claim(s) iat")],
    "Refused by this IdP's user filters": [
        ("deny_domains", "email domain evil.test is denied"),
        ("allow_domains", "email domain example.org is not in the allowed domains"),
        ("claim_rules", "none of the allow claim rules matched"),
        ("claim_rules[2]", "claim 'groups' equal to 'x' matched a deny rule"),
    ],
    "Email address not verified": [("require_email_verified", "the IdP's email_verified is false")],
    "No email address": [
        ("email_required", "your identity provider sent no email address"),
        ("missing_email", ""),
    ],
    "Not allowed to sign in to the console": [
        ("admin_access", "not allowed for admin sign-in"),
        ("admin_access.claim_rules", "none matched"),
    ],
    "Logout token rejected": [("logout_token.jti", "this logout token was already used")],
}
CASES = [(check, detail, title) for title, pairs in TITLES.items() for check, detail in pairs]


@pytest.mark.parametrize(("check", "detail", "title"), CASES)
def test_each_check_has_its_explanation(check: str, detail: str, title: str) -> None:
    diagnosis = explain(check, detail)
    assert diagnosis.title == title
    assert diagnosis.explanation and diagnosis.fix


# (check, detail, the part of the diagnosis, words it must contain): the advice names what to change.
WORDS = [
    ("id_token.iat", "The token was issued in the future", "fix", "clock_skew_seconds"),
    ("id_token.exp", "the token has expired", "fix", "NTP"),
    ("discovery", "issuer mismatch: configured 'a'", "fix", "trailing slash"),
    ("missing_email", "", "fix", "`email` scope"),
    (
        "token",
        "token endpoint answered HTTP 401 error='invalid_client'",
        "explanation",
        "client_secret_basic",
    ),
    ("token", "token endpoint answered HTTP 401 error='invalid_client'", "fix", "secret"),
    ("discovery", "GET x failed: ConnectError", "explanation", "DNS"),
    ("idp_error", "access_denied: ", "fix", "Assign"),
]


@pytest.mark.parametrize(("check", "detail", "part", "words"), WORDS)
def test_specific_fixes_name_what_to_change(check: str, detail: str, part: str, words: str) -> None:
    assert words in getattr(explain(check, detail), part)


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
