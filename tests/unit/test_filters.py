"""User filters: rule order, exact domain matching against look-alikes, claim rules, model validation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from deskgate.identity.claims import Claims
from deskgate.identity.filters import ClaimRule, FilterRules, Verdict, evaluate
from deskgate.identity.mapping import AttributeMapping, MappedUser, map_claims


def claims(**raw: Any) -> Claims:
    return Claims(idp="test", issuer="https://idp.example.com", subject="sub-1", raw=raw)


def decide(rules: FilterRules, **raw: Any) -> Verdict:
    """Map the raw claims with the default mapping, then evaluate: the path a real login takes."""
    c = claims(**raw)
    return evaluate(map_claims(c, AttributeMapping()), c, rules)


def user_with_email(email: str | None) -> MappedUser:
    """A MappedUser built directly, bypassing mapping's own email validation."""
    return MappedUser("sub-1", email, True, None, None, "x", (), None, {})


def allow(claim: str, value: str, match: str = "exact") -> ClaimRule:
    return ClaimRule.model_validate({"effect": "allow", "claim": claim, "match": match, "value": value})


def deny(claim: str, value: str, match: str = "exact") -> ClaimRule:
    return ClaimRule.model_validate({"effect": "deny", "claim": claim, "match": match, "value": value})


def test_empty_rules_allow_by_default() -> None:
    verdict = decide(FilterRules())
    assert verdict.allowed
    assert verdict.rule == "default"
    assert verdict.reason


CORP_ONLY = FilterRules(allow_domains=("corp.com",))


@pytest.mark.parametrize(
    "email",
    [
        "a@evil.com@corp.com",
        "x@corp.com.evil.com",
        "x@evilcorp.com",
        "x@sub.corp.com",  # a subdomain is not the domain
        "x@corp.co",
        "x@corp.com.au",
        "x@c\u043erp.com",  # Cyrillic o
        "x@\u212aorp.com",  # KELVIN SIGN, lowercases to "korp.com"
        "x@xn--crp-tdd.com",  # punycode of a look-alike is a different domain
        "x@corp.com..",
        "x@corp.com\r\n.evil.com",
        "corp.com",
        "",
    ],
)
def test_allow_domains_refuses_look_alikes(email: str) -> None:
    verdict = decide(CORP_ONLY, email=email)
    assert not verdict.allowed
    assert verdict.rule == "allow_domains"


@pytest.mark.parametrize("email", ["x@corp.com", "X@CORP.COM", "x@Corp.Com.", " x@corp.com "])
def test_allow_domains_matches_case_and_trailing_dot_insensitively(email: str) -> None:
    verdict = decide(CORP_ONLY, email=email)
    assert verdict == Verdict(True, "allow_domains", verdict.reason)


def test_domain_rules_are_normalised_when_loaded() -> None:
    rules = FilterRules(allow_domains=(" Corp.COM. ", "*.Sub.Corp.com"), deny_domains=("EVIL.com.",))
    assert rules.allow_domains == ("corp.com", "*.sub.corp.com")
    assert rules.deny_domains == ("evil.com",)
    assert decide(rules, email="x@corp.com").allowed


@pytest.mark.parametrize(
    "email",
    ["a@evil.com@corp.com", "x@corp.com@", "x@\u212aorp.com", "x@c\u043erp.com", "x@corp.com.evil.com"],
)
def test_domain_check_does_not_trust_mapping_to_have_validated(email: str) -> None:
    verdict = evaluate(user_with_email(email), claims(), CORP_ONLY)
    assert (verdict.allowed, verdict.rule) == (False, "allow_domains")


def test_non_ascii_domain_that_lowercases_onto_an_allowed_one_is_refused() -> None:
    # "\u212a".lower() == "k": without the ASCII check first, this would pass for korp.com.
    verdict = evaluate(user_with_email("x@\u212aorp.com"), claims(), FilterRules(allow_domains=("korp.com",)))
    assert (verdict.allowed, verdict.rule) == (False, "allow_domains")


def test_directly_built_user_with_uppercase_domain_still_matches_exactly() -> None:
    assert evaluate(user_with_email("x@CORP.com."), claims(), CORP_ONLY).allowed
    denied = evaluate(user_with_email("x@EVIL.COM"), claims(), FilterRules(deny_domains=("evil.com",)))
    assert (denied.allowed, denied.rule) == (False, "deny_domains")


