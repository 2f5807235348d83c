"""IdPs written by preset in the settings file or an import document: built as the wizard builds them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from deskgate.config_io import _validate
from deskgate.errors import ConfigError
from deskgate.identity.presets import get_preset
from deskgate.settings import Settings

BASE_URL = "https://help.example.com"
KEYCLOAK: dict[str, Any] = {
    "name": "kc",
    "preset": "keycloak",
    "server": "sso.example.com",
    "realm": "customers",
    "client_id": "deskgate",
    "client_secret": "s3cret-value",
}


def test_keycloak_in_the_settings_file_builds_the_issuer_from_server_and_realm() -> None:
    entry = {**KEYCLOAK, "scopes": ["openid", "email"], "filters": {"allow_domains": ["example.com"]}}

    config = Settings(base_url=BASE_URL, idps=[entry]).idps[0]

    assert config.issuer == "https://sso.example.com/realms/customers"
    assert config.title == "Keycloak"
    assert config.scopes == ("openid", "email")
    assert config.filters.allow_domains == ("example.com",)
    wizard = get_preset("keycloak").build(
        name="kc", title=None, values={**KEYCLOAK, "scopes": "openid email"}
    )
    assert config.model_dump(exclude={"filters"}) == wizard.model_dump(exclude={"filters"})


def test_a_preset_entry_takes_the_presets_defaults_and_the_entrys_own_keys_win() -> None:
    entry = {
        "name": "gluu",
        "preset": "gluu",
        "domain": "idp.example.com",
        "client_id": "1001.abc",
        "client_secret": "s",
        "title": "Example ID",
        "enabled": False,
    }

    config = Settings(base_url=BASE_URL, idps=[entry]).idps[0]

    assert config.issuer == "https://idp.example.com"
    assert config.token_endpoint == "https://idp.example.com/oxauth/restv1/token"
    assert config.token_endpoint_auth_method == "client_secret_post"  # the preset's, as in the wizard
    assert (config.title, config.enabled) == ("Example ID", False)


def test_an_entry_with_its_own_issuer_is_taken_as_written() -> None:
    entry = {**KEYCLOAK, "title": "Keycloak", "issuer": "https://kc.example.com/auth/realms/x"}
    del entry["server"], entry["realm"]

    config = Settings(base_url=BASE_URL, idps=[entry]).idps[0]

    assert config.issuer == "https://kc.example.com/auth/realms/x"
    assert config.preset == "keycloak"


def test_every_problem_of_a_preset_entry_is_reported_at_once() -> None:
    entry = {**KEYCLOAK, "server": "sso.example.com/?x", "relam": "customers"}
    del entry["realm"]

    with pytest.raises(ValidationError) as caught:
        Settings(base_url=BASE_URL, idps=[entry])

    text = str(caught.value)
    assert "Keycloak server must not contain a query" in text
    assert "Realm is required" in text
    assert "relam is neither an identity provider setting nor an input of the keycloak preset" in text


def test_an_import_document_builds_preset_entries_the_same_way() -> None:
    configs, _ = _validate({"version": 1, "idps": [KEYCLOAK]}, {})
    assert configs[0].issuer == "https://sso.example.com/realms/customers"

    broken = {**KEYCLOAK, "realm": ""}
    with pytest.raises(ConfigError) as caught:
        _validate({"version": 1, "idps": [broken]}, {})
    assert caught.value.problems == ["idps[0] (kc): realm: Realm is required"]
