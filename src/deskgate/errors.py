"""Deskgate's exception tree. Every failure a person can meet ends on one error page with an error id.

    DeskgateError                 base: a user-facing message, an HTTP status, operator detail for the log
    ├── ConfigError               settings or config file invalid; carries every problem at once
    ├── LoginError                a sign-in could not complete (`check` names the failed check)
    │   ├── IdpReturnedError      the IdP answered the callback with ?error=
    │   ├── LoginStateError       state missing, unknown, expired, already used, or from another browser
    │   ├── ProviderUnavailable   discovery, JWKS, token or userinfo endpoint unreachable or malformed
    │   ├── TokenRejected         an ID token, token response or userinfo failed validation
    │   └── SamlRejected          (identity.saml.errors) a SAML response or metadata failed a check
    ├── LoginDenied               the user signed in at the IdP but a filter refused them (`rule`)
    │   ├── NoEmailAddress        (portal.provisioning) the IdP sent no email to find the JSM customer by
    │   └── AdminAccessDenied     (login.admin_access) the IdP's admin rule does not admit this user
    ├── LogoutTokenRejected       a back-channel logout token failed validation (`check`)
    ├── NotFound                  unknown IdP, record or page — also any request this customer may not see
    ├── JsmError                  (jsm.errors) JSM refused or failed; its own tree is in that module
    ├── JsmNotConnected           (portal.connection) no JSM connection is configured
    ├── RateLimited               (portal.ratelimit) one customer over a request, comment or file limit (429)
    ├── SignInRequired            (web.portal.common) a portal route without a session (redirect / 401)
    ├── CsrfRefused               (web.portal.common) a portal form without a valid CSRF token (403)
    ├── AttachmentTooLarge        (portal.outbox) a file over the size limit (413)
    ├── SchemaIncompatible        (store.compat) the database's schema is newer than this version runs on
    └── BodyTooLarge              (web.body_limits) a request body over its route's limit (413)

Modules outside this one define the subclasses named with their module, next to the code that raises them.

The web layer's error boundary renders these; anything else becomes a 500 with the same error id shape.
"""

from __future__ import annotations

import secrets


def new_error_id() -> str:
    """Short, unguessable, easy to read out over the phone."""
    return secrets.token_hex(6)


class DeskgateError(Exception):
    status_code = 500
    user_message = "Something went wrong."

    def __init__(self, detail: str = "", *, user_message: str | None = None) -> None:
        super().__init__(detail or self.user_message)
        self.detail = detail
        if user_message is not None:
            self.user_message = user_message


class ConfigError(DeskgateError):
    user_message = "The configuration is invalid."

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class LoginError(DeskgateError):
    status_code = 400
    user_message = "We could not sign you in. Please try again."

    def __init__(self, check: str, detail: str = "", *, user_message: str | None = None) -> None:
        super().__init__(f"{check}: {detail}" if detail else check, user_message=user_message)
        self.check = check
        self.reason = detail


class IdpReturnedError(LoginError):
    user_message = "Your identity provider did not complete the sign-in."


class LoginStateError(LoginError):
    user_message = "This sign-in link has expired or was already used. Please start again."


class ProviderUnavailable(LoginError):
    status_code = 502
    user_message = "Your identity provider could not be reached. Please try again in a moment."


class TokenRejected(LoginError):
    user_message = "The answer from your identity provider failed a security check."


class LoginDenied(DeskgateError):
    status_code = 403
    user_message = "Your account is not allowed to use this portal."
    # The IdP whose account was refused, set by the callback: the refusal page offers to sign out there.
    idp: str | None = None

    def __init__(
        self, rule: str, reason: str, *, email: str | None = None, subject: str | None = None
    ) -> None:
        super().__init__(f"{rule}: {reason}")
        self.rule = rule
        self.reason = reason
        self.email = email
        self.subject = subject


class LogoutTokenRejected(DeskgateError):
    status_code = 400
    user_message = "Invalid logout token."

    def __init__(self, check: str, detail: str = "") -> None:
        super().__init__(f"{check}: {detail}" if detail else check)
        self.check = check
        self.reason = detail


def audit_detail(exc: DeskgateError) -> str:
    """What the audit log says of a refused or failed sign-in or logout, each name once: `rule=…: why`
    for a filter's refusal, `check=…: why` for a check that failed (`detail` repeats the check's name)."""
    if isinstance(exc, LoginDenied):
        return f"rule={exc.rule}: {exc.reason}"
    check = getattr(exc, "check", None) or type(exc).__name__
    reason = getattr(exc, "reason", exc.detail)
    return f"check={check}: {reason}" if reason else f"check={check}"


class NotFound(DeskgateError):
    status_code = 404
    user_message = "Not found."