@pytest.mark.parametrize(
    ("email", "allowed"),
    [
        ("x@sub.corp.com", True),
        ("x@a.b.corp.com", True),
        ("x@SUB.CORP.COM.", True),
        ("x@corp.com", False),  # the wildcard means subdomains only
        ("x@evilcorp.com", False),
        ("x@sub.evilcorp.com", False),
        ("x@corp.com.evil.com", False),
        ("x@sub.corp.com.evil.com", False),
    ],
)
def test_wildcard_matches_subdomains_only(email: str, allowed: bool) -> None:
    assert decide(FilterRules(allow_domains=("*.corp.com",)), email=email).allowed is allowed


def test_domain_and_wildcard_together_cover_both() -> None:
    rules = FilterRules(allow_domains=("corp.com", "*.corp.com"))
    assert decide(rules, email="x@corp.com").allowed
    assert decide(rules, email="x@eu.corp.com").allowed


def test_no_email_with_domain_allow_list_is_refused() -> None:
    for raw in ({}, {"email": "not-an-address"}, {"email": 5}):
        verdict = decide(CORP_ONLY, **raw)
        assert (verdict.allowed, verdict.rule) == (False, "allow_domains")


def test_no_email_with_only_deny_domains_is_allowed() -> None:
    assert decide(FilterRules(deny_domains=("evil.com",))).rule == "default"


def test_deny_domain_beats_allow_domain() -> None:
    rules = FilterRules(allow_domains=("corp.com", "*.corp.com"), deny_domains=("contractors.corp.com",))
    verdict = decide(rules, email="x@Contractors.Corp.com")
    assert (verdict.allowed, verdict.rule) == (False, "deny_domains")
    assert decide(rules, email="x@staff.corp.com").allowed


def test_deny_claim_rule_beats_allow_claim_rule_and_domains() -> None:
    rules = FilterRules(
        allow_domains=("corp.com",),
        claim_rules=(allow("groups", "staff"), deny("groups", "suspended")),
    )
    verdict = decide(rules, email="x@corp.com", groups=["staff", "suspended"])
    assert verdict == Verdict(False, "claim_rules[1]", verdict.reason)
    assert decide(rules, email="x@corp.com", groups=["staff"]).rule == "claim_rules[0]"


def test_deny_rules_run_before_require_email_verified() -> None:
    rules = FilterRules(require_email_verified=True, claim_rules=(deny("groups", "banned"),))
    assert decide(rules, email_verified=False, groups="banned").rule == "claim_rules[0]"
    assert decide(rules, email_verified=False, groups="ok").rule == "require_email_verified"


@pytest.mark.parametrize(
    ("verified", "allowed"),
    [
        (True, True),
        ("true", True),
        ("TRUE", True),
        (False, False),
        ("false", False),
        ("yes", False),
        (1, False),
    ],
)
def test_require_email_verified(verified: object, allowed: bool) -> None:
    rules = FilterRules(require_email_verified=True)
    verdict = decide(rules, email="x@corp.com", email_verified=verified)
    assert verdict.allowed is allowed
    assert verdict.rule == ("default" if allowed else "require_email_verified")


def test_require_email_verified_refuses_missing_claim() -> None:
    verdict = decide(FilterRules(require_email_verified=True), email="x@corp.com")
    assert (verdict.allowed, verdict.rule) == (False, "require_email_verified")
    assert "missing" in verdict.reason


def test_unverified_email_is_fine_when_not_required() -> None:
    assert decide(FilterRules(), email="x@corp.com", email_verified=False).allowed


def test_regex_rule_on_nested_claim_uses_fullmatch() -> None:
    rules = FilterRules(claim_rules=(allow("org.dept", "support|sales", "regex"),))
    assert decide(rules, org={"dept": "support"}).rule == "claim_rules[0]"
    assert not decide(rules, org={"dept": "support-contractors"}).allowed  # search() would match
    assert not decide(rules, org={"dept": "presales"}).allowed
    assert not decide(rules, org="support").allowed  # path does not exist


def test_exact_rule_on_list_claim_matches_any_element() -> None:
    rules = FilterRules(claim_rules=(allow("realm_access.roles", "portal-user"),))
    assert decide(rules, realm_access={"roles": ["offline", "portal-user"]}).allowed
    assert not decide(rules, realm_access={"roles": ["offline", "Portal-User"]}).allowed  # case matters
    assert not decide(rules, realm_access={"roles": []}).allowed


