"""Attribute mapping: which claims become Deskgate's internal attributes (data the admin edits).

:func:`map_claims` turns the protocol-neutral :class:`Claims` into a :class:`MappedUser`. For each
attribute the candidate paths are tried in order and the *first one whose value is present and
non-empty wins*, even when that value then proves unusable (a number where an email was expected):
later candidates are not consulted, so the result never depends on what else the IdP happened to send.
:func:`preview` shows the admin which path supplied what.

Claim values are cleaned, never trusted:

* ``email`` must be one syntactically valid ASCII address; it is stripped and lowercased and one
  trailing dot on the domain is dropped. Anything else becomes None. Internationalised addresses are
  refused on purpose: case folding and look-alike characters (KELVIN SIGN lowercases to ``k``) would
  let one address pass for another in domain filters and in JSM account matching.
* ``email_verified`` accepts a bool or the strings "true"/"false" (Cognito sends strings); else None.
* ``groups`` accepts a list of strings or a single string; other elements are dropped.
* names and organization are stripped, whitespace runs collapsed, control and bidi characters removed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from deskgate.identity.claims import Claims

ClaimPaths = tuple[str, ...]
# The attributes an admin maps, in the order the console shows them (``extra`` is free-form).
ATTRIBUTES: tuple[str, ...] = (
    "email",
    "email_verified",
    "first_name",
    "last_name",
    "display_name",
    "groups",
    "organization",
)
_EXTRA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


def check_claim_path(path: str) -> str:
    """``path`` itself when it is a claim name or a dotted path (``org.dept``); else ValueError saying why.

    Commas are refused because the console and the CLI write fallback lists as ``a, b``; parts may not
    be empty or carry surrounding spaces (``a..b``, ``a. b``), which would silently never match.
    """
    parts = path.split(".")
    if not path or "," in path or any(not part.strip() or part != part.strip() for part in parts):
        raise ValueError(f"{path!r} is not a claim path: use a claim name or a dotted path like 'org.dept'")
    if any(not ch.isprintable() for ch in path):
        raise ValueError(f"{path!r} is not a claim path: it contains control characters")
    return path


def parse_paths(text: str) -> ClaimPaths:
    """A fallback list as an admin types it (``email, upn``): the paths in order; ValueError listing
    every bad one. Empty text is an empty list: the attribute is not mapped."""
    paths = [part.strip() for part in text.split(",")]
    if paths == [""]:
        return ()
    problems: list[str] = []
    for path in paths:
        try:
            check_claim_path(path)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ValueError("; ".join(problems))
    return tuple(dict.fromkeys(paths))


def format_paths(paths: ClaimPaths) -> str:
    """The inverse of :func:`parse_paths`, for pre-filling a form."""
    return ", ".join(paths)


class AttributeMapping(BaseModel):
    """Per internal attribute, the ordered candidate claim paths (dotted for nested claims)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: ClaimPaths = ("email",)
    email_verified: ClaimPaths = ("email_verified",)
    first_name: ClaimPaths = ("given_name",)
    last_name: ClaimPaths = ("family_name",)
    display_name: ClaimPaths = ("name",)
    groups: ClaimPaths = ("groups",)
    organization: ClaimPaths = ()
    extra: dict[str, ClaimPaths] = Field(default_factory=dict)

    @field_validator(*ATTRIBUTES)
    @classmethod
    def _valid_paths(cls, value: ClaimPaths) -> ClaimPaths:
        for path in value:
            check_claim_path(path)
        return value

    @field_validator("extra")
    @classmethod
    def _valid_extra(cls, value: dict[str, ClaimPaths]) -> dict[str, ClaimPaths]:
        for name, paths in value.items():
            if not _EXTRA_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not an attribute name: use letters, digits, '_' and '-'")
            for path in paths:
                check_claim_path(path)
        return value


@dataclass(frozen=True, slots=True)
class MappedUser:
    """One person as Deskgate sees them after mapping; what filters, provisioning and sessions read."""

    subject: str
    email: str | None
    email_verified: bool | None
    first_name: str | None
    last_name: str | None
    display_name: str
    groups: tuple[str, ...]
    organization: str | None
    extra: Mapping[str, Any]


# RFC 5322 dot-atom, ASCII only: no quoted local parts, comments, whitespace, commas or angle brackets.
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# Invisible characters that reorder or hide text on screen, so a name could impersonate another.
_INVISIBLE = frozenset(
    "\u061c\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
)


