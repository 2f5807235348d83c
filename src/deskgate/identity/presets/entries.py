"""Identity providers written by preset in the settings file or an import document, built as the wizard builds them.

An entry that names a known preset and sets neither ``issuer`` nor ``authorization_endpoint`` is built by
:meth:`Preset.build`, the console wizard's own code path, from the preset's inputs written beside it
(Keycloak's ``server`` and ``realm`` become ``<server>/realms/<realm>``; Gluu's ``domain`` becomes the
issuer and oxAuth's endpoints) and the entry's ``client_id``, ``client_secret`` and ``scopes``. Every
other key of the entry (``title``, ``mapping``, ``filters``, ``admin_access``, ``enabled``,
``token_endpoint_auth_method``...) then replaces what the preset chose. An entry that sets its issuer or
endpoints itself is a complete :class:`ProviderConfig`, as ``deskgate config export`` writes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from deskgate.identity.presets import PRESETS, PresetInputError
from deskgate.identity.provider import ProviderConfig

# Keys that say the entry spells its endpoints (or its SAML settings) out itself rather than leaving them
# to the preset.
_SPELLED_OUT = ("issuer", "authorization_endpoint", "saml")


def built_by_preset(entry: object) -> bool:
    """Whether :func:`provider_from_entry` builds this entry through its preset."""
    return (
        isinstance(entry, Mapping)
        and isinstance(entry.get("preset"), str)
        and entry["preset"] in PRESETS
        and not any(key in entry for key in _SPELLED_OUT)
    )


def _as_form_value(value: Any) -> str:
    """A file value as the wizard's form would have posted it (scopes as a list become words)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, list | tuple):
        return " ".join(str(item) for item in value)
    return "" if value is None else str(value)


def provider_from_entry(entry: Mapping[str, Any]) -> ProviderConfig:
    """The provider an entry describes; :class:`PresetInputError` (a ValueError) lists every problem.

    ``name`` must be a string here; pydantic reports any other shape of entry in the usual way.
    """
    preset = PRESETS[entry["preset"]]
    inputs = {field.name for field in preset.form_fields()}
    values = {key: _as_form_value(value) for key, value in entry.items() if key in inputs}
    overrides = {
        key: value for key, value in entry.items() if key not in inputs | {"name", "title", "preset"}
    }
    # A misspelt input (relam) is reported with the other problems, not only once they are fixed.
    unknown = {
        key: f"{key} is neither an identity provider setting nor an input of the {preset.name} preset "
        f"({', '.join(sorted(inputs))})"
        for key in overrides
        if key not in ProviderConfig.model_fields
    }
    title = entry.get("title")
    try:
        config = preset.build(
            name=str(entry.get("name", "")),
            title=title if isinstance(title, str) else None,
            values=values,
            overrides={key: value for key, value in overrides.items() if key not in unknown},
        )
    except PresetInputError as exc:
        raise PresetInputError(exc.errors | unknown) from None
    if unknown:
        raise PresetInputError(unknown)
    return config


def expand_entry(entry: Any) -> Any:
    """A pydantic before-validator: a preset entry becomes its ProviderConfig, anything else passes."""
    return provider_from_entry(entry) if built_by_preset(entry) else entry
