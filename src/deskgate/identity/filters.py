"""User filters: who may get in through one IdP (data the admin edits).

:func:`evaluate` decides on one login and returns a :class:`Verdict` naming the rule that decided;
:func:`explain` is the same decision with every rule checked on the way (the console's "try it").
Rules run in this order and the first refusal wins, so a deny always beats an allow:

1. ``deny_domains``: the email's domain is listed → refused (without a valid email this cannot match:
   pair it with ``allow_domains`` or ``require_email_verified`` to refuse users without one).
2. deny ``claim_rules``, in the order written: any match → refused.
3. ``require_email_verified``: ``email_verified`` must be exactly True (missing or False → refused;
   the string "true" some IdPs send was already mapped to True).
4. ``allow_domains``: when non-empty, the email's domain must be listed; no valid email → refused.
5. allow ``claim_rules``: when there are any, at least one must match.
6. otherwise allowed (rule ``"default"``): empty rules let everyone the IdP vouches for in.

Domains are compared *exactly* with the part of the mapped email after its single '@': case-insensitive,
one trailing dot ignored on both sides, never by suffix or substring, so ``x@corp.com.evil.com`` and
``x@evilcorp.com`` are not ``corp.com``. A subdomain is not the domain: ``*.corp.com`` is written to
match the subdomains of corp.com (at any depth), and only them. Domains must be ASCII (``xn--`` form for
internationalised names) so look-alike characters cannot pass for a listed domain.

Claim rules read ``claim``: ``"groups"`` means the mapped groups, anything else is a dotted path in the
raw claims. When the value is a list, the rule matches if any element does. ``exact`` compares strings
(case-sensitive; booleans as "true"/"false", numbers by ``str()``); ``regex`` uses ``re.fullmatch``.
Missing claims and objects never match. Regexes that could backtrack catastrophically (nested
quantifiers, overlapping repeated alternatives, over 200 characters) are refused when the rules are
loaded: see :mod:`deskgate.identity.regex_safety`.

``Verdict.rule`` is one of ``"deny_domains"``, ``"require_email_verified"``, ``"allow_domains"``,
``"claim_rules[i]"`` (the deciding rule, indexed in ``claim_rules`` as written), ``"claim_rules"`` (no
allow claim rule matched) or ``"default"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from deskgate.identity.claims import Claims
from deskgate.identity.mapping import MappedUser, check_claim_path, is_email_domain
from deskgate.identity.regex_safety import unsafe_reason


def _normalise_domain(value: str) -> str:
    """The rule lowercased without a trailing dot; ValueError explaining what to write instead."""
    rule = value.strip()
    hint = None
    if not rule.isascii():  # checked before lowercasing: some characters lowercase into ASCII
        hint = "write internationalised domains in their ASCII 'xn--' form"
    elif "@" in rule:
        hint = "write the domain without '@' or a user name"
    elif "/" in rule or ":" in rule:
        hint = "write the domain only, without a scheme, port or path"
    else:
        rule = rule.lower().removesuffix(".")
        if not is_email_domain(rule.removeprefix("*.")):
            hint = "expected a domain such as 'corp.com', or '*.corp.com' for its subdomains"
    if hint is not None:
        raise ValueError(f"{value!r} is not a valid domain: {hint}")
    return rule


class ClaimRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    effect: Literal["allow", "deny"]
    claim: str  # "groups" (the mapped groups) or any dotted claim path
    match: Literal["exact", "regex"] = "exact"
    value: str

    @field_validator("claim")
    @classmethod
    def _claim_is_path(cls, value: str) -> str:
        return check_claim_path(value)

    @model_validator(mode="after")
    def _regex_is_safe(self) -> ClaimRule:
        # Admin regexes run on what users' IdPs send: refuse the shapes that backtrack for ever.
        if self.match == "regex" and (problem := unsafe_reason(self.value)) is not None:
            raise ValueError(f"invalid regular expression {self.value!r}: {problem}")
        return self


class FilterRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    allow_domains: tuple[str, ...] = ()
    deny_domains: tuple[str, ...] = ()
    require_email_verified: bool = False
    claim_rules: tuple[ClaimRule, ...] = ()

    @field_validator("allow_domains", "deny_domains")
    @classmethod
    def _valid_domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # Every bad entry is reported at once so the admin fixes the list in one go.
        normalised: list[str] = []
        problems: list[str] = []
        for entry in value:
            try:
                normalised.append(_normalise_domain(entry))
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError("; ".join(problems))
        return tuple(normalised)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of :func:`evaluate`: ``rule`` is machine-readable, ``reason`` is for the audit log."""

    allowed: bool
    rule: str
    reason: str


CheckResult = Literal["refused", "passed", "matched", "no match", "not set", "not reached"]


@dataclass(frozen=True, slots=True)
class Check:
    """One rule as :func:`explain` saw it: ``rule`` uses the names of ``Verdict.rule``."""

    rule: str
    result: CheckResult
    detail: str


@dataclass(frozen=True, slots=True)
class Explanation:
    """The verdict and every rule in the order checked; rules after a refusal are "not reached"."""

    verdict: Verdict
    checks: tuple[Check, ...]


