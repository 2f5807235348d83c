"""The settings file seeds the database: console edits survive a restart until the file itself changes."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from deskgate.identity.provider import ProviderConfig
from deskgate.jsm.connection import JsmConnection
from deskgate.store.models import SettingsFileSeedRow
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio


def _corp(**changes: object) -> ProviderConfig:
    config = ProviderConfig(
        name="corp",
        title="Corp (from the file)",
        issuer="https://corp.idp.test",
        client_id="deskgate",
        client_secret=SecretStr("file-secret-0123456789"),
    )
    return config.model_copy(update=changes)


def _jsm(token: str = "file-token-0123") -> JsmConnection:  # noqa: S107
    return JsmConnection(
        site_url="https://corp.atlassian.net",
        deployment="cloud",
        email="svc@corp.test",
        api_token=SecretStr(token),
    )


async def test_a_console_edit_survives_a_restart_with_the_same_file(db_url: str) -> None:
    async with running_app(db_url, idps=[_corp()], jsm=_jsm()) as (_, services):
        await services.providers.save(_corp(title="Corp (edited in the console)"))
        await services.jira.save(_jsm(token="console-token-0123"))
    async with running_app(db_url, idps=[_corp()], jsm=_jsm()) as (_, services):
        assert (await services.providers.get("corp")).title == "Corp (edited in the console)"
        stored = await services.jira.get()
        assert stored is not None and stored.api_token is not None
        assert stored.api_token.get_secret_value() == "console-token-0123"


async def test_a_deleted_idp_stays_deleted_until_the_file_changes_it(db_url: str) -> None:
    async with running_app(db_url, idps=[_corp()]) as (_, services):
        await services.providers.delete("corp")
    async with running_app(db_url, idps=[_corp()]) as (_, services):
        assert [p.name for p in await services.providers.all()] == []
    async with running_app(db_url, idps=[_corp(client_id="deskgate-2")]) as (_, services):
        assert (await services.providers.get("corp")).client_id == "deskgate-2"


async def test_a_changed_file_entry_is_applied_even_when_only_its_secret_changed(db_url: str) -> None:
    async with running_app(db_url, idps=[_corp()], jsm=_jsm()) as (_, services):
        await services.providers.save(_corp(title="Corp (edited in the console)"))
    new_secret = SecretStr("rotated-file-secret-0123")
    async with running_app(db_url, idps=[_corp(client_secret=new_secret)], jsm=_jsm("rotated-0123")) as (
        _,
        services,
    ):
        config = await services.providers.get("corp")
        assert config.title == "Corp (from the file)"  # the file's whole entry, not a merge
        assert config.client_secret is not None
        assert config.client_secret.get_secret_value() == "rotated-file-secret-0123"
        stored = await services.jira.get()
        assert stored is not None and stored.api_token is not None
        assert stored.api_token.get_secret_value() == "rotated-0123"


async def test_the_stored_fingerprint_reveals_no_secret(db_url: str) -> None:
    async with running_app(db_url, idps=[_corp()]) as (_, services), services.db() as db:
        rows = (await db.execute(select(SettingsFileSeedRow))).scalars().all()
    assert [row.key for row in rows] == ["idp:corp"]
    # Keyed with the secret key: not the plain SHA-256 of the entry someone could recompute and compare.
    assert len(rows[0].fingerprint) == 64 and "file-secret" not in rows[0].fingerprint
