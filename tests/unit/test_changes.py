"""What a configuration change changed (deskgate.changes): before → after per field, secrets masked."""

from __future__ import annotations

from pydantic import SecretStr

from deskgate.changes import changed_fields, model_changes
from deskgate.identity.filters import FilterRules
from deskgate.identity.provider import ProviderConfig

SECRET = "client-secret-0123456789"


def _idp(**changes: object) -> ProviderConfig:
    base = ProviderConfig(
        name="gluu", title="Gluu", issuer="https://idp.test", client_id="c", client_secret=SecretStr(SECRET)
    )
    return base.model_copy(update=changes)


def test_only_changed_fields_are_listed_with_dotted_paths_and_json_values() -> None:
    before = _idp()
    after = _idp(
        title="Gluu (staff)",
        scopes=("openid", "email"),
        filters=FilterRules(allow_domains=("corp.test",)),
    )
    changes = model_changes(before, after)
    assert {c["field"]: (c["before"], c["after"]) for c in changes} == {
        "title": ("Gluu", "Gluu (staff)"),
        "scopes": (["openid", "email", "profile"], ["openid", "email"]),
        "filters.allow_domains": ([], ["corp.test"]),
    }
    assert changed_fields(changes) == "title, scopes, filters.allow_domains"
    assert model_changes(before, _idp()) == []


def test_secrets_are_never_written_down() -> None:
    changed = model_changes(_idp(), _idp(client_secret=SecretStr("another-secret-9876543210")))
    assert changed == [{"field": "client_secret", "before": "(set)", "after": "(changed)"}]
    removed = model_changes(_idp(), _idp(client_secret=None))
    assert removed == [{"field": "client_secret", "before": "(set)", "after": "(none)"}]
    created = model_changes(None, _idp())
    assert {"field": "client_secret", "before": "(none)", "after": "(set)"} in created
    assert {"field": "title", "before": None, "after": "Gluu"} in created
    assert SECRET not in repr(created + changed + removed)
