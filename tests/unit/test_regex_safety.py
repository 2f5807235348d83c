"""Claim-rule regexes: shapes that backtrack catastrophically are refused, ordinary ones accepted."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from deskgate.identity.filters import ClaimRule
from deskgate.identity.regex_safety import MAX_PATTERN_LENGTH, unsafe_reason


@pytest.mark.parametrize(
    "pattern",
    [
        "(a+)+",
        "(a*)*",
        r"(\w+\s?)*",
        r"^(\w+\s?)*$",
        r"(?:[a-z]+)*@corp\.com",
        "(a{1,50}){1,50}",
        r"(?=(a+)+)x",
        "((a+))+",
    ],
)
def test_nested_quantifiers_are_refused(pattern: str) -> None:
    assert "repeats a part that itself repeats" in (unsafe_reason(pattern) or "")


@pytest.mark.parametrize("pattern", ["(a|a)*", "(x|y|xz)+", "(a|.)*"])
def test_repeated_overlapping_alternatives_are_refused(pattern: str) -> None:
    assert "alternatives that can start with the same character" in (unsafe_reason(pattern) or "")


@pytest.mark.parametrize(
    "pattern",
    [
        "staff",
        "eng-.*",
        r".*@corp\.com",
        r"(?:eng|ops)-[a-z0-9]+",
        r"(\d{1,3}\.){3}\d{1,3}",  # small bounded nests are harmless
        "(foo|bar)+",  # the branches start differently
        r"(a|\w)+",  # CPython folds this into one character class
        r"[\w.]+",
    ],
)
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    assert unsafe_reason(pattern) is None


def test_length_limit() -> None:
    assert unsafe_reason("a" * MAX_PATTERN_LENGTH) is None
    assert "at most 200" in (unsafe_reason("a" * (MAX_PATTERN_LENGTH + 1)) or "")


def test_claim_rule_refuses_unsafe_regex_but_not_the_same_text_as_exact() -> None:
    data = {"effect": "allow", "claim": "groups", "match": "regex", "value": "(a+)+"}
    with pytest.raises(ValidationError, match="exponential time"):
        ClaimRule.model_validate(data)
    assert ClaimRule.model_validate({**data, "match": "exact"}).value == "(a+)+"
