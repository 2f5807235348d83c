"""Clean and check what an admin typed into a preset's form, one kind of input at a time.

Every function takes the raw text and returns the normalised value or raises ``ValueError`` whose
message completes the sentence "<field label> ...", so the form can show it next to the field.
Values end up inside URL templates, so anything that could change the URL's structure (a path, a
query, credentials, whitespace) is refused rather than escaped: a silently mangled issuer is harder to
debug than a clear error at save time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

InputKind = Literal["text", "segment", "guid", "domain", "url", "base_url", "scopes"]

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PORT = re.compile(r"[0-9]{1,5}")
# Characters that would end or restructure a URL path segment or host name.
_SEGMENT_FORBIDDEN = frozenset("/?#@%&=+:;\\\"'<>{}[]|^`")
# Plain http is fine for an IdP on the admin's own machine (tests, demos), never across a network.
_LOOPBACK = frozenset({"localhost", "127.0.0.1"})


def _reject_whitespace(value: str) -> None:
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain spaces")


def clean_text(raw: str) -> str:
    """A single word such as a client id: surrounding whitespace dropped, none allowed inside."""
    value = raw.strip()
    _reject_whitespace(value)
    return value


def clean_segment(raw: str) -> str:
    """A value placed inside a URL path or host name (realm, tenant, region, pool id, subdomain)."""
    value = clean_text(raw)
    bad = sorted({ch for ch in value if ch in _SEGMENT_FORBIDDEN})
    if bad:
        raise ValueError(f"must not contain {' '.join(bad)}")
    return value


def clean_guid(raw: str) -> str:
    """A GUID such as a Microsoft tenant id, lowercased because issuers spell it in lowercase."""
    value = clean_text(raw).lower()
    if not _GUID.fullmatch(value):
        raise ValueError("must be a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47")
    return value


def _host_port(authority: str) -> str:
    """Validated, lowercased ``host[:port]``."""
    if "@" in authority:
        raise ValueError("must not contain a user name or password (user@host)")
    host, sep, port = authority.rpartition(":") if ":" in authority else (authority, "", "")
    host = host.lower().removesuffix(".")
    if not _HOST.fullmatch(host) or len(host) > 253:
        raise ValueError("must be a host name such as idp.example.com")
    if sep:
        if not _PORT.fullmatch(port) or not 0 < int(port) < 65536:
            raise ValueError("has an invalid port number")
        return f"{host}:{port}"
    return host


def _split(raw: str, *, default_scheme: bool) -> tuple[str, str, str]:
    """``(scheme, authority, path)`` of a URL or bare host; query, fragment and whitespace refused."""
    value = raw.strip()
    _reject_whitespace(value)
    if "?" in value or "#" in value:
        raise ValueError("must not contain a query (?) or fragment (#)")
    scheme, sep, rest = value.partition("://")
    if not sep:
        if not default_scheme:
            raise ValueError("must be a full URL starting with https://")
        scheme, rest = "https", value
    scheme = scheme.lower()
    authority, slash, path = rest.partition("/")
    if not authority:
        raise ValueError("must name a host")
    if scheme not in ("https", "http"):
        raise ValueError("must start with https://")
    if scheme == "http" and authority.lower().rsplit(":", 1)[0] not in _LOOPBACK:
        raise ValueError("must use https:// (plain http is only accepted for localhost)")
    return scheme, authority, slash + path


def clean_domain(raw: str) -> str:
    """A host name with optional port; ``https://idp.example.com/`` becomes ``idp.example.com``.

    Templates put this after ``https://``, so a scheme other than https, a path, a query or
    credentials are refused instead of being dropped.
    """
    scheme, authority, path = _split(raw, default_scheme=True)
    if scheme != "https":
        raise ValueError("must use https://")
    if path not in ("", "/"):
        raise ValueError("must be only the host name, without a path")
    return _host_port(authority)


def clean_url(raw: str) -> str:
    """An absolute http(s) URL kept exactly as typed (an issuer is compared character for character)."""
    scheme, authority, path = _split(raw, default_scheme=False)
    return f"{scheme}://{_host_port(authority)}{path}"


def clean_base_url(raw: str) -> str:
    """A server's base URL, possibly with a path (``sso.example.com/auth``), without trailing slash."""
    scheme, authority, path = _split(raw, default_scheme=True)
    if "//" in path:
        raise ValueError("has an empty path segment (//)")
    return f"{scheme}://{_host_port(authority)}{path.rstrip('/')}"


def clean_scopes(raw: str) -> str:
    """Scopes separated by spaces or commas, de-duplicated in order, joined by single spaces."""
    scopes = dict.fromkeys(raw.replace(",", " ").split())
    # RFC 6749 section 3.3: a scope token is printable ASCII without space, double quote or backslash.
    bad = [
        scope
        for scope in scopes
        if not scope.isascii() or not scope.isprintable() or set(scope) & {'"', "\\"}
    ]
    if bad:
        raise ValueError(f"contains invalid scopes: {' '.join(bad)}")
    return " ".join(scopes)


CLEANERS: dict[InputKind, Callable[[str], str]] = {
    "text": clean_text,
    "segment": clean_segment,
    "guid": clean_guid,
    "domain": clean_domain,
    "url": clean_url,
    "base_url": clean_base_url,
    "scopes": clean_scopes,
}
