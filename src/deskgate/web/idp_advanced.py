"""The IdP form's folded "Advanced settings": the ProviderConfig fields a preset chooses and an admin may
need to change (token endpoint authentication, PKCE, response mode, ID token algorithms, clock skew,
extra authorization parameters, front-channel logout).

This module only turns the form's text into values and back. Validation is the settings file's own:
the values go to `Preset.build` as overrides, as a settings-file entry's keys do
(`identity.presets.entries`), and ProviderConfig judges them; its complaints come back per field and are
reworded here to name the field in the form's words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deskgate.identity.presets import Preset
from deskgate.identity.presets.logout_help import FRONTCHANNEL_HELP
from deskgate.identity.provider import ProviderConfig


@dataclass(frozen=True, slots=True)
class AdvancedField:
    name: str  # the ProviderConfig field, and the form field
    label: str
    help: str
    choices: tuple[tuple[str, str], ...] = ()  # (value, label); none: a text input
    kind: str = "text"  # text, number, words (space-separated list), lines (name=value per line)


FRONTCHANNEL_CHOICES = (
    ("discover", "Ask the IdP's discovery document"),
    ("iss_and_sid", "The request names the session (iss and sid)"),
    ("sid_only", "The request carries the session's sid only"),
    ("sid_or_subject", "iss, and sid or else the user's id"),
    ("cookie", "The session whose cookie the browser sends"),
    ("off", "Off: the front-channel URL ends no session"),
)

FIELDS = (
    AdvancedField(
        "token_endpoint_auth_method",
        "Client authentication",
        "How Deskgate proves itself at the IdP's token endpoint (the IdP's client settings name it).",
        choices=(
            ("client_secret_basic", "Secret in an HTTP Basic header (client_secret_basic)"),
            ("client_secret_post", "Secret in the request body (client_secret_post)"),
            ("none", "None: a public client without a secret (needs PKCE)"),
        ),
    ),
    AdvancedField(
        "use_pkce",
        "PKCE",
        "A one-time proof that the code is redeemed by whoever asked for it. Leave it on unless the IdP "
        "refuses it.",
        choices=(("true", "On (S256)"), ("false", "Off")),
    ),
    AdvancedField(
        "response_mode",
        "Response mode",
        "How the IdP hands the code back.",
        choices=(("query", "In the URL (query)"), ("form_post", "Posted by the browser (form_post)")),
    ),
    AdvancedField(
        "id_token_signing_algs",
        "ID token algorithms",
        "The signature algorithms accepted on ID tokens, separated by spaces (asymmetric only, such as "
        "RS256 or ES256).",
        kind="words",
    ),
    AdvancedField(
        "clock_skew_seconds",
        "Clock skew (seconds)",
        "How far the IdP's clock may be from Deskgate's when token times are checked: 0 to 600.",
        kind="number",
    ),
    AdvancedField(
        "extra_authorize_params",
        "Extra authorization parameters",
        "Sent to the IdP with every sign-in: one name=value per line, for example acr_values=mfa. "
        "Leave empty for the preset's own.",
        kind="lines",
    ),
    AdvancedField(
        "frontchannel_logout",
        "Front-channel logout",
        "What the IdP's front-channel logout requests carry, and so which session they may end.",
    ),
)
NAMES = tuple(field.name for field in FIELDS)
LABELS = {field.name: field.label for field in FIELDS}


def choices(field: AdvancedField, preset: type[Preset]) -> tuple[tuple[str, str], ...]:
    """The select's options; front-channel logout starts with "the preset's rule" (stored as unset)."""
    if field.name == "frontchannel_logout":
        own = dict(FRONTCHANNEL_CHOICES)[preset.frontchannel_logout]
        return (("", f"The {preset.title} preset's choice: {own}"), *FRONTCHANNEL_CHOICES)
    return field.choices


def frontchannel_help(preset: type[Preset]) -> str:
    return FRONTCHANNEL_HELP[preset.frontchannel_logout]


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return " ".join(str(item) for item in value)
    if isinstance(value, dict):
        return "\n".join(f"{key}={item}" for key, item in value.items())
    return "" if value is None else str(value)


def values_of(config: ProviderConfig) -> dict[str, str]:
    """The section's fields as an IdP has them (the edit form)."""
    return {name: _as_text(getattr(config, name)) for name in NAMES}


def defaults(preset: type[Preset]) -> dict[str, str]:
    """The section's fields for a new IdP of this preset (the preset's choice, else ProviderConfig's)."""
    values = {
        name: _as_text(ProviderConfig.model_fields[name].get_default(call_default_factory=True))
        for name in NAMES
    }
    values |= {
        "token_endpoint_auth_method": preset.token_endpoint_auth_method,
        "use_pkce": _as_text(preset.use_pkce),
        "extra_authorize_params": "",
        "frontchannel_logout": "",
    }
    return values


def overrides(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """(ProviderConfig values to build with, problems of form) from the fields the form sent; a field the
    form did not send is left out (the preset's value, or on edit the stored one, stays)."""
    found: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in FIELDS:
        if field.name not in form:
            continue
        raw = form[field.name].strip()
        if field.kind == "words":
            found[field.name] = tuple(raw.split())
        elif field.kind == "lines":
            params: dict[str, str] = {}
            for number, line in enumerate(raw.splitlines(), start=1):
                if not line.strip():
                    continue
                key, equals, value = line.partition("=")
                if not equals or not key.strip():
                    errors[field.name] = f"{field.label}: line {number} is not name=value"
                    break
                params[key.strip()] = value.strip()
            if params:
                found[field.name] = params
        elif field.name == "frontchannel_logout":
            found[field.name] = raw or None
        else:
            found[field.name] = raw  # ProviderConfig reads numbers and true/false from text, as from YAML
    return found, errors


def reworded(errors: Mapping[str, str]) -> dict[str, str]:
    """ProviderConfig's messages for the section's fields, each naming its field in the form's words."""
    plain: dict[str, str] = {}
    for key, message in errors.items():
        label = LABELS.get(key)
        if label is None or message.startswith(label):
            plain[key] = message
        elif message.startswith("must "):  # deskgate.validation's words: "must be a whole number"
            plain[key] = f"{label} {message}"
        else:
            plain[key] = f"{label}: {message}"
    return plain