def evaluate(user: MappedUser, claims: Claims, rules: FilterRules) -> Verdict:
    """Decide whether ``user`` may sign in; the order of checks is described in the module docstring."""
    return explain(user, claims, rules).verdict


def explain(user: MappedUser, claims: Claims, rules: FilterRules) -> Explanation:
    """:func:`evaluate` with its working shown, for the admin's "try it" box.

    This *is* the decision logins use (``evaluate`` returns its verdict), so what the admin is shown
    cannot drift from what happens. It stops where ``evaluate`` stops: nothing after the deciding
    refusal runs, and only the first matching allow claim rule is tried.
    """
    checks: list[Check] = []
    domain = _email_domain(user.email)
    indexed = list(enumerate(rules.claim_rules))
    deny_rules = [(f"claim_rules[{i}]", rule) for i, rule in indexed if rule.effect == "deny"]
    allow_rules = [(f"claim_rules[{i}]", rule) for i, rule in indexed if rule.effect == "allow"]
    pending = ["deny_domains", *(n for n, _ in deny_rules), "require_email_verified", "allow_domains"]
    pending += [n for n, _ in allow_rules]

    def refuse(rule: str, reason: str, *, check: str | None = None) -> Explanation:
        checks.append(Check(check or rule, "refused", reason))
        done = {c.rule for c in checks}
        checks.extend(Check(name, "not reached", "") for name in pending if name not in done)
        return Explanation(Verdict(False, rule, reason), tuple(checks))

    if not rules.deny_domains:
        checks.append(Check("deny_domains", "not set", "no denied domains"))
    elif domain is None:
        checks.append(Check("deny_domains", "passed", "no valid email address, so no domain to deny"))
    elif listed := _listed(domain, rules.deny_domains):
        return refuse("deny_domains", f"email domain {domain} is denied by {listed!r}")
    else:
        checks.append(Check("deny_domains", "passed", f"email domain {domain} is not denied"))
    for name, rule in deny_rules:
        if _rule_matches(rule, user, claims):
            return refuse(name, f"{_describe(rule)} matched a deny rule")
        checks.append(Check(name, "no match", f"deny rule: {_describe(rule)} did not match"))
    if not rules.require_email_verified:
        checks.append(Check("require_email_verified", "not set", "a verified email is not required"))
    elif user.email_verified is not True:
        state = "missing" if user.email_verified is None else "false"
        return refuse("require_email_verified", f"the IdP's email_verified is {state}")
    else:
        checks.append(Check("require_email_verified", "passed", "the IdP's email_verified is true"))

    decided_by = "default"
    if not rules.allow_domains:
        checks.append(Check("allow_domains", "not set", "no allowed domains: any domain may sign in"))
    elif domain is None:
        return refuse("allow_domains", "no valid email address to check against allowed domains")
    elif listed := _listed(domain, rules.allow_domains):
        checks.append(Check("allow_domains", "passed", f"email domain {domain} is allowed by {listed!r}"))
        decided_by = "allow_domains"
    else:
        return refuse("allow_domains", f"email domain {domain} is not in the allowed domains")
    if allow_rules:
        matched = None
        for name, rule in allow_rules:
            if matched is not None:
                checks.append(Check(name, "not reached", ""))
            elif _rule_matches(rule, user, claims):
                checks.append(Check(name, "matched", f"allow rule: {_describe(rule)} matched"))
                matched = name
            else:
                checks.append(Check(name, "no match", f"allow rule: {_describe(rule)} did not match"))
        if matched is None:
            return refuse("claim_rules", "none of the allow claim rules matched", check="claim_rules")
        decided_by = matched
    reason = "no rule refused the user" if decided_by == "default" else f"allowed by {decided_by}"
    return Explanation(Verdict(True, decided_by, reason), tuple(checks))


def _email_domain(email: str | None) -> str | None:
    """The normalised domain of an address with exactly one '@', else None (defence in depth:
    mapping already refuses such addresses, but a MappedUser can be built by other code)."""
    if email is None or email.count("@") != 1:
        return None
    domain = email.partition("@")[2]
    if not domain.isascii():
        return None
    domain = domain.lower().removesuffix(".")
    return domain if is_email_domain(domain) else None


def _listed(domain: str, entries: Iterable[str]) -> str | None:
    """The first entry matching ``domain`` exactly (or as a ``*.`` subdomain rule), else None."""
    for entry in entries:
        if entry.startswith("*."):
            if domain.endswith(entry[1:]):  # ".corp.com": a label boundary, never corp.com itself
                return entry
        elif domain == entry:
            return entry
    return None


def _as_text(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _rule_matches(rule: ClaimRule, user: MappedUser, claims: Claims) -> bool:
    value = user.groups if rule.claim == "groups" else claims.get(rule.claim)
    for item in value if isinstance(value, list | tuple) else (value,):
        text = _as_text(item)
        if text is None:
            continue
        if rule.match == "regex" and re.fullmatch(rule.value, text) is not None:
            return True
        if rule.match == "exact" and text == rule.value:
            return True
    return False


def _describe(rule: ClaimRule) -> str:
    operator = "matching" if rule.match == "regex" else "equal to"
    return f"claim {rule.claim!r} {operator} {rule.value!r}"
