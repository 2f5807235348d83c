"""Redirect targets: hostile values fall back to the default, safe ones pass through unchanged."""

from __future__ import annotations

import pytest

from deskgate.security.redirects import MAX_LENGTH, normalise_origin, safe_absolute_redirect, safe_next

HOSTILE = [
    "",
    "//evil.com",
    "//evil.com/",
    "///evil.com",
    "/\\evil.com",
    "\\\\evil",
    "\\/evil.com",
    "/x\\y",  # backslashes are refused anywhere
    "/%09/evil.com",
    "/%0d%0aSet-Cookie:x",
    "/%00",
    "/x%7f",
    "/x%1F",
    "https://evil.com",
    "http://evil.com/",
    "HTTPS://evil.com",
    "http:evil.com",
    "https:/evil.com",
    "//evil.com@good",
    "/%2F%2Fevil.com",
    "/%2f%2fevil.com",
    "/%2F/evil.com",
    "/%5Cevil.com",
    "/%5cevil.com",
    "/x/%5c",
    "/%252f%252fevil.com",  # decoded twice by layered proxies
    "/%25252f%25252fevil.com",
    "/%2525252f%2525252fevil.com",  # too many layers: refused whatever it decodes to
    "/\r\nSet-Cookie:x",
    "/\tx",
    "/\t/evil.com",
    "/x\ny",
    "/\x00",
    "/x\x7f",
    "/\x85x",  # C1 control
    "/x y",
    "/\u00a0/evil.com",
    "/\uff0fevil.com",  # fullwidth solidus
    "/caf\u00e9",  # non-ASCII must arrive percent-encoded
    " /x",
    "/x ",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.com",
    "portal/1",
    "?next=//evil.com",
    "#frag",
    ".//evil.com",
    "/" + "a" * MAX_LENGTH,
]

SAFE = [
    "/",
    "/portal/1?x=1#a",
    "/portal",
    "/portal/requests/ABC-12",
    "/a%2Fb",  # an encoded slash past the start is only a path character
    "/search?q=%2F%2Fevil.com",
    "/search?q=caf%C3%A9",
    "/@evil.com",  # a path segment, not user info
    "/javascript:alert(1)",  # also just a path on our own origin
    "/?next=https://evil.com",
    "/#//evil.com",
    "/x/../y",
    "/" + "a" * (MAX_LENGTH - 1),
]


@pytest.mark.parametrize("value", HOSTILE)
def test_safe_next_refuses_hostile_values(value: str) -> None:
    assert safe_next(value) == "/"
    assert safe_next(value, default="/home") == "/home"


def test_safe_next_refuses_none() -> None:
    assert safe_next(None, default="/home") == "/home"


@pytest.mark.parametrize("value", SAFE)
def test_safe_next_keeps_safe_values_unchanged(value: str) -> None:
    assert safe_next(value, default="/home") == value


ALLOWED = ["https://portal.example.com", "http://localhost:8080"]


@pytest.mark.parametrize(
    "value",
    [
        "https://portal.example.com",
        "https://portal.example.com/",
        "https://portal.example.com/bye?x=1#y",
        "HTTPS://Portal.Example.COM/bye",
        "https://portal.example.com:443/bye",  # the default port is the same origin
        "http://localhost:8080/logged-out",
        "/logged-out",
    ],
)
def test_absolute_redirect_keeps_allowed_origins(value: str) -> None:
    assert safe_absolute_redirect(value, allowed_origins=ALLOWED, default="/") == value


@pytest.mark.parametrize(
    "value",
    [
        *HOSTILE,
        "http://portal.example.com/",  # scheme matters
        "https://portal.example.com:8443/",  # port matters
        "http://localhost/",
        "http://localhost:8081/",
        "https://localhost:8080/",
        "https://portal.example.com.evil.com/",
        "https://evilportal.example.com/",
        "https://sub.portal.example.com/",
        "https://example.com/",
        "https://portal.example.com./",
        "https://portal.example.com@evil.com/",
        "https://portal.example.com:443@evil.com/",
        "https://user@portal.example.com/",  # user info is refused even for a good host
        "https://portal.example.com%2f@evil.com/",
        "https://%70ortal.example.com/",  # browsers decode host escapes; we refuse them
        "https://portal.example.com\\@evil.com/",
        "https://portal.example.com\\.evil.com/",
        "https:///portal.example.com/",
        "https:portal.example.com/",
        "https://portal.example.com:99999/",
        "https://portal.example.com:/x:y@evil",
        " https://portal.example.com/",
        "https://portal.example.com/\r\nx",
        "https://portal.example.com/\tx",
        "ftp://portal.example.com/",
        "//portal.example.com/",
        "https://portal.example.com/" + "a" * MAX_LENGTH,
    ],
)
def test_absolute_redirect_refuses_everything_else(value: str) -> None:
    assert safe_absolute_redirect(value, allowed_origins=ALLOWED, default="/bye") == "/bye"


def test_absolute_redirect_refuses_none_and_empty_allow_list() -> None:
    assert safe_absolute_redirect(None, allowed_origins=ALLOWED, default="/bye") == "/bye"
    assert safe_absolute_redirect("https://portal.example.com/", allowed_origins=(), default="/") == "/"


def test_absolute_redirect_ignores_allowed_entries_that_are_not_origins() -> None:
    bad = ["https://portal.example.com/path", "portal.example.com", "https://user@portal.example.com"]
    assert safe_absolute_redirect("https://portal.example.com/", allowed_origins=bad, default="/") == "/"


def test_absolute_redirect_allowed_origins_are_normalised() -> None:
    allowed = ["HTTPS://Portal.Example.com:443/"]
    value = "https://portal.example.com/x"
    assert safe_absolute_redirect(value, allowed_origins=allowed, default="/") == value


def test_absolute_redirect_supports_ipv6_origins() -> None:
    value = "http://[::1]:8080/x"
    assert safe_absolute_redirect(value, allowed_origins=["http://[::1]:8080"], default="/") == value
    assert safe_absolute_redirect(value, allowed_origins=["http://[::2]:8080"], default="/") == "/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://portal.example.com", "https://portal.example.com"),
        ("https://Portal.Example.com/", "https://portal.example.com"),
        ("https://portal.example.com:443", "https://portal.example.com"),
        ("http://portal.example.com:80", "http://portal.example.com"),
        ("https://portal.example.com:8443", "https://portal.example.com:8443"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_normalise_origin(value: str, expected: str) -> None:
    assert normalise_origin(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "portal.example.com",
        "https://portal.example.com/path",
        "https://portal.example.com?",
        "https://portal.example.com#",
        "https://user@portal.example.com",
        "ftp://portal.example.com",
        "https://",
        "",
    ],
)
def test_normalise_origin_rejects_non_origins(value: str) -> None:
    with pytest.raises(ValueError, match="not an origin"):
        normalise_origin(value)
