"""What the customer's sign-in page does: chooser or automatic redirect, IdP per email domain, button
labels, and the portal's branding.

The settings are one JSON row in the database (`LoginPageRow`), edited by the console, the `login_page:`
section of the YAML settings and the backup import, all through `LoginPageStore`. Each process caches
them for `CACHE_SECONDS`; a change made in this process is seen at once.

Routing never picks a disabled or deleted IdP: `automatic_choice` and `idp_for_email` only look at the
enabled providers they are given, so a mapping to an IdP that is gone simply stops matching.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.errors import ConfigError
from deskgate.identity.provider import NAME_PATTERN, ProviderConfig
from deskgate.store.models import LoginPageRow
from deskgate.validation import plain_message

CACHE_SECONDS = 5.0
CLOSE_GRACE_SECONDS = 5.0  # `aclose` waits this long for a refresh in progress
_ROW_ID = 1
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})")
_COLOUR = re.compile(r"#[0-9a-f]{6}")
# The hosts a Content-Security-Policy source can name (the page's img-src names the logo's origin):
# letters, digits and hyphens between dots; no IPv6 literal, no underscore.
LOGO_HOST = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*")
_STATIC_PATH = re.compile(r"/static/[A-Za-z0-9._~-]+(?:/[A-Za-z0-9._~-]+)*")
_EMAIL = re.compile(r"[^@\s]{1,64}@([^@\s]{1,255})")

log = logging.getLogger("deskgate")


def normalize_domain(value: str) -> str:
    """``Corp.COM.`` → ``corp.com``; an internationalised name becomes its ASCII (punycode) form."""
    text = value.strip().lower().rstrip(".")
    try:
        text = text.encode("idna").decode("ascii") if not text.isascii() else text
    except UnicodeError as exc:
        raise ValueError(f"{value!r} is not a valid domain name") from exc
    if len(text) > 253 or not _DOMAIN.fullmatch(text):
        raise ValueError(f"{value!r} is not a domain name such as example.com")
    return text


def email_domain(email: str) -> str | None:
    """The domain of an address such as ``Jo@Corp.com`` (normalised), or None when it is not one."""
    found = _EMAIL.fullmatch(email.strip())
    if not found:
        return None
    try:
        return normalize_domain(found.group(1))
    except ValueError:
        return None


class Branding(BaseModel):
    """How the customer pages look. Every field may stay empty: Deskgate's own look then applies."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(None, description="Shown in the page header and title instead of 'Help center'.")
    logo_url: str | None = Field(None, description="An https:// image URL, or a path under /static/.")
    accent_color: str | None = Field(None, description="Header, button and link colour, as #rrggbb.")
    background_color: str | None = Field(None, description="Page background colour, as #rrggbb.")

    @field_validator("name")
    @classmethod
    def _short_name(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if len(value) > 80:
            raise ValueError("at most 80 characters")
        return value or None

    @field_validator("logo_url")
    @classmethod
    def _safe_logo(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        if value.startswith("/"):
            # Only our own static files: no parent directories, no other path on this site.
            if ".." in value or not _STATIC_PATH.fullmatch(value):
                raise ValueError("a local logo must be a file under /static/, such as /static/logo.png")
            return value
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname or "@" in parts.netloc:
            raise ValueError("use an https:// address (or a path under /static/)")
        if len(value) > 2048 or not value.isascii() or any(c.isspace() or c in "\"'<>\\" for c in value):
            raise ValueError("the address contains characters a URL cannot have")
        if not LOGO_HOST.fullmatch(parts.hostname):
            raise ValueError("the host name may hold only letters, digits, dots and hyphens")
        try:
            parts.port  # noqa: B018 - parsing it is the check
        except ValueError:
            raise ValueError("the port must be a number from 0 to 65535") from None
        return value

    @field_validator("accent_color", "background_color")
    @classmethod
    def _hex_colour(cls, value: str | None) -> str | None:
        value = (value or "").strip().lower()
        if not value:
            return None
        if not _COLOUR.fullmatch(value):
            raise ValueError("use the #rrggbb form, such as #0052cc")
        return value

    @property
    def version(self) -> str:
        """Changes whenever the branding does: the stylesheet's URL carries it, so caches never go stale."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]


class LoginPageSettings(BaseModel):
    """The sign-in page as the admin set it up."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["chooser", "automatic"] = Field(
        # Automatic is the default because it is what Deskgate always did with a single IdP.
        "automatic",
        description="chooser: always show the sign-in page; automatic: go straight to the only enabled "
        "IdP (or to default_idp) and show the page only when there is no single choice.",
    )
    default_idp: str | None = Field(None, description="Automatic mode: the IdP when several are enabled.")
    domains: dict[str, str] = Field(
        default_factory=dict, description="Email domain → IdP name (exact domain, any case)."
    )
    labels: dict[str, str] = Field(default_factory=dict, description="IdP name → label on its button.")
    branding: Branding = Field(default_factory=Branding)

    @field_validator("default_idp")
    @classmethod
    def _idp_name(cls, value: str | None) -> str | None:
        if value is not None and not NAME_PATTERN.fullmatch(value):
            raise ValueError(f"{value!r} is not an identity provider name")
        return value or None

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: dict[str, str]) -> dict[str, str]:
        normalized: dict[str, str] = {}
        for domain, idp in value.items():
            key = normalize_domain(domain)
            if key in normalized:
                raise ValueError(f"{key} is listed twice")
            if not NAME_PATTERN.fullmatch(idp):
                raise ValueError(f"{idp!r} is not an identity provider name")
            normalized[key] = idp
        return normalized

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        labels = {name: text.strip() for name, text in value.items() if text.strip()}
        for name, text in labels.items():
            if not NAME_PATTERN.fullmatch(name):
                raise ValueError(f"{name!r} is not an identity provider name")
            if len(text) > 80:
                raise ValueError(f"the label for {name} is longer than 80 characters")
        return labels

    def label(self, config: ProviderConfig) -> str:
        return self.labels.get(config.name) or config.title

    def automatic_choice(self, enabled: Sequence[ProviderConfig]) -> str | None:
        """Where automatic mode sends the customer without showing the page; None: show the page."""
        if self.mode != "automatic":
            return None
        names = [config.name for config in enabled]
        if self.default_idp in names:
            return self.default_idp
        return names[0] if len(names) == 1 else None

    def idp_for_email(self, email: str, enabled: Sequence[ProviderConfig]) -> str | None:
        """The enabled IdP the email's domain is mapped to, or None (unknown domain, or its IdP is off)."""
        domain = email_domain(email)
        idp = self.domains.get(domain) if domain else None
        return idp if idp in {config.name for config in enabled} else None

    def routes_by_email(self, enabled: Sequence[ProviderConfig]) -> bool:
        """Whether the email box is worth showing: some domain leads to an enabled IdP."""
        names = {config.name for config in enabled}
        return any(idp in names for idp in self.domains.values())


