"""IdP presets: declarative descriptions that turn a short form into a :class:`ProviderConfig`.

* ``base``: :class:`Preset`, :class:`PresetField`, :class:`PresetInputError` and template filling.
* ``inputs``: how each kind of form value is cleaned and checked.
* ``selfhosted``, ``cloud``, ``microsoft``, ``generic``: one small subclass per vendor.
* ``saml`` (the SAML base) and ``saml_vendors``: the SAML 2.0 presets.

This module holds the registry, in the order the admin's chooser shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from deskgate.identity.presets.base import Preset, PresetField, PresetInputError
from deskgate.identity.presets.cloud import (
    Auth0,
    Cognito,
    GitHub,
    Google,
    JumpCloud,
    Okta,
    OneLogin,
    Salesforce,
)
from deskgate.identity.presets.generic import GenericOAuth2, GenericOIDC
from deskgate.identity.presets.microsoft import ADFS, AzureB2C, Entra
from deskgate.identity.presets.saml_vendors import SAML_PRESETS
from deskgate.identity.presets.selfhosted import GitLab, Gluu, Janssen, Keycloak, LemonLdap, PingFederate

__all__ = ["PRESETS", "Preset", "PresetField", "PresetInputError", "UnknownPresetError", "get_preset"]

# Display order: Deskgate's home ground (Gluu, Janssen, Keycloak) first, then the big hosted services,
# then the smaller ones, and the generic presets last as the fallback.
_ORDER: tuple[type[Preset], ...] = (
    Gluu,
    Janssen,
    Keycloak,
    Entra,
    AzureB2C,
    Okta,
    Google,
    Auth0,
    Cognito,
    ADFS,
    OneLogin,
    PingFederate,
    LemonLdap,
    Salesforce,
    JumpCloud,
    GitLab,
    GitHub,
    GenericOIDC,
    GenericOAuth2,
    *SAML_PRESETS,
)
PRESETS: Mapping[str, type[Preset]] = MappingProxyType({preset.name: preset for preset in _ORDER})
if len(PRESETS) != len(_ORDER):
    raise RuntimeError("two presets share a name")


class UnknownPresetError(KeyError):
    """No preset has that name (a stale config file, or a typo on the command line)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:  # KeyError's own str() would only show the quoted name
        return f"unknown preset {self.name!r}; choose one of: {', '.join(PRESETS)}"


def get_preset(name: str) -> type[Preset]:
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownPresetError(name) from None
