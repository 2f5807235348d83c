"""Many workers and instances starting at once on a fresh database: every one starts, the schema is
migrated once, and each entry of the settings file is stored exactly once.

Before the start-up lock, two starters both read "no such IdP" and both inserted it (the second stopped
its instance with a unique violation), and two PostgreSQL migrations both created ``alembic_version``.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, text

from deskgate.health import schema_head
from deskgate.identity.provider import ProviderConfig
from deskgate.jsm.connection import JsmConnection
from deskgate.login.page import LoginPageSettings
from deskgate.services import Services, build_services
from deskgate.settings import load_settings
from deskgate.store.models import IdentityProviderRow, JsmConnectionRow, LoginPageRow, SettingsFileSeedRow
from tests.support.databases import async_database_url, database_url
from tests.support.serve import ServeProcess, write_config

STARTERS = 6  # three instances of two workers
START_SECONDS = 60.0
SECRET_KEY = "concurrent-start-secret-key-0123456789-abcd"


def _settings_file(db_url: str) -> dict[str, Any]:
    idps = [
        ProviderConfig(
            name=name,
            title=name.title(),
            issuer=f"https://{name}.idp.test",
            client_id="deskgate",
            client_secret=SecretStr(f"{name}-secret-0123456789"),
        ).model_dump(mode="json", exclude={"client_secret"})
        | {"client_secret": f"{name}-secret-0123456789"}
        for name in ("corp", "partners")
    ]
    jsm = JsmConnection(
        site_url="https://corp.atlassian.net",
        deployment="cloud",
        email="svc@corp.test",
        api_token=SecretStr("file-token-0123"),
    ).model_dump(mode="json", exclude={"api_token"}) | {"api_token": "file-token-0123"}
    return {
        "base_url": "http://127.0.0.1:8080",
        "secret_key": SECRET_KEY,
        "database_url": db_url,
        "idps": idps,
        "jsm": jsm,
        "login_page": LoginPageSettings(mode="chooser", labels={"corp": "Staff"}).model_dump(mode="json"),
    }


async def _count(services: Services, statement: str) -> int:
    async with services.engine.connect() as connection:
        return int((await connection.execute(text(statement))).scalar_one())


async def _check_started_once(services: Services) -> None:
    """The schema at head (one row), each settings-file entry stored exactly once."""
    async with services.engine.connect() as connection:
        versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    assert [v for (v,) in versions] == [schema_head()]
    async with services.db() as db:
        idps = (await db.execute(select(IdentityProviderRow.name).order_by(IdentityProviderRow.name))).all()
        seeds = (await db.execute(select(SettingsFileSeedRow.key).order_by(SettingsFileSeedRow.key))).all()
        singletons = [
            await db.scalar(select(func.count()).select_from(model))
            for model in (JsmConnectionRow, LoginPageRow)
        ]
    assert [name for (name,) in idps] == ["corp", "partners"]
    assert [key for (key,) in seeds] == ["idp:corp", "idp:partners", "jsm", "login_page"]
    assert singletons == [1, 1]
    page = await services.login_page.get()
    assert (page.mode, page.labels) == ("chooser", {"corp": "Staff"})


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_workers_starting_together_on_a_fresh_database_all_start(kind: str, tmp_path: Path) -> None:
    async with async_database_url(kind, tmp_path) as url:
        settings = load_settings(**_settings_file(url))
        # Bounded: on PostgreSQL, racing migrations can also wait on each other's locks for good.
        starts = [asyncio.wait_for(build_services(settings), START_SECONDS) for _ in range(STARTERS)]
        outcomes = await asyncio.gather(*starts, return_exceptions=True)
        started = [o for o in outcomes if isinstance(o, Services)]
        try:
            failed = [o for o in outcomes if not isinstance(o, Services)]
            assert failed == [], f"{len(failed)} of {STARTERS} starters failed: {failed!r}"
            await _check_started_once(started[0])
        finally:
            for services in started:
                await services.aclose()


def test_serve_instances_started_together_on_a_fresh_postgresql_all_become_ready(tmp_path: Path) -> None:
    with database_url("postgresql", tmp_path) as url:
        config = write_config(tmp_path / "deskgate.yaml", **_settings_file(url))
        instances = [ServeProcess(config, tmp_path) for _ in range(3)]
        # Started at once, in threads: each start waits (bounded) for its instance to answer.
        with ThreadPoolExecutor(len(instances)) as pool:
            errors = [start.exception() for start in [pool.submit(i.start) for i in instances]]
        try:
            assert [str(e) for e in errors if e is not None] == []
            for instance in instances:
                ready = httpx.get(instance.url + "/readyz", timeout=10)
                assert (ready.status_code, ready.text) == (200, "ready")
        finally:
            for instance in instances:
                instance.stop()