def parse_domain_lines(text: str, idp_names: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """``corp.com gluu`` per line (``=`` or ``:`` may separate them) → (domains, problems by line)."""
    domains: dict[str, str] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = re.split(r"\s*[=:]\s*|\s+", line.strip(), maxsplit=1)
        if len(parts) != 2 or not parts[1]:
            problems.append(f"line {number}: write the domain, then the identity provider (corp.com gluu)")
            continue
        try:
            domain = normalize_domain(parts[0])
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if domain in domains:
            problems.append(f"line {number}: {domain} is listed twice")
        elif parts[1] not in idp_names:
            problems.append(f"line {number}: there is no identity provider named {parts[1]!r}")
        else:
            domains[domain] = parts[1]
    return domains, problems


def problems_of(error: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(part) for part in item['loc']) or 'login_page'}: " + plain_message(item)
        for item in error.errors()
    ]


class LoginPageStore:
    """The settings row (id 1), cached per process; `current()` serves templates without waiting."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._sessions = sessions
        self._monotonic = monotonic
        self._cached = LoginPageSettings()
        self._loaded_at: float | None = None
        self._refreshing: asyncio.Task[None] | None = None
        # Bumped by every save: a read that began before one must not put back what it read.
        self._generation = 0

    async def _load(self) -> LoginPageSettings:
        async with self._sessions() as db:
            row = await db.get(LoginPageRow, _ROW_ID)
        return LoginPageSettings.model_validate(row.config) if row is not None else LoginPageSettings()

    def _stale(self) -> bool:
        return self._loaded_at is None or self._monotonic() - self._loaded_at >= CACHE_SECONDS

    async def get(self) -> LoginPageSettings:
        if self._stale():
            self._loaded_at = self._monotonic()
            generation = self._generation
            loaded = await self._load()
            if generation != self._generation:
                return self._cached  # saved meanwhile: that is newer than what was read
            self._cached = loaded
        return self._cached

    def current(self) -> LoginPageSettings:
        """The cached settings at once (templates render synchronously); a stale cache is refreshed in
        the background, so a change made in another worker shows within a few seconds."""
        if self._stale() and self._refreshing is None:
            with contextlib.suppress(RuntimeError):  # no running loop: nothing to refresh with
                self._refreshing = asyncio.get_running_loop().create_task(self._refresh())
        return self._cached

    async def _refresh(self) -> None:
        try:
            await self.get()
        except Exception:  # the page still renders with the last known settings
            log.exception("could not reload the login page settings")
        finally:
            self._refreshing = None

    async def save(self, settings: LoginPageSettings) -> None:
        async with self._sessions.begin() as db:
            await db.merge(
                LoginPageRow(
                    id=_ROW_ID, config=settings.model_dump(mode="json"), updated_at=datetime.now(UTC)
                )
            )
        self._cached, self._loaded_at = settings, self._monotonic()
        self._generation += 1

    async def export(self) -> dict[str, Any]:
        """The settings as plain data for a backup (nothing secret in them)."""
        return (await self._load()).model_dump(mode="json")

    async def replace(self, data: Mapping[str, Any]) -> LoginPageSettings:
        """Store what `export` produced; ConfigError lists every problem, and nothing changes then."""
        try:
            settings = LoginPageSettings.model_validate(dict(data))
        except ValidationError as exc:
            raise ConfigError([f"login_page.{p}" for p in problems_of(exc)]) from None
        await self.save(settings)
        return settings

    async def aclose(self) -> None:
        """Let a refresh in progress end (one short read) rather than cancel it half-way, which would leave
        its database connection mid-statement; a hung one is cancelled after `CLOSE_GRACE_SECONDS`."""
        refreshing = self._refreshing
        if refreshing is not None:
            await asyncio.wait({refreshing}, timeout=CLOSE_GRACE_SECONDS)
            refreshing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refreshing