def is_email_domain(domain: str) -> bool:
    """True for a lowercase ASCII hostname with at least two labels and a non-numeric last label."""
    if not domain.isascii() or len(domain) > 253:
        return False
    labels = domain.split(".")
    return len(labels) >= 2 and all(_LABEL.fullmatch(label) for label in labels) and not labels[-1].isdigit()


def normalise_email(value: object) -> str | None:
    """The address stripped and lowercased, or None unless it is exactly one valid ASCII address.

    A list holding one address counts as that address (Azure AD B2C user flows send ``emails: [...]``);
    a longer list does not: which of several addresses identifies the customer is not ours to guess.
    """
    if isinstance(value, list | tuple) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str):
        return None
    address = value.strip()
    # ASCII is checked before lowercasing: some non-ASCII characters lowercase *into* ASCII.
    if not address.isascii() or len(address) > 254 or address.count("@") != 1:
        return None
    local, _, domain = address.partition("@")
    domain = domain.lower().removesuffix(".")
    if len(local) > 64 or not _LOCAL_PART.fullmatch(local) or not is_email_domain(domain):
        return None
    return f"{local.lower()}@{domain}"


def _email_verified(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().lower())
    return None


def _clean_text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    kept = "".join(
        ch for ch in value if ch.isspace() or (unicodedata.category(ch) != "Cc" and ch not in _INVISIBLE)
    )
    return " ".join(kept.split()) or None


def _groups(value: object) -> tuple[str, ...]:
    items: list[object] | tuple[object, ...]
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, list | tuple):
        items = value
    else:
        items = []
    stripped = (item.strip() for item in items if isinstance(item, str))
    return tuple(dict.fromkeys(group for group in stripped if group))  # de-duplicated, order kept


def _is_empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | Mapping):
        return len(value) == 0
    return False


def _first_present(claims: Claims, paths: ClaimPaths) -> tuple[Any, str | None]:
    for path in paths:
        value = claims.get(path)
        if not _is_empty(value):
            return value, path
    return None, None


def _map(claims: Claims, mapping: AttributeMapping) -> tuple[MappedUser, dict[str, str | None]]:
    """The mapped user and, per attribute, the claim path that supplied it (None: none did)."""
    sources: dict[str, str | None] = {}

    def pick(attribute: str, paths: ClaimPaths) -> Any:
        value, sources[attribute] = _first_present(claims, paths)
        return value

    email = normalise_email(pick("email", mapping.email))
    first_name = _clean_text(pick("first_name", mapping.first_name))
    last_name = _clean_text(pick("last_name", mapping.last_name))
    display_name = _clean_text(pick("display_name", mapping.display_name))
    if display_name is None:
        sources["display_name"] = None
        full_name = " ".join(name for name in (first_name, last_name) if name)
        display_name = full_name or email or claims.subject
    extra: dict[str, Any] = {}
    for name, paths in mapping.extra.items():
        value = pick(f"extra.{name}", paths)
        extra[name] = value.strip() if isinstance(value, str) else value
    user = MappedUser(
        subject=claims.subject,
        email=email,
        email_verified=_email_verified(pick("email_verified", mapping.email_verified)),
        first_name=first_name,
        last_name=last_name,
        display_name=display_name,
        groups=_groups(pick("groups", mapping.groups)),
        organization=_clean_text(pick("organization", mapping.organization)),
        extra=MappingProxyType(extra),
    )
    return user, sources


def map_claims(claims: Claims, mapping: AttributeMapping) -> MappedUser:
    """Apply ``mapping`` to ``claims``; never raises on odd claim values (they map to None)."""
    return _map(claims, mapping)[0]


def preview(claims: Claims, mapping: AttributeMapping) -> dict[str, object]:
    """For the admin's test page: ``{attribute: {"value": mapped value, "source": claim path or None}}``.

    Extra attributes appear as ``"extra.<name>"``. A display name built by fallback (first and last
    name, email or subject) has source None.
    """
    user, sources = _map(claims, mapping)
    values: dict[str, object] = {
        "email": user.email,
        "email_verified": user.email_verified,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "display_name": user.display_name,
        "groups": list(user.groups),
        "organization": user.organization,
    }
    values.update({f"extra.{name}": value for name, value in user.extra.items()})
    return {name: {"value": value, "source": sources[name]} for name, value in values.items()}
