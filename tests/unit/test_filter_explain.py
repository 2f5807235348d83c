"""explain(): the same decision as evaluate(), with every rule checked on the way and its result."""

from __future__ import annotations

from typing import Any

import pytest

from deskgate.identity.claims import Claims
from deskgate.identity.filters import ClaimRule, Explanation, FilterRules, evaluate, explain
from deskgate.identity.mapping import AttributeMapping, map_claims


def _explain(rules: FilterRules, **raw: Any) -> Explanation:
    claims = Claims(idp="test", issuer="https://idp.example.com", subject="sub-1", raw=raw)
    return explain(map_claims(claims, AttributeMapping()), claims, rules)


def _rule(effect: str, claim: str, value: str, match: str = "exact") -> ClaimRule:
    return ClaimRule.model_validate({"effect": effect, "claim": claim, "match": match, "value": value})


def _results(explanation: Explanation) -> list[tuple[str, str]]:
    return [(check.rule, check.result) for check in explanation.checks]


RULES = FilterRules(
    allow_domains=("corp.com", "*.corp.com"),
    deny_domains=("contractor.corp.com",),
    require_email_verified=True,
    claim_rules=(
        _rule("allow", "groups", "staff"),
        _rule("deny", "groups", "banned"),
        _rule("allow", "groups", "eng-.*", "regex"),
    ),
)


def test_every_rule_is_listed_in_the_order_evaluate_checks_them() -> None:
    explanation = _explain(RULES, email="ann@corp.com", email_verified=True, groups=["staff", "eng-x"])
    assert explanation.verdict.allowed and explanation.verdict.rule == "claim_rules[0]"
    assert _results(explanation) == [
        ("deny_domains", "passed"),
        ("claim_rules[1]", "no match"),
        ("require_email_verified", "passed"),
        ("allow_domains", "passed"),
        ("claim_rules[0]", "matched"),
        ("claim_rules[2]", "not reached"),  # evaluate stops at the first matching allow rule
    ]
    assert "'corp.com'" in explanation.checks[3].detail


def test_a_refusal_names_the_deciding_rule_and_marks_the_rest_not_reached() -> None:
    explanation = _explain(RULES, email="bob@other.org", email_verified=True, groups=["staff"])
    verdict = explanation.verdict
    assert (verdict.allowed, verdict.rule) == (False, "allow_domains")
    assert "other.org" in verdict.reason
    assert _results(explanation)[-3:] == [
        ("allow_domains", "refused"),
        ("claim_rules[0]", "not reached"),
        ("claim_rules[2]", "not reached"),
    ]


def test_deny_domain_refusal_comes_first() -> None:
    explanation = _explain(RULES, email="x@contractor.corp.com", email_verified=True, groups=["staff"])
    assert explanation.verdict.rule == "deny_domains"
    assert _results(explanation)[0] == ("deny_domains", "refused")
    assert all(result == "not reached" for _, result in _results(explanation)[1:])
    assert len(explanation.checks) == 6  # every rule is shown, even the ones never tried


def test_no_allow_rule_matching_refuses_as_claim_rules() -> None:
    explanation = _explain(RULES, email="x@corp.com", email_verified=True, groups=["sales"])
    assert (explanation.verdict.allowed, explanation.verdict.rule) == (False, "claim_rules")
    assert _results(explanation)[-3:] == [
        ("claim_rules[0]", "no match"),
        ("claim_rules[2]", "no match"),
        ("claim_rules", "refused"),
    ]


def test_empty_rules_show_every_check_as_not_set() -> None:
    explanation = _explain(FilterRules(), email="x@corp.com")
    assert explanation.verdict.rule == "default" and explanation.verdict.allowed
    assert _results(explanation) == [
        ("deny_domains", "not set"),
        ("require_email_verified", "not set"),
        ("allow_domains", "not set"),
    ]


@pytest.mark.parametrize(
    "raw",
    [
        {"email": "ann@corp.com", "email_verified": True, "groups": ["eng-a"]},
        {"email": "ann@corp.com", "email_verified": False, "groups": ["staff"]},
        {"email": "ann@corp.com", "email_verified": True, "groups": ["staff", "banned"]},
        {"email": "ann@dev.corp.com", "email_verified": True, "groups": ["staff"]},
        {"email": "not-an-email", "email_verified": True, "groups": ["staff"]},
        {"email_verified": True},
    ],
)
def test_verdict_is_exactly_evaluates(raw: dict[str, Any]) -> None:
    claims = Claims(idp="test", issuer="https://idp.example.com", subject="sub-1", raw=raw)
    user = map_claims(claims, AttributeMapping())
    assert explain(user, claims, RULES).verdict == evaluate(user, claims, RULES)
