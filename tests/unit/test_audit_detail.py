"""The audit log names the failed check (or the refusing rule) once, then says why: it read
`check=state: state: …` before, the check's name repeated from the error's own message."""

from __future__ import annotations

import pytest

from deskgate.errors import (
    DeskgateError,
    LoginDenied,
    LoginStateError,
    LogoutTokenRejected,
    ProviderUnavailable,
    TokenRejected,
    audit_detail,
)
from deskgate.identity.saml.errors import SamlRejected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            LoginStateError("state", "no pending sign-in for this state"),
            "check=state: no pending sign-in for this state",
        ),
        (TokenRejected("nonce", "the ID token's nonce differs"), "check=nonce: the ID token's nonce differs"),
        (ProviderUnavailable("token_endpoint"), "check=token_endpoint"),
        (SamlRejected("audience", "not addressed to us"), "check=audience: not addressed to us"),
        (
            LogoutTokenRejected("events", "no back-channel logout event"),
            "check=events: no back-channel logout event",
        ),
        (
            LoginDenied("email_domains", "example.org is not allowed"),
            "rule=email_domains: example.org is not allowed",
        ),
        (DeskgateError("the database is away"), "check=DeskgateError: the database is away"),
    ],
)
def test_the_check_is_named_once_then_why(error: DeskgateError, expected: str) -> None:
    assert audit_detail(error) == expected
    named = expected.split("=", 1)[1].split(":", 1)[0]
    assert f"{named}: {named}:" not in audit_detail(error)
