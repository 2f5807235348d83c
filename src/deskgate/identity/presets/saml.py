"""The base of SAML 2.0 presets: the same declarative shape as the OIDC ones, other inputs.

A SAML preset names the vendor's metadata URL template (Entra's tenant, Keycloak's realm…), the NameID
format to ask for, which parts the IdP signs, the default mapping and the steps in the IdP's console,
which show Deskgate's SP URLs (``{sp_entity_id}``, ``{acs_url}``, ``{slo_url}``, ``{sp_metadata_url}``).

The IdP's own details come from one of three sources (the form's ``source``): its metadata URL (read
by the caller, who passes the document as ``metadata_xml``: building stays free of I/O), metadata XML
the admin pasted or uploaded, or the entity id, SSO URL and certificates typed by hand.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, ClassVar

from pydantic import ValidationError

from deskgate.identity.presets.base import (
    GENERAL_ERROR,
    Preset,
    PresetField,
    PresetInputError,
    Template,
    alternatives,
    fill,
    placeholders,
)
from deskgate.identity.presets.inputs import CLEANERS
from deskgate.identity.provider import NAME_PATTERN, ProviderConfig
from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.metadata_source import from_metadata
from deskgate.identity.saml.settings import SamlIdpSettings, ServiceProvider, SignedParts
from deskgate.validation import plain_message

EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
PERSISTENT_FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
UNSPECIFIED_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
SOURCES = ("url", "xml", "manual")
SAML_HELP_PLACEHOLDERS = ("sp_entity_id", "acs_url", "slo_url", "sp_metadata_url")
NAME_HINT = "Name must be lowercase letters, digits and dashes (at most 63)"
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def split_certificates(text: str) -> tuple[str, ...]:
    """Certificates pasted together: PEM blocks, or base64 bodies separated by blank lines."""
    found = _PEM.findall(text)
    if found:
        return tuple(found)
    return tuple(part for part in re.split(r"\n\s*\n", text.strip()) if part.strip())


def sp_urls(base_url: str, idp: str) -> dict[str, str]:
    """Deskgate's SP URLs for an IdP named `idp`, under the names the help uses for them."""
    sp = ServiceProvider.for_idp(base_url, idp)
    return {
        "sp_entity_id": sp.entity_id,
        "acs_url": sp.acs_url,
        "slo_url": sp.slo_url,
        "sp_metadata_url": sp.metadata_url,
    }


