"""Validation errors in plain words: the one translation of pydantic's messages for every form and file.

Pydantic says "Value error, …", "String should match pattern '^…$'" or "Input should be a valid
integer"; an admin reads "must be a whole number". `plain_message` turns one error into such words (our
own validators' messages pass through without pydantic's prefix), `plain_problems` a whole
`ValidationError` into "field: words" lines, the field named by its path (`mapping.email`, `idps[0].name`
is the caller's to add). Every settings model's every field is checked against it in
tests/unit/test_validation.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

# What a pattern in our models asks for, in words (a pattern nobody described reads "is not in the
# expected form").
PATTERN_WORDS: Mapping[str, str] = {
    r"^\d{1,18}$": "must be a number (digits only)",
    r"^customfield_\d+$": "must be a custom field id such as customfield_10010",
    r"^(DEBUG|INFO|WARNING|ERROR)$": "must be one of DEBUG, INFO, WARNING, ERROR",
}
# Messages by pydantic error type; {placeholders} come from the error's context.
TYPE_WORDS: Mapping[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not a known setting (check its spelling)",
    "string_type": "must be text",
    "string_too_short": "must be at least {min_length} characters long",
    "string_too_long": "must be at most {max_length} characters long",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "greater_than": "must be more than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "set_type": "must be a list",
    "dict_type": "must be a mapping of names to values",
    "model_type": "must be a mapping of names to values",
    "model_attributes_type": "must be a mapping of names to values",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "url_type": "must be a URL",
    "url_parsing": "must be a URL such as https://example.com",
    "url_scheme": "must be a URL starting with {expected_schemes}",
    "enum": "must be {expected}",
    "literal_error": "must be {expected}",
    "json_invalid": "is not valid JSON",
    "datetime_parsing": "must be a date and time such as 2026-01-31T08:00:00Z",
    "datetime_type": "must be a date and time such as 2026-01-31T08:00:00Z",
    "is_instance_of": "is not a value this setting accepts",
    "union_tag_invalid": "must be one of {expected_tags}",
}
FALLBACK = "is not a value this setting accepts"


def plain_message(error: ErrorDetails) -> str:
    """One error in words, without the field (which the caller names)."""
    kind = error["type"]
    context: dict[str, Any] = dict(error.get("ctx") or {})
    if kind in ("value_error", "assertion_error"):
        return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "string_pattern_mismatch":
        return PATTERN_WORDS.get(str(context.get("pattern")), "is not in the expected form")
    words = TYPE_WORDS.get(kind)
    if words is None:
        return FALLBACK
    context = {key: str(value).replace("'", "") for key, value in context.items()}
    try:
        return words.format(**context)
    except (KeyError, IndexError):
        return FALLBACK


def field_path(location: tuple[int | str, ...]) -> str:
    """`("idps", 0, "name")` as `idps[0].name`."""
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def plain_problems(exc: ValidationError) -> list[str]:
    """Every error of `exc` as "field: words" (the words alone for an error about the whole entry)."""
    problems = []
    for error in exc.errors():
        where = field_path(tuple(error["loc"]))
        message = plain_message(error)
        problems.append(f"{where}: {message}" if where else message[:1].upper() + message[1:])
    return problems
