"""Admin sign-in through an IdP: who the IdP vouched for becomes an admin only if the IdP's admin rule says so.

An IdP opens the console only when its configuration carries `admin_access` (see `ProviderConfig`). The
ID token has been validated like any sign-in's; here the claims are mapped and the admin rule alone
decides — the customer filters of the same IdP are not consulted, because they answer a different
question (who may use the portal). A refusal raises `AdminAccessDenied` naming the rule, which the audit
log records.
"""

from __future__ import annotations

import hashlib

from deskgate.errors import LoginDenied
from deskgate.identity.claims import Claims
from deskgate.identity.filters import ClaimRule, FilterRules, evaluate
from deskgate.identity.mapping import MappedUser, map_claims
from deskgate.identity.provider import ProviderConfig

SUBJECT_LENGTH = 64  # the admin session table keeps user names of at most this length


class AdminAccessDenied(LoginDenied):
    """The IdP vouched for someone whom the IdP's admin rule does not admit to the console."""

    user_message = "This account may not sign in to the admin console."


def describe(rule: ClaimRule) -> str:
    """One rule in words, as the audit log and the console show it."""
    operator = "matches" if rule.match == "regex" else "equals"
    return f"{rule.effect}: claim {rule.claim!r} {operator} {rule.value!r}"


def admit(config: ProviderConfig, claims: Claims) -> MappedUser:
    """The mapped user when the admin rule admits them; `AdminAccessDenied` naming the rule otherwise."""
    user = map_claims(claims, config.mapping)
    access = config.admin_access
    if access is None or not config.live:
        raise AdminAccessDenied(
            "admin_access",
            f"identity provider {config.name!r} is not allowed for admin sign-in",
            email=user.email,
            subject=claims.subject,
        )
    verdict = evaluate(user, claims, FilterRules(claim_rules=access.claim_rules))
    if not verdict.allowed:
        rules = "; ".join(describe(rule) for rule in access.claim_rules)
        raise AdminAccessDenied(
            f"admin_access.{verdict.rule}",
            f"{verdict.reason} (admin rules: {rules})",
            email=user.email,
            subject=claims.subject,
        )
    return user


def admin_subject(config: ProviderConfig, user: MappedUser, claims: Claims) -> str:
    """`<idp>:<email or sub>`: who the admin is in the audit log and the sessions list.

    A longer name than the session table holds keeps its start and ends in a digest of the whole, so two
    different admins never share a subject.
    """
    subject = f"{config.name}:{user.email or claims.subject}"
    if len(subject) <= SUBJECT_LENGTH:
        return subject
    digest = hashlib.sha256(subject.encode()).hexdigest()[:16]
    return f"{subject[: SUBJECT_LENGTH - 17]}~{digest}"
