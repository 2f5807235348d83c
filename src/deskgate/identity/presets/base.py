"""The declarative base every IdP preset is built on.

A preset is data, in the manner of python-social-auth backends: endpoint *templates*, default scopes,
client authentication method, subject claim, default attribute mapping and step-by-step help for the
IdP's admin console. It has no flow logic; the OIDC and OAuth 2.0 adapters read the
:class:`~deskgate.identity.provider.ProviderConfig` that :meth:`Preset.build` produces and never
learn which preset made it.

Templates use ``{field}`` placeholders filled with the cleaned form values. A template may also be a
tuple of alternatives: the first whose placeholders all have non-empty values wins, and a template
none of whose alternatives can be filled yields None (how optional fields switch an endpoint on).
"""

# ruff: noqa: S105  # "token" here names endpoints and auth methods, never a secret value

from __future__ import annotations

import inspect
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from pydantic import SecretStr, ValidationError

from deskgate.identity.mapping import AttributeMapping
from deskgate.identity.presets.inputs import CLEANERS, InputKind
from deskgate.identity.presets.logout_help import BACKCHANNEL_URL_HINT, FRONTCHANNEL_HELP, HELP_PLACEHOLDERS
from deskgate.identity.provider import NAME_PATTERN, ClientAuthMethod, FrontChannelLogout, ProviderConfig
from deskgate.identity.provider import Protocol as ProviderProtocol
from deskgate.validation import plain_message

Template = str | tuple[str, ...]

# Key for problems that belong to no single form field (ProviderConfig's cross-field checks).
GENERAL_ERROR = "config"
ENDPOINTS = (
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
)


@dataclass(frozen=True, slots=True)
class PresetField:
    """One input on a preset's form; ``kind`` chooses how the value is cleaned (see ``inputs``)."""

    name: str
    label: str
    help: str
    required: bool = True
    secret: bool = False
    default: str = ""
    placeholder: str = ""
    kind: InputKind = "text"
    pattern: str = ""  # optional regular expression the cleaned value must match in full
    pattern_hint: str = ""  # what the pattern wants, completing "<label> must be ..."


def domain_field(label: str, help_text: str, placeholder: str, default: str = "") -> PresetField:
    """The usual ``domain`` input: a host name (with optional port) that templates put after https://."""
    return PresetField("domain", label, help_text, default=default, placeholder=placeholder, kind="domain")


class PresetInputError(ValueError):
    """The form values cannot make a provider; ``errors`` maps each field name to every problem at once."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors: dict[str, str] = dict(errors)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.errors.items()))


def placeholders(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name is not None)


def alternatives(template: Template | None) -> tuple[str, ...]:
    """A template's alternatives in order of preference (none for an absent template)."""
    if template is None:
        return ()
    return (template,) if isinstance(template, str) else template


def fill(template: Template | None, values: Mapping[str, str]) -> str | None:
    """The first alternative whose placeholders all have values, filled in; None when none has."""
    for candidate in alternatives(template):
        if all(values.get(name) for name in placeholders(candidate)):
            return candidate.format_map(values)
    return None


