"""What lands in the database: secrets encrypted, providers and sessions as they should be (pending
sign-ins: tests/contract/test_login_states.py)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from deskgate.identity.provider import ProviderConfig
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio
SECRET = "client-secret-that-must-not-be-stored-in-clear"
CORP = ProviderConfig(
    name="corp", title="Corp", issuer="https://idp.corp.test", client_id="dg", client_secret=SecretStr(SECRET)
)


async def test_client_secret_and_id_token_are_encrypted_at_rest(db_url: str) -> None:
    async with running_app(db_url, idps=[CORP]) as (_, services):
        session_id, _ = await services.sessions.start(
            idp="corp",
            subject="s",
            email=None,
            display_name="S",
            attributes={},
            id_token="eyJhbGciOi.payload.sig",
        )
        rows: list[str] = []
        async with services.engine.connect() as connection:
            for table in ("identity_providers", "sessions"):
                rows += [str(row) for row in (await connection.execute(text(f"SELECT * FROM {table}"))).all()]  # noqa: S608
        dump = " ".join(rows)
        config = await services.providers.get("corp")
    assert SECRET not in dump
    assert "eyJhbGciOi.payload.sig" not in dump
    assert session_id not in dump  # only the hash of the cookie value is stored
    assert config.client_secret is not None
    assert config.client_secret.get_secret_value() == SECRET


async def test_provider_changes_reach_a_running_registry(db_url: str) -> None:
    async with running_app(db_url, idps=[CORP]) as (_, services):
        assert [p.name for p in await services.providers.all()] == ["corp"]
        await services.providers.save(CORP.model_copy(update={"name": "second", "order": -1}))
        assert [p.name for p in await services.providers.all()] == ["second", "corp"]
        await services.providers.delete("second")
        assert [p.name for p in await services.providers.enabled()] == ["corp"]


async def test_housekeeping_removes_expired_sessions(db_url: str) -> None:
    async with running_app(db_url, session_absolute_hours=1) as (_, services):
        _, live = await services.sessions.start(
            idp="corp", subject="s", email=None, display_name="S", attributes={}
        )
        expired = dataclasses.replace(
            live, id_hash="0" * 64, expires_at=datetime.now(UTC) - timedelta(seconds=1)
        )
        await services.sessions.store.save(expired)
        await services.housekeeping()
        assert await services.sessions.store.load(expired.id_hash) is None
        assert await services.sessions.store.load(live.id_hash) is not None