def test_regex_rule_on_list_claim_matches_any_element() -> None:
    rules = FilterRules(claim_rules=(deny("roles", "contractor-.*", "regex"),))
    verdict = decide(rules, roles=["staff", "contractor-eu"])
    assert (verdict.allowed, verdict.rule) == (False, "claim_rules[0]")
    assert decide(rules, roles=["staff", "ex-contractor-eu"]).allowed


def test_groups_claim_means_mapped_groups() -> None:
    # The mapping reads groups from a nested claim; the rule still says "groups".
    mapping = AttributeMapping(groups=("realm_access.roles",))
    c = claims(realm_access={"roles": ["  agents "]}, groups=["other"])
    rules = FilterRules(claim_rules=(allow("groups", "agents"),))
    assert evaluate(map_claims(c, mapping), c, rules).allowed
    assert not evaluate(map_claims(c, AttributeMapping()), c, rules).allowed


@pytest.mark.parametrize(
    ("value", "rule_value", "matches"),
    [
        (True, "true", True),
        (False, "false", True),
        (True, "True", False),
        (42, "42", True),
        (1.5, "1.5", True),
        ([1, True], "true", True),
        (None, "None", False),
        ({"a": 1}, "{'a': 1}", False),
    ],
)
def test_exact_rule_compares_scalars_by_text(value: object, rule_value: str, matches: bool) -> None:
    rules = FilterRules(claim_rules=(allow("flag", rule_value),))
    assert decide(rules, flag=value).allowed is matches


def test_allow_claim_rules_need_at_least_one_match() -> None:
    rules = FilterRules(claim_rules=(allow("groups", "a"), deny("groups", "x"), allow("groups", "b")))
    verdict = decide(rules, groups=["c"])
    assert verdict == Verdict(False, "claim_rules", verdict.reason)
    assert decide(rules, groups=["b"]).rule == "claim_rules[2]"
    assert decide(rules, groups=["a", "b"]).rule == "claim_rules[0]"


def test_allow_domains_and_allow_claim_rules_must_both_hold() -> None:
    rules = FilterRules(allow_domains=("corp.com",), claim_rules=(allow("groups", "staff"),))
    assert decide(rules, email="x@corp.com", groups="staff").rule == "claim_rules[0]"
    assert decide(rules, email="x@corp.com", groups="guests").rule == "claim_rules"
    assert decide(rules, email="x@other.com", groups="staff").rule == "allow_domains"


def test_deny_only_claim_rules_leave_default_allow() -> None:
    rules = FilterRules(claim_rules=(deny("groups", "banned"),))
    assert decide(rules, groups=["staff"]).rule == "default"


def test_invalid_regex_is_rejected_when_the_rules_are_loaded() -> None:
    with pytest.raises(ValidationError, match="invalid regular expression"):
        FilterRules.model_validate(
            {"claim_rules": [{"effect": "allow", "claim": "groups", "match": "regex", "value": "(a"}]}
        )


def test_regex_syntax_is_not_checked_for_exact_rules() -> None:
    assert allow("groups", "(a").value == "(a"
    assert decide(FilterRules(claim_rules=(allow("groups", "(a"),)), groups="(a").allowed


@pytest.mark.parametrize("claim", ["", ".", "a..b", "a.", " a", "a. b"])
def test_claim_path_must_be_well_formed(claim: str) -> None:
    with pytest.raises(ValidationError, match="not a claim path"):
        allow(claim, "x")


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("@corp.com", "without '@'"),
        ("x@corp.com", "without '@'"),
        ("https://corp.com", "without a scheme"),
        ("corp.com/", "without a scheme"),
        ("corp.com:443", "without a scheme"),
        ("corp .com", "expected a domain"),
        ("", "expected a domain"),
        ("*", "expected a domain"),
        ("*.com", "expected a domain"),  # would allow a whole TLD
        ("corp.*.com", "expected a domain"),
        ("*corp.com", "expected a domain"),
        ("corp", "expected a domain"),
        ("corp..com", "expected a domain"),
        ("c\u043erp.com", "xn--"),
        ("\u212aorp.com", "xn--"),
    ],
)
def test_invalid_domain_rules_are_rejected(domain: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FilterRules(allow_domains=(domain,))
    with pytest.raises(ValidationError, match=message):
        FilterRules(deny_domains=(domain,))


def test_every_invalid_domain_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        FilterRules(allow_domains=("@a.com", "ok.com", "https://b.com"))
    [error] = info.value.errors()
    text = error["msg"]
    assert "'@a.com'" in text
    assert "'https://b.com'" in text
    assert "'ok.com'" not in text
