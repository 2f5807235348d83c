"""Attribute mapping: candidate order, dotted paths, cleaning of hostile or odd claim values."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from deskgate.identity.claims import Claims
from deskgate.identity.mapping import AttributeMapping, MappedUser, map_claims, normalise_email, preview
from deskgate.identity.presets import get_preset


def claims(**raw: Any) -> Claims:
    return Claims(idp="test", issuer="https://idp.example.com", subject="sub-123", raw=raw)


def test_default_mapping_reads_standard_oidc_claims() -> None:
    user = map_claims(
        claims(
            email="Ann@Corp.com",
            email_verified=True,
            given_name="Ann",
            family_name="Smith",
            name="Ann Smith",
            groups=["staff"],
        ),
        AttributeMapping(),
    )
    assert user == MappedUser(
        subject="sub-123",
        email="ann@corp.com",
        email_verified=True,
        first_name="Ann",
        last_name="Smith",
        display_name="Ann Smith",
        groups=("staff",),
        organization=None,
        extra={},
    )


def test_first_present_candidate_wins_in_order() -> None:
    mapping = AttributeMapping(email=("mail", "email", "upn"))
    both = claims(mail="first@corp.com", email="second@corp.com", upn="third@corp.com")
    assert map_claims(both, mapping).email == "first@corp.com"
    # Missing, None and blank candidates are skipped.
    later = claims(mail=None, email="   ", upn="third@corp.com")
    assert map_claims(later, mapping).email == "third@corp.com"


def test_present_but_unusable_candidate_is_not_skipped() -> None:
    # Predictability: the first present value decides, even when it then maps to None.
    mapping = AttributeMapping(email=("email", "upn"))
    user = map_claims(claims(email=42, upn="x@corp.com"), mapping)
    assert user.email is None
    assert preview(claims(email=42, upn="x@corp.com"), mapping)["email"] == {"value": None, "source": "email"}


def test_dotted_paths_reach_nested_claims() -> None:
    mapping = AttributeMapping(
        email=("profile.contact.email",),
        groups=("realm_access.roles",),
        organization=("org.name",),
        extra={"department": ("org.dept",)},
    )
    raw = claims(
        profile={"contact": {"email": "x@corp.com"}},
        realm_access={"roles": ["agent", "admin"]},
        org={"name": " ACME Ltd ", "dept": " Support "},
    )
    user = map_claims(raw, mapping)
    assert user.email == "x@corp.com"
    assert user.groups == ("agent", "admin")
    assert user.organization == "ACME Ltd"
    assert user.extra == {"department": "Support"}


def test_missing_nested_step_yields_none() -> None:
    mapping = AttributeMapping(organization=("org.name",), extra={"dept": ("org.dept.code",)})
    user = map_claims(claims(org="not-a-mapping"), mapping)
    assert user.organization is None
    assert user.extra == {"dept": None}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"name": "Display Name", "given_name": "Ann", "family_name": "Smith"}, "Display Name"),
        ({"given_name": "Ann", "family_name": "Smith", "email": "a@corp.com"}, "Ann Smith"),
        ({"given_name": "Ann", "email": "a@corp.com"}, "Ann"),
        ({"family_name": "Smith"}, "Smith"),
        ({"name": "  ", "email": "A@Corp.com"}, "a@corp.com"),
        ({"email": "not an email"}, "sub-123"),
        ({}, "sub-123"),
    ],
)
def test_display_name_fallback_chain(raw: dict[str, Any], expected: str) -> None:
    assert map_claims(claims(**raw), AttributeMapping()).display_name == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("false", False),
        (" TRUE ", True),
        ("False", False),
        ("yes", None),
        ("1", None),
        (1, None),
        (0, None),
        ({"value": True}, None),
    ],
)
def test_email_verified_accepts_bools_and_boolean_strings(value: object, expected: bool | None) -> None:
    assert map_claims(claims(email_verified=value), AttributeMapping()).email_verified is expected


def test_email_verified_missing_is_none() -> None:
    assert map_claims(claims(), AttributeMapping()).email_verified is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ann@corp.com", "ann@corp.com"),
        ("  Ann.Smith+Tag@Corp.COM ", "ann.smith+tag@corp.com"),
        ("x@corp.com.", "x@corp.com"),
        ("\tx@corp.com\r\n", "x@corp.com"),  # surrounding whitespace is stripped, not refused
        ("x@sub.corp.co.uk", "x@sub.corp.co.uk"),
        ("x@xn--bcher-kva.example", "x@xn--bcher-kva.example"),
        ("o'brien@corp.com", "o'brien@corp.com"),
    ],
)
def test_valid_emails_are_normalised(value: str, expected: str) -> None:
    assert normalise_email(value) == expected
    assert map_claims(claims(email=value), AttributeMapping()).email == expected


@pytest.mark.parametrize(
    "value",
    [
        "a@evil.com@corp.com",
        "@corp.com",
        "x@",
        "x",
        "x@corp",
        "x@corp..com",
        "x@corp.com..",
        "x@.corp.com",
        "x@-corp.com",
        "x@corp-.com",
        "x@corp_x.com",
        "x@1.2.3.4",
        "x@[127.0.0.1]",
        "x @corp.com",
        "x@corp .com",
        "x@corp.com\r\nBcc: y@evil.com",
        "x\t@corp.com",
        "x@corp.com, y@corp.com",
        "x@corp.com,y@corp.com",
        "Ann <x@corp.com>",
        "<x@corp.com>",
        '"x"@corp.com',
        ".x@corp.com",
        "x.@corp.com",
        "x..y@corp.com",
        "x@c\u043erp.com",  # Cyrillic o: look-alike of corp.com
        "x@\u212aorp.com",  # KELVIN SIGN lowercases to ASCII "k"
        "\u212aim@corp.com",
        "x@corp.com\u200b",
        "x@ｃｏｒｐ.com",  # fullwidth letters, NFKC-folds to corp.com  # noqa: RUF001
        "a" * 65 + "@corp.com",
        "x@" + "a" * 64 + ".com",
    ],
)
def test_invalid_emails_become_none(value: str) -> None:
    assert normalise_email(value) is None
    assert map_claims(claims(email=value), AttributeMapping()).email is None


@pytest.mark.parametrize(
    "value",
    [
        42,
        True,
        {"email": "x@corp.com"},
        [],
        ["x@corp.com", "y@corp.com"],
        [["x@corp.com"]],
        ["not an address"],
    ],
)
def test_non_string_email_becomes_none(value: object) -> None:
    assert map_claims(claims(email=value), AttributeMapping()).email is None


def test_a_list_of_exactly_one_address_is_that_address() -> None:
    # Azure AD B2C user flows send the address as `emails: [...]`; the preset maps email from it.
    b2c = get_preset("azure-b2c").default_mapping
    assert map_claims(claims(emails=[" Ann@Corp.com "]), b2c).email == "ann@corp.com"
    assert map_claims(claims(emails=["ann@corp.com", "eve@evil.test"]), b2c).email is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["agents", "admins"], ("agents", "admins")),
        (("agents",), ("agents",)),
        ("agents", ("agents",)),
        ("  agents ", ("agents",)),
        (["a", 1, None, {"x": 1}, True, "b"], ("a", "b")),
        (["a", " a ", "b", "a"], ("a", "b")),
        (["", "  "], ()),
        ("a,b", ("a,b",)),  # a single string is one group, never split
        ({"a": True}, ()),
        (7, ()),
    ],
)
def test_groups_forms(value: object, expected: tuple[str, ...]) -> None:
    assert map_claims(claims(groups=value), AttributeMapping()).groups == expected


def test_groups_missing_is_empty() -> None:
    assert map_claims(claims(), AttributeMapping()).groups == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  Ann  ", "Ann"),
        ("Ann\r\nSet-Cookie: x", "Ann Set-Cookie: x"),
        ("An\x00n\x07", "Ann"),
        ("Ann\tMarie", "Ann Marie"),
        ("\u202eevil\u202c Ann", "evil Ann"),
        ("A\u200bnn", "Ann"),
        ("José Ñandú", "José Ñandú"),
        ("\x00\x01", None),
        (12, None),
    ],
)
def test_names_are_stripped_and_control_characters_removed(value: object, expected: str | None) -> None:
    user = map_claims(claims(given_name=value), AttributeMapping())
    assert user.first_name == expected


def test_mapped_user_is_immutable() -> None:
    user = map_claims(claims(email="x@corp.com"), AttributeMapping(extra={"dept": ("dept",)}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        user.email = "y@corp.com"  # type: ignore[misc]
    with pytest.raises(TypeError):
        user.extra["dept"] = "x"  # type: ignore[index]


def test_preview_reports_value_and_source_per_attribute() -> None:
    mapping = AttributeMapping(
        email=("mail", "email"),
        display_name=("name",),
        organization=("org",),
        extra={"dept": ("department", "dept")},
    )
    result = preview(
        claims(email="X@corp.com", email_verified="true", given_name="Ann", groups="staff", dept="IT"),
        mapping,
    )
    assert result == {
        "email": {"value": "x@corp.com", "source": "email"},
        "email_verified": {"value": True, "source": "email_verified"},
        "first_name": {"value": "Ann", "source": "given_name"},
        "last_name": {"value": None, "source": None},
        "display_name": {"value": "Ann", "source": None},  # built by fallback
        "groups": {"value": ["staff"], "source": "groups"},
        "organization": {"value": None, "source": None},
        "extra.dept": {"value": "IT", "source": "dept"},
    }


def test_preview_names_the_display_name_path_when_it_is_mapped() -> None:
    result = preview(claims(name="Ann S."), AttributeMapping())
    assert result["display_name"] == {"value": "Ann S.", "source": "name"}
