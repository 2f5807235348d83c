"""Reading an uploaded configuration: whatever the bytes, a ConfigError with a clear message, never a crash.

The backup page takes files from the network, so these tests feed the importer what an attacker would:
nesting that exhausts the stack, alias bombs, impossible values, and whatever hypothesis comes up with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from deskgate.config_document import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_PROBLEMS,
    capped,
    parse_export_bytes,
    parse_export_text,
)
from deskgate.config_io import DeskEntry, check_document
from deskgate.errors import ConfigError
from deskgate.identity.provider import ProviderConfig
from deskgate.jsm import JsmConnection
from deskgate.login.page import LoginPageSettings

BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(
            f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]"
            for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)
MERGE_BOMB = "\n".join(
    [
        "a: &a {k0: 0, k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7}",
        *(
            f"{name}: &{name} {{<<: [{', '.join([f'*{previous}'] * 8)}], {name}: 1}}"
            for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_export_text(text, source="upload.yaml")
    return caught.value.problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * 5000, f"nested deeper than {MAX_DEPTH} levels (line 1, column"),
        ("{" * 5000, f"nested deeper than {MAX_DEPTH} levels"),
        ("- " * 5000 + "x", f"nested deeper than {MAX_DEPTH} levels"),
        ("a: " + "[" * 100_000 + "]" * 100_000, f"nested deeper than {MAX_DEPTH} levels"),
        (BILLION_LAUGHS, "its aliases expand it to more than 100,000 values"),
        (MERGE_BOMB, "its aliases expand it to more than 100,000 values"),
        ("a: &a [*a]", "an alias refers to a node that contains it"),
        (
            "\n".join(["a0: &a0 [x]", *(f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 100))]),
            f"its aliases nest it deeper than {MAX_DEPTH} levels",
        ),
        ("version: 2024-13-45", "month must be in 1..12"),
        ("version: " + "9" * 5000, "Exceeds the limit"),
        ("x: !!python/object/apply:os.system [id]", "could not determine a constructor"),
        ("x: !!binary 'a'", "failed to decode base64 data"),
        ("? [a]\n: 1", "found unhashable key"),
        ("a: [1", "expected ',' or ']'"),
        ("a: *nowhere", "found undefined alias"),
        ("--- {}\n--- {}", "expected a single document"),
        ("\x00", "special characters are not allowed"),
        ("", "expected a mapping with 'version' and 'idps', found nothing"),
        ("[1, 2]", "expected a mapping with 'version' and 'idps', found a list"),
        ("just text", "found a str"),
    ],
)
def test_hostile_text_gets_a_one_line_problem(text: str, expected: str) -> None:
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].startswith("upload.yaml: ")
    assert expected in problems[0]
    assert "\n" not in problems[0]


def test_too_large_or_not_utf8_bytes_are_refused_before_parsing() -> None:
    with pytest.raises(ConfigError, match="larger than 1024 KB"):
        parse_export_bytes(b"a" * (MAX_BYTES + 1), source="big.yaml")
    with pytest.raises(ConfigError, match="not a text file"):
        parse_export_bytes(b"\xff\xfe\x00", source="x.bin")


def test_aliases_that_safe_dump_writes_still_load() -> None:
    shared = {"claim": "groups", "value": "staff"}
    text = yaml.safe_dump({"version": 1, "idps": [], "a": [shared, shared]})
    assert "&id001" in text  # PyYAML's dumper anchors an object it meets twice
    assert parse_export_text(text, source="export.yaml")["a"] == [shared, shared]


def test_many_problems_are_capped_with_a_count() -> None:
    document = {"version": 1, "idps": [{"name": f"idp-{i}"} for i in range(500)]}
    with pytest.raises(ConfigError) as caught:
        check_document(document, {}, None)
    problems = caught.value.problems
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1].startswith("… and ") and problems[-1].endswith(" more problems")


def test_a_huge_key_is_quoted_only_in_part() -> None:
    assert capped(["x" * 10_000]) == ["x" * 299 + "…"]


# --- Property: any input, only ConfigError -------------------------------------------------------


def refusal(parse: Callable[[], dict[str, Any]]) -> ConfigError | None:
    """Everything an import does before it writes (parse, then check): None, or the ConfigError it raised.
    Any other exception fails the test."""
    try:
        check_document(parse(), {}, None)
    except ConfigError as exc:
        return exc
    return None


YAMLISH = st.text(alphabet="[]{}:,-&*!?<>|#'\"\\\n\t %.01abyz~", max_size=400)
LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=30,
)
KEYS = st.sampled_from(["version", "idps", "jsm", "desks", "login_page", "name", "issuer", "client_id"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600) | YAMLISH.map(str.encode) | st.text(max_size=300).map(str.encode))
@example(b"[" * 5000)
@example(BILLION_LAUGHS.encode())
@example(b"version: 2024-02-30")
def test_any_bytes_raise_only_config_error(content: bytes) -> None:
    error = refusal(lambda: parse_export_bytes(content, source="upload.yaml"))
    assert error is None or (error.problems and all(isinstance(p, str) and p for p in error.problems))


def entries(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """Mappings with the model's own field names (random names only meet the 'extra' check)."""
    return st.dictionaries(st.sampled_from(sorted(model.model_fields)), VALUES, max_size=8)


DOCUMENTS = st.dictionaries(KEYS, VALUES, max_size=5) | st.fixed_dictionaries(
    {"version": st.just(1), "idps": st.lists(entries(ProviderConfig), max_size=3)},
    optional={
        "jsm": entries(JsmConnection),
        "desks": st.lists(entries(DeskEntry), max_size=3),
        "login_page": entries(LoginPageSettings),
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENTS)
def test_any_document_shape_raises_only_config_error(document: dict[str, Any]) -> None:
    # Round-tripped through YAML so that the importer sees what a file would give it.
    text = yaml.safe_dump(document, allow_unicode=True)
    error = refusal(lambda: parse_export_text(text, source="upload.yaml"))
    assert error is None or error.problems
