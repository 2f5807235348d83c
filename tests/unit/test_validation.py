"""Validation errors in plain words naming the field (deskgate.validation), over every field of every
settings model an admin fills in (IdP form and file, mapping, filters, login page, Jira, import, settings
file): whatever wrong value a field gets, the message has none of pydantic's own phrasing."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from deskgate.config_io import DeskEntry
from deskgate.identity.filters import ClaimRule, FilterRules
from deskgate.identity.mapping import AttributeMapping
from deskgate.identity.provider import AdminAccess, ProviderConfig
from deskgate.jsm.connection import JsmConnection
from deskgate.login.page import Branding, LoginPageSettings
from deskgate.settings import Settings
from deskgate.validation import field_path, plain_message, plain_problems

# A valid value of each model, which one field at a time is then spoilt.
VALID: dict[type[BaseModel], dict[str, Any]] = {
    ProviderConfig: {
        "name": "corp",
        "title": "Corp",
        "issuer": "https://idp.test",
        "client_id": "c",
        "client_secret": "s",
    },
    ClaimRule: {"effect": "allow", "claim": "groups", "match": "exact", "value": "staff"},
    FilterRules: {},
    AttributeMapping: {},
    AdminAccess: {"claim_rules": [{"effect": "allow", "claim": "groups", "match": "exact", "value": "it"}]},
    DeskEntry: {"desk_id": "1"},
    JsmConnection: {
        "site_url": "https://x.atlassian.net",
        "deployment": "cloud",
        "email": "a@b.test",
        "api_token": "t",
    },
    Branding: {},
    LoginPageSettings: {},
    Settings: {"secret_key": "k" * 40, "demo": True},
}
# Values no field accepts in every shape: a mapping where text or a list is expected, and the reverse.
WRONG: tuple[object, ...] = ({"not": [[]]}, [[[]]], "\x00 not a value", -(10**30))
PYDANTIC_PHRASES = ("Input should", "Value error", "String should", "Field required", "should match", "^")


def _fields() -> list[tuple[type[BaseModel], str]]:
    return [(model, name) for model in VALID for name in model.model_fields]


def test_every_model_is_covered_with_a_valid_value() -> None:
    for model, valid in VALID.items():
        model.model_validate(valid)
    assert len(_fields()) > 80


@pytest.mark.parametrize(("model", "name"), _fields(), ids=lambda v: getattr(v, "__name__", v))
def test_every_field_is_refused_in_plain_words_naming_it(model: type[BaseModel], name: str) -> None:
    refused = 0
    for wrong in WRONG:
        try:
            model.model_validate(VALID[model] | {name: wrong})
        except ValidationError as exc:
            refused += 1
            for problem in plain_problems(exc):
                assert not any(phrase in problem for phrase in PYDANTIC_PHRASES), problem
            for error in exc.errors():
                if error["loc"]:  # a model-wide check names its fields in its own words
                    assert field_path(tuple(error["loc"])).split(".")[0].split("[")[0] == name
    assert refused, f"{model.__name__}.{name} took every wrong value"


def test_messages_in_words() -> None:
    def message(model: type[BaseModel], **values: Any) -> list[str]:
        with pytest.raises(ValidationError) as refused:
            model.model_validate(values)
        return plain_problems(refused.value)

    assert message(DeskEntry, desk_id="HD") == ["desk_id: must be a number (digits only)"]
    assert message(DeskEntry) == ["desk_id: is required"]
    assert message(Settings, secret_key="k" * 40, demo=True, log_level="LOUD") == [
        "log_level: must be one of DEBUG, INFO, WARNING, ERROR"
    ]
    base = VALID[ProviderConfig]
    assert message(ProviderConfig, **base, clock_skew_seconds="soon") == [
        "clock_skew_seconds: must be a whole number"
    ]
    assert message(ProviderConfig, **base, response_mode="fragment") == [
        "response_mode: must be query or form_post"
    ]
    assert message(ProviderConfig, **base, use_pkce="maybe") == ["use_pkce: must be true or false"]
    assert field_path(("idps", 0, "name")) == "idps[0].name"


def test_our_own_validators_keep_their_words() -> None:
    with pytest.raises(ValidationError) as refused:
        ProviderConfig.model_validate(VALID[ProviderConfig] | {"name": "Nope!"})
    (error,) = refused.value.errors()
    assert plain_message(error) == str(error["msg"]).removeprefix("Value error, ")
    assert not plain_message(error).startswith("Value error")