class Preset:
    """Base of every preset. Subclasses set class attributes only; the behaviour lives here."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    setup_help: ClassVar[str]  # numbered steps; may use the HELP_PLACEHOLDERS

    protocol: ClassVar[ProviderProtocol] = "oidc"
    fields: ClassVar[tuple[PresetField, ...]] = ()
    issuer: ClassVar[Template | None] = None
    discovery: ClassVar[bool] = True
    # Used when discovery is off; with discovery on they override what the discovery document says.
    authorization_endpoint: ClassVar[Template | None] = None
    token_endpoint: ClassVar[Template | None] = None
    userinfo_endpoint: ClassVar[Template | None] = None
    jwks_uri: ClassVar[Template | None] = None
    end_session_endpoint: ClassVar[Template | None] = None
    default_scopes: ClassVar[tuple[str, ...]] = ("openid", "email", "profile")
    token_endpoint_auth_method: ClassVar[ClientAuthMethod] = "client_secret_basic"
    use_pkce: ClassVar[bool] = True
    subject_claim: ClassVar[str] = "sub"  # a template too, so a generic preset can ask for it
    default_mapping: ClassVar[AttributeMapping] = AttributeMapping()
    extra_authorize_params: ClassVar[Mapping[str, str]] = MappingProxyType({})  # values are templates
    # What the IdP's front-channel logout requests carry (FRONTCHANNEL_HELP says what each value ends);
    # the default for every IdP made with this preset that does not set its own.
    frontchannel_logout: ClassVar[FrontChannelLogout] = "discover"
    # What the vendor's console calls the client credentials, so the form uses the same words.
    client_id_label: ClassVar[str] = "Client ID"
    client_secret_label: ClassVar[str] = "Client secret"
    # The Deskgate URLs setup_help may name (SAML presets name the SP's instead).
    help_placeholders: ClassVar[tuple[str, ...]] = HELP_PLACEHOLDERS

    def __init_subclass__(cls, **kwargs: object) -> None:
        # A typo in a template or help placeholder should fail at import, not at an admin's first save.
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract"):  # a base for other presets (the SAML one), no preset itself
            return
        missing = [attr for attr in ("name", "title", "description", "setup_help") if not hasattr(cls, attr)]
        if missing:
            raise TypeError(f"preset {cls.__name__} does not set {', '.join(missing)}")
        known = {field.name for field in cls.form_fields()}
        templates = [cls.issuer, cls.subject_claim, *(getattr(cls, e) for e in ENDPOINTS)]
        templates += list(cls.extra_authorize_params.values())
        for template in templates:
            for candidate in alternatives(template):
                unknown = set(placeholders(candidate)) - known
                if unknown:
                    raise TypeError(
                        f"preset {cls.name}: template {candidate!r} uses unknown {sorted(unknown)}"
                    )
        unknown_help = set(re.findall(r"\{(\w+)\}", cls.setup_help)) - set(cls.help_placeholders)
        if unknown_help:
            raise TypeError(f"preset {cls.name}: setup_help uses unknown placeholders {sorted(unknown_help)}")

    @classmethod
    def form_fields(cls) -> tuple[PresetField, ...]:
        """The preset's own inputs followed by the client credentials and scopes every preset needs."""
        public_client = cls.token_endpoint_auth_method == "none"
        return (
            *cls.fields,
            PresetField("client_id", cls.client_id_label, "Identifier of the client registered at the IdP."),
            PresetField(
                "client_secret",
                cls.client_secret_label,
                "The secret the IdP issued for that client.",
                required=not public_client,
                secret=True,
            ),
            PresetField(
                "scopes",
                "Scopes",
                "Separated by spaces." + (" Must include openid." if cls.protocol == "oidc" else ""),
                required=False,
                default=" ".join(cls.default_scopes),
                kind="scopes",
            ),
        )

    @classmethod
    def build(
        cls,
        *,
        name: str,
        title: str | None,
        values: Mapping[str, str],
        overrides: Mapping[str, Any] = MappingProxyType({}),
    ) -> ProviderConfig:
        """A provider from the admin's form values, or :class:`PresetInputError` listing every problem.

        A field missing from ``values`` takes its default; one present but blank counts as not given.
        Keys that are not fields of this preset are ignored (forms post other things too).
        ``overrides`` are ProviderConfig fields set beside the preset (a settings-file entry's mapping,
        filters, enabled...): they replace what the preset chose and are validated with the rest.
        """
        errors: dict[str, str] = {}
        if not NAME_PATTERN.fullmatch(name):
            errors["name"] = "Name must be lowercase letters, digits and dashes (at most 63)"
        cleaned: dict[str, str] = {}
        for field in cls.form_fields():
            raw = values.get(field.name, field.default)
            cleaned[field.name] = ""
            if not raw.strip():
                if field.required:
                    errors[field.name] = f"{field.label} is required"
                continue
            try:
                value = CLEANERS[field.kind](raw)
            except ValueError as exc:
                errors[field.name] = f"{field.label} {exc}"
                continue
            if field.pattern and not re.fullmatch(field.pattern, value):
                errors[field.name] = f"{field.label} must be {field.pattern_hint or 'in the documented form'}"
                continue
            cleaned[field.name] = value
        scopes = tuple(cleaned["scopes"].split())
        if cls.protocol == "oidc" and "scopes" not in errors and "openid" not in scopes:
            errors["scopes"] = "Scopes must include openid"
        if errors:
            raise PresetInputError(errors)

        secret = cleaned["client_secret"]
        try:
            derived: dict[str, Any] = {
                "name": name,
                "title": (title or "").strip() or cls.title,
                "preset": cls.name,
                "protocol": cls.protocol,
                "issuer": fill(cls.issuer, cleaned),
                "discovery": cls.discovery,
                "authorization_endpoint": fill(cls.authorization_endpoint, cleaned),
                "token_endpoint": fill(cls.token_endpoint, cleaned),
                "userinfo_endpoint": fill(cls.userinfo_endpoint, cleaned),
                "jwks_uri": fill(cls.jwks_uri, cleaned),
                "end_session_endpoint": fill(cls.end_session_endpoint, cleaned),
                "client_id": cleaned["client_id"],
                "client_secret": SecretStr(secret) if secret else None,
                "token_endpoint_auth_method": cls.token_endpoint_auth_method,
                "scopes": scopes,
                "use_pkce": cls.use_pkce,
                "extra_authorize_params": {
                    key: param
                    for key, template in cls.extra_authorize_params.items()
                    if (param := fill(template, cleaned)) is not None
                },
                "subject_claim": fill(cls.subject_claim, cleaned) or "sub",
                "mapping": cls.default_mapping,
            }
            return ProviderConfig.model_validate(derived | dict(overrides))
        except ValidationError as exc:
            known = {field.name for field in cls.form_fields()} | set(overrides)
            raise PresetInputError(_by_field(exc, known)) from exc

    @classmethod
    def render_help(
        cls,
        *,
        callback_url: str,
        frontchannel_logout_url: str,
        post_logout_redirect_uri: str,
        backchannel_logout_url: str = BACKCHANNEL_URL_HINT,
    ) -> str:
        """The setup steps with Deskgate's own URLs filled in, ready to show the admin."""
        text = inspect.cleandoc(cls.setup_help)
        urls = {
            "callback_url": callback_url,
            "frontchannel_logout_url": frontchannel_logout_url,
            "backchannel_logout_url": backchannel_logout_url,
            "post_logout_redirect_uri": post_logout_redirect_uri,
        }
        # Plain replacement, not str.format: help text may show literal braces (JSON, claim rules).
        for key, url in urls.items():
            text = text.replace("{" + key + "}", url)
        return f"{text}\n{FRONTCHANNEL_HELP[cls.frontchannel_logout]}"


def _by_field(exc: ValidationError, field_names: set[str]) -> dict[str, str]:
    """ProviderConfig's complaints, keyed by the form field they concern where there is one."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = error["loc"]
        key = str(loc[0]) if loc and str(loc[0]) in field_names | {"name", "title"} else GENERAL_ERROR
        message = plain_message(error)
        errors[key] = f"{errors[key]}; {message}" if key in errors else message
    return errors
