"""Export and import of identity providers, on SQLite and PostgreSQL: secrets, round trips, all-or-nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from deskgate.config_io import export_config, import_config
from deskgate.errors import ConfigError
from deskgate.identity.filters import FilterRules
from deskgate.identity.mapping import AttributeMapping
from deskgate.identity.provider import ProviderConfig
from deskgate.services import Services, build_services
from deskgate.settings import load_settings
from tests.support.databases import database_url

pytestmark = pytest.mark.anyio

SECRET_KEY = "config-io-secret-key-0123456789-abcdefghij"
GLUU_SECRET = "gluu-client-secret-must-never-leak-4711"

GLUU = ProviderConfig(
    name="gluu",
    title="Gluu",
    preset="gluu",
    issuer="https://idp.example.com",
    client_id="deskgate",
    client_secret=SecretStr(GLUU_SECRET),
    token_endpoint_auth_method="client_secret_post",
    order=1,
    mapping=AttributeMapping(groups=("groups", "member_of")),
    filters=FilterRules(allow_domains=("example.com",)),
)
PUBLIC = ProviderConfig(
    name="public",
    title="Public client",
    issuer="https://public.example.org",
    client_id="deskgate-public",
    token_endpoint_auth_method="none",
    order=0,
)


@asynccontextmanager
async def open_services(url: str) -> AsyncIterator[Services]:
    services = await build_services(load_settings(secret_key=SECRET_KEY, database_url=url))
    try:
        yield services
    finally:
        await services.aclose()


@pytest.fixture
def other_db_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second fresh database of the same kind as `db_url` (the "other installation")."""
    with database_url("sqlite" if db_url.startswith("sqlite") else "postgresql", tmp_path) as url:
        yield url


def entry(**values: Any) -> dict[str, Any]:
    return {"name": "extra", "title": "Extra", "issuer": "https://extra.example", "client_id": "c"} | values


async def test_export_leaves_secrets_out_unless_asked(db_url: str) -> None:
    async with open_services(db_url) as services:
        await services.providers.save(GLUU)
        await services.providers.save(PUBLIC)
        plain = await export_config(services)
        with_secrets = await export_config(services, include_secrets=True)
    assert plain["version"] == 1
    assert [idp["name"] for idp in plain["idps"]] == ["public", "gluu"]  # display order
    assert all("client_secret" not in idp for idp in plain["idps"])
    assert GLUU_SECRET not in yaml.safe_dump(plain)
    assert with_secrets["idps"][1]["client_secret"] == GLUU_SECRET
    assert "client_secret" not in with_secrets["idps"][0]  # a public client has none to export


async def test_round_trip_into_a_fresh_database_and_back(db_url: str, other_db_url: str) -> None:
    async with open_services(db_url) as source:
        await source.providers.save(GLUU)
        await source.providers.save(PUBLIC)
        without_secrets = await export_config(source)
        with_secrets = await export_config(source, include_secrets=True)
        originals = await source.providers.all()
    # Through YAML, as the CLI does.
    without_secrets = yaml.safe_load(yaml.safe_dump(without_secrets))
    with_secrets = yaml.safe_load(yaml.safe_dump(with_secrets))

    async with open_services(other_db_url) as target:
        # A fresh database has no secret to keep: refused with the reason, and nothing is written.
        with pytest.raises(ConfigError) as refused:
            await import_config(target, without_secrets)
        assert len(refused.value.problems) == 1
        assert refused.value.problems[0].startswith("idps[1] (gluu): client_secret: missing")
        assert await target.providers.all() == []

        # The public client needs no secret, so it arrives without one.
        only_public = {"version": 1, "idps": [without_secrets["idps"][0]]}
        report = await import_config(target, only_public)
        assert report.created == ["public"]
        assert (await target.providers.get("public")).client_secret is None

        report = await import_config(target, with_secrets)
        # The public client is in the file as it is stored: reported unchanged, not rewritten.
        assert (report.created, report.updated, report.unchanged) == (["gluu"], [], ["public"])
        assert report.kept_secrets == []
        assert await target.providers.all() == originals

        # Re-importing the secret-free export keeps the stored secret.
        report = await import_config(target, without_secrets)
        assert (report.created, report.updated, report.unchanged) == ([], [], ["public", "gluu"])
        assert report.kept_secrets == ["gluu"]
        gluu = await target.providers.get("gluu")
        assert gluu.client_secret is not None
        assert gluu.client_secret.get_secret_value() == GLUU_SECRET
        assert await target.providers.all() == originals


async def test_every_problem_is_reported_and_nothing_is_written(db_url: str) -> None:
    async with open_services(db_url) as services:
        await services.providers.save(PUBLIC)
        data = {
            "version": 1,
            "idps": [
                entry(name="good", token_endpoint_auth_method="none"),
                entry(name="Bad Name", issuer="ldap://nope", token_endpoint_auth_method="none"),
                entry(name="no-openid", scopes=["email"], client_secret="s", client_id=None),
                "not a mapping",
            ],
        }
        with pytest.raises(ConfigError) as error:
            await import_config(services, data, replace=True)
        assert [config.name for config in await services.providers.all()] == ["public"]
    problems = error.value.problems
    assert any(p.startswith("idps[1] (Bad Name): name: use lowercase") for p in problems)
    assert "idps[1] (Bad Name): issuer: must be an absolute http(s) URL" in problems
    assert any(p.startswith("idps[2] (no-openid): client_id:") for p in problems)
    assert "idps[3]: expected a mapping, found str" in problems
    assert not any(p.startswith("idps[0]") for p in problems)


async def test_document_level_problems(db_url: str) -> None:
    async with open_services(db_url) as services:
        with pytest.raises(ConfigError) as error:
            await import_config(
                services,
                {
                    "version": 2,
                    "extra": True,
                    "idps": [entry(token_endpoint_auth_method="none")] * 2,
                },
            )
        with pytest.raises(ConfigError) as no_list:
            await import_config(services, {"version": 1, "idps": {"name": "x"}})
        assert await services.providers.all() == []
    assert error.value.problems == [
        "version: expected 1, found 2",
        "extra: unknown key",
        "idps: the name 'extra' is used twice",
    ]
    assert no_list.value.problems == ["idps: expected a list of identity providers"]


async def test_replace_deletes_the_idps_the_file_does_not_list(db_url: str) -> None:
    async with open_services(db_url) as services:
        await services.providers.save(GLUU)
        await services.providers.save(PUBLIC)
        only_gluu = {"version": 1, "idps": [GLUU.model_dump(mode="json", exclude={"client_secret"})]}

        report = await import_config(services, only_gluu)
        assert report.deleted == []
        assert [c.name for c in await services.providers.all()] == ["public", "gluu"]

        report = await import_config(services, only_gluu, replace=True)
        assert (report.unchanged, report.deleted, report.kept_secrets) == (["gluu"], ["public"], ["gluu"])
        assert await services.providers.all() == [GLUU]