class SamlPreset(Preset):
    """Base of every SAML preset; subclasses set class attributes only."""

    abstract = True
    protocol = "saml"
    help_placeholders = SAML_HELP_PLACEHOLDERS
    # Where the vendor publishes an IdP's metadata; placeholders are this preset's own fields.
    metadata_url: ClassVar[Template | None] = None
    name_id_format: ClassVar[str | None] = EMAIL_FORMAT
    signed: ClassVar[SignedParts] = "either"
    # What the IdP sends by default, by attribute (documentation for the admin; the copies to the
    # neutral names are `saml.attributes.ALIASES`'s).
    attribute_names: ClassVar[Mapping[str, tuple[str, ...]]] = MappingProxyType({})

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        known = {field.name for field in cls.fields}
        for candidate in alternatives(cls.metadata_url):
            unknown = set(placeholders(candidate)) - known
            if unknown:
                raise TypeError(f"preset {cls.name}: template {candidate!r} uses unknown {sorted(unknown)}")

    @classmethod
    def form_fields(cls) -> tuple[PresetField, ...]:
        """The preset's own inputs (optional: they only build the metadata URL), then the sources."""
        own = tuple(
            PresetField(f.name, f.label, f.help, False, f.secret, f.default, f.placeholder, f.kind)
            for f in cls.fields
        )
        return (
            *own,
            PresetField("source", "Source", "url, xml or manual.", default="url"),
            PresetField(
                "metadata_url",
                "Metadata URL",
                "Leave empty to use the one built from the fields above."
                if cls.metadata_url
                else "Where the IdP publishes its metadata.",
                required=False,
                kind="url",
            ),
            PresetField("metadata_pin", "Pinned certificate", "Optional.", required=False),
            PresetField("metadata_xml", "Metadata XML", "The IdP's metadata document.", required=False),
            PresetField("entity_id", "IdP entity id", "The IdP's Issuer.", required=False),
            PresetField("sso_url", "SSO URL", "HTTP-Redirect SingleSignOnService.", required=False),
            PresetField("signing_certificates", "Signing certificates", "One or more.", required=False),
            PresetField(
                "name_id_format",
                "NameID format",
                "Empty: let the IdP choose.",
                required=False,
                default=cls.name_id_format or "",
            ),
            PresetField(
                "subject_attribute",
                "Subject attribute",
                "Empty: the NameID names the user.",
                required=False,
            ),
        )

    @classmethod
    def metadata_url_for(cls, values: Mapping[str, str]) -> str | None:
        """The metadata URL the admin typed, or the preset's built from its fields; None if neither."""
        typed = values.get("metadata_url", "").strip()
        if typed:
            return typed
        cleaned: dict[str, str] = {}
        for field in cls.fields:
            raw = values.get(field.name, "").strip()
            if raw:
                try:
                    cleaned[field.name] = CLEANERS[field.kind](raw)
                except ValueError:
                    return None
        return fill(cls.metadata_url, cleaned)

    @classmethod
    def build(
        cls,
        *,
        name: str,
        title: str | None,
        values: Mapping[str, str],
        overrides: Mapping[str, Any] = MappingProxyType({}),
    ) -> ProviderConfig:
        """The provider from the form; with ``source`` url the caller has put the fetched document in
        ``metadata_xml`` and the URL in ``metadata_url``."""
        source = values.get("source", "url").strip() or "url"
        if source not in SOURCES:
            raise PresetInputError({"source": "Source must be url, xml or manual"})
        text = {key: values.get(key, "").strip() for key in ("metadata_url", "metadata_pin", "metadata_xml")}
        choices: dict[str, object] = {
            "signed": cls.signed,
            "name_id_format": values.get("name_id_format", cls.name_id_format or "").strip() or None,
            "subject_attribute": values.get("subject_attribute", "").strip() or None,
        }
        # The name's problem is reported with the source's, not only once those are fixed.
        named = {} if NAME_PATTERN.fullmatch(name) else {"name": NAME_HINT}
        try:
            saml = cls._settings(source, text, values, choices)
        except PresetInputError as exc:
            raise PresetInputError(named | exc.errors) from None
        except SamlRejected as exc:
            field = {"url": "metadata_url", "xml": "metadata_xml"}.get(source, GENERAL_ERROR)
            pinned = exc.check in ("metadata_pin", "metadata_signature")
            raise PresetInputError(named | {"metadata_pin" if pinned else field: exc.detail}) from None
        except ValidationError as exc:
            raise PresetInputError(named | _saml_errors(exc, source)) from None
        if named:
            raise PresetInputError(named)
        derived: dict[str, Any] = {
            "name": name,
            "title": (title or "").strip() or cls.title,
            "preset": cls.name,
            "protocol": "saml",
            "saml": saml,
            "mapping": cls.default_mapping,
        }
        try:
            return ProviderConfig.model_validate(derived | dict(overrides))
        except ValidationError as exc:
            errors: dict[str, str] = {}
            for error in exc.errors():
                key = (
                    str(error["loc"][0])
                    if error["loc"] and error["loc"][0] in ("name", "title")
                    else GENERAL_ERROR
                )
                errors[key] = plain_message(error)
            raise PresetInputError(errors) from None

    @classmethod
    def _settings(
        cls, source: str, text: Mapping[str, str], values: Mapping[str, str], choices: dict[str, object]
    ) -> SamlIdpSettings:
        if text["metadata_pin"]:
            choices["metadata_pin"] = text["metadata_pin"]
        if source == "url":
            url = text["metadata_url"] or cls.metadata_url_for(values)
            if not url:
                raise PresetInputError({"metadata_url": "Metadata URL is required (or the fields above)"})
            if not text["metadata_xml"]:
                raise PresetInputError({"metadata_url": f"The metadata at {url} was not read"})
            settings = from_metadata(text["metadata_xml"].encode(), choices=choices | {"metadata_url": url})
            return settings.model_copy(update={"metadata_checked_at": datetime.now(UTC)})
        if source == "xml":
            if not text["metadata_xml"]:
                raise PresetInputError({"metadata_xml": "Metadata XML is required"})
            return from_metadata(text["metadata_xml"].encode(), choices=choices)
        missing = {
            key: f"{label} is required"
            for key, label in (
                ("entity_id", "IdP entity id"),
                ("sso_url", "SSO URL"),
                ("signing_certificates", "Signing certificates"),
            )
            if not values.get(key, "").strip()
        }
        if missing:
            raise PresetInputError(missing)
        return SamlIdpSettings.model_validate(
            {
                "entity_id": values["entity_id"].strip(),
                "sso_url": values["sso_url"].strip(),
                "signing_certificates": split_certificates(values["signing_certificates"]),
                **choices,
            }
        )

    @classmethod
    def render_help(cls, **urls: str) -> str:
        """The setup steps with this IdP's SP URLs filled in (see `sp_urls`)."""
        text = inspect.cleandoc(cls.setup_help)
        for key in SAML_HELP_PLACEHOLDERS:
            text = text.replace("{" + key + "}", urls.get(key, key))
        return text


def _saml_errors(exc: ValidationError, source: str) -> dict[str, str]:
    """SamlIdpSettings' complaints keyed by the form field they concern."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = str(error["loc"][0]) if error["loc"] else ""
        key = loc if source == "manual" and loc in ("entity_id", "sso_url", "signing_certificates") else ""
        key = key or (loc if loc in ("metadata_pin", "name_id_format", "subject_attribute") else "")
        key = key or {"url": "metadata_url", "xml": "metadata_xml"}.get(source, GENERAL_ERROR)
        message = plain_message(error)
        errors[key] = f"{errors[key]}; {message}" if key in errors else message
    return errors
