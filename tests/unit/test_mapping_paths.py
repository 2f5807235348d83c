"""Claim paths as the console and config write them: fallback lists, validation, round trip."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from deskgate.identity.mapping import AttributeMapping, format_paths, parse_paths


def test_fallback_list_round_trips() -> None:
    assert parse_paths(" email , upn,address.mail ") == ("email", "upn", "address.mail")
    assert format_paths(("email", "upn")) == "email, upn"
    assert parse_paths(format_paths(("a.b", "c"))) == ("a.b", "c")


def test_empty_text_means_not_mapped_and_duplicates_are_dropped() -> None:
    assert parse_paths("  ") == ()
    assert parse_paths("email, email") == ("email",)


def test_every_bad_path_is_reported() -> None:
    with pytest.raises(ValueError, match="not a claim path") as caught:
        parse_paths("email, a..b, c.")
    problems = str(caught.value).split("; ")
    assert len(problems) == 2 and "'a..b'" in problems[0] and "'c.'" in problems[1]


@pytest.mark.parametrize("path", ["", "a..b", ".a", "a. b", "a,b", "a\nb"])
def test_mapping_model_refuses_bad_paths(path: str) -> None:
    with pytest.raises(ValidationError, match="not a claim path"):
        AttributeMapping.model_validate({"email": [path]})


def test_extra_attribute_names_and_paths_are_checked() -> None:
    assert AttributeMapping.model_validate({"extra": {"dept": ["org.dept"]}}).extra == {"dept": ("org.dept",)}
    with pytest.raises(ValidationError, match="not an attribute name"):
        AttributeMapping.model_validate({"extra": {"my dept": ["dept"]}})
    with pytest.raises(ValidationError, match="not a claim path"):
        AttributeMapping.model_validate({"extra": {"dept": ["org..dept"]}})
