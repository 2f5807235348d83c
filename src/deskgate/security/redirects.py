"""Open-redirect-proof handling of user-supplied redirect targets (``next``, post-logout URLs).

Browsers parse URLs far more leniently than :mod:`urllib.parse`: they drop tabs and newlines, treat ``\\``
as ``/`` and strip leading spaces, so ``/\\tevil.com`` and ``/\\evil.com`` both leave the site. Rather than
predict every browser, only a narrow, plainly safe shape is accepted and everything else falls back to
the caller's default:

* at most :data:`MAX_LENGTH` characters of printable ASCII without spaces (targets Deskgate generates
  are percent-encoded); no backslash anywhere;
* a relative target starts with exactly one ``/`` followed by something other than ``/`` or ``\\``;
* those checks hold again after each round of percent-decoding, so ``/%2f%2fevil.com``, ``/%5cevil.com``
  and ``/%09/evil.com`` fail even behind a component that decodes once or twice more;
* an absolute target (post-logout only) must have exactly the origin (scheme, host, port) of one of
  the allowed origins, and no user info or percent-encoding in its authority.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from urllib.parse import unquote, urlsplit

MAX_LENGTH = 2048
_DECODE_ROUNDS = 3  # deeper nesting than this is never legitimate: refused outright
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")
# Host (letters, digits, dots, dashes, or a bracketed IPv6 literal) and an optional port; no '@', no '%'.
_AUTHORITY = re.compile(r"(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_local_path(path: str) -> bool:
    """One decoding layer: a single leading slash, no backslash, no control characters."""
    if not path.startswith("/") or path[1:2] == "/" or "\\" in path:
        return False
    return not any(unicodedata.category(ch) == "Cc" for ch in path)


def safe_next(value: str | None, *, default: str = "/") -> str:
    """``value`` unchanged when it is a same-origin path such as ``/portal/1?x=1#a``, else ``default``."""
    if not isinstance(value, str) or len(value) > MAX_LENGTH or not _PRINTABLE_ASCII.fullmatch(value):
        return default
    layer = value
    for _ in range(_DECODE_ROUNDS + 1):
        if not _is_local_path(layer):
            return default
        decoded = unquote(layer)
        if decoded == layer:
            break
        layer = decoded
    else:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:  # belt and braces: cannot happen for a path checked above
        return default
    return value


def normalise_origin(value: str) -> str:
    """``scheme://host[:port]`` lowercased, default port dropped; ValueError unless ``value`` is an
    http(s) origin (a trailing ``/`` is tolerated). Settings use it to validate allowed origins."""
    origin = _origin_of(value)
    bare = urlsplit(value).path in ("", "/") and "?" not in value and "#" not in value
    if origin is None or not bare:
        raise ValueError(f"{value!r} is not an origin like 'https://portal.example.com'")
    return origin


def safe_absolute_redirect(value: str | None, *, allowed_origins: Collection[str], default: str) -> str:
    """``value`` unchanged when it is a safe relative path (see :func:`safe_next`) or an absolute URL
    whose origin is exactly one of ``allowed_origins``; otherwise ``default``.

    Entries of ``allowed_origins`` that are not origins are ignored (validate them at start-up with
    :func:`normalise_origin`).
    """
    if not isinstance(value, str):
        return default
    if value.startswith("/"):
        return safe_next(value, default=default)
    origin = _origin_of(value)
    if origin is None:
        return default
    allowed = set()
    for entry in allowed_origins:
        try:
            allowed.add(normalise_origin(entry))
        except ValueError:
            continue
    return value if origin in allowed else default


def _origin_of(url: str) -> str | None:
    """The normalised origin of an absolute http(s) URL in the narrow accepted shape, else None."""
    if len(url) > MAX_LENGTH or not _PRINTABLE_ASCII.fullmatch(url) or "\\" in url:
        return None
    if not re.match(r"https?://", url, re.IGNORECASE):  # refuses "http:evil.com" and "https:/evil.com"
        return None
    parts = urlsplit(url)
    if not _AUTHORITY.fullmatch(parts.netloc) or parts.hostname is None:
        return None
    try:
        port = parts.port
    except ValueError:  # out of range
        return None
    scheme = parts.scheme.lower()
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"
