"""The one SAML refusal: `SamlRejected`, a `LoginError` whose `check` names the rule that failed."""

from __future__ import annotations

from deskgate.errors import LoginError


class SamlRejected(LoginError):
    """A SAML message failed a check (signature, audience, time, replay, XML safety…).

    ``check`` is a short stable word for the audit log and tests; ``detail`` is for the operator only.
    """

    user_message = "Your identity provider's answer could not be accepted. Please try again."
