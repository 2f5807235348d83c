"""Rolling upgrades: this version keeps serving, and starts, on a newer schema that says it is compatible
with it; on a newer schema that is not, readiness fails and the start stops, each with one clear line.

A newer version is simulated the way it would leave the database: ``alembic_version`` stamped with a
revision this version has never seen, and its row in ``deskgate_schema``.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from deskgate.cli import app as cli
from deskgate.services import build_services
from deskgate.settings import load_settings
from deskgate.store import compat
from tests.support.inprocess import SECRET_KEY, running_app

FUTURE = "9001_future"


async def _stamp_newer(engine: AsyncEngine, compatible_with: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": FUTURE})
        await connection.execute(
            text("INSERT INTO deskgate_schema (revision, compatible_with) VALUES (:r, :c)"),
            {"r": FUTURE, "c": compatible_with},
        )


def test_every_migration_declares_whether_the_previous_version_may_run_on_it() -> None:
    undeclared = [revision for revision, value in compat.declared().items() if value is None]
    assert undeclared == []
    # All expand-only until 0011, whose outbox rows 0010 code would misread; 0012 only adds a table.
    assert compat.compatible_with()["0010"] == "0001"
    assert compat.compatible_with()["0011"] == "0011"
    assert compat.compatible_with()["0012"] == "0011"


@pytest.mark.anyio
async def test_migrating_records_what_each_revision_is_compatible_with(db_url: str) -> None:
    async with running_app(db_url) as (client, services), services.engine.connect() as connection:
        result = await connection.execute(text("SELECT revision, compatible_with FROM deskgate_schema"))
        rows = {str(revision): str(oldest) for revision, oldest in result.all()}
        assert (await client.get("/readyz")).status_code == 200  # at head
    assert rows == compat.compatible_with()


@pytest.mark.anyio
async def test_ready_on_a_newer_compatible_schema(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async with running_app(db_url) as (client, services):
        await _stamp_newer(services.engine, compatible_with=compat.head())
        with caplog.at_level(logging.WARNING, logger="deskgate.health"):
            ready = await client.get("/readyz")
    assert (ready.status_code, ready.text) == (200, "ready")
    assert [r for r in caplog.records if r.name == "deskgate.health"] == []


@pytest.mark.anyio
async def test_not_ready_on_a_newer_incompatible_schema(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_app(db_url) as (client, services):
        await _stamp_newer(services.engine, compatible_with=FUTURE)
        with caplog.at_level(logging.WARNING, logger="deskgate.health"):
            refused = await client.get("/readyz")
    assert (refused.status_code, refused.text) == (503, "not ready: schema")
    assert [r.getMessage() for r in caplog.records if r.name == "deskgate.health"] == [
        f"readiness: the schema is at revision {FUTURE}, newer than this version's {compat.head()} and "
        f"not compatible with it (it needs code of revision {FUTURE} or newer): upgrade Deskgate"
    ]


@pytest.mark.anyio
async def test_this_version_starts_on_a_newer_compatible_schema_and_leaves_it_alone(db_url: str) -> None:
    async with running_app(db_url) as (_, services):
        await _stamp_newer(services.engine, compatible_with="0011")  # older than our head: fine too
    async with running_app(db_url) as (client, services):  # an old instance restarting mid-upgrade
        assert (await client.get("/readyz")).status_code == 200
        async with services.engine.connect() as connection:
            version = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert version == FUTURE  # not moved back


@pytest.mark.anyio
async def test_a_start_on_a_newer_incompatible_schema_is_refused(db_url: str) -> None:
    settings = load_settings(base_url="http://127.0.0.1:8080", secret_key=SECRET_KEY, database_url=db_url)
    async with running_app(db_url) as (_, services):
        await _stamp_newer(services.engine, compatible_with=FUTURE)
    with pytest.raises(compat.SchemaIncompatible, match="not compatible"):
        await build_services(settings)


def test_serve_and_db_upgrade_on_a_newer_incompatible_schema_exit_3_with_one_line(
    db_url: str, tmp_path: Path
) -> None:
    async def stamp() -> None:
        async with running_app(db_url) as (_, services):
            await _stamp_newer(services.engine, compatible_with=FUTURE)

    asyncio.run(stamp())
    config = tmp_path / "deskgate.yaml"
    settings = {"base_url": "http://127.0.0.1:8080", "secret_key": SECRET_KEY, "database_url": db_url}
    config.write_text(yaml.safe_dump(settings))
    for command in (["db", "upgrade"], ["serve", "--port", "1"]):
        result = CliRunner().invoke(cli, [*command, "--config", str(config)])
        assert result.exit_code == 3, result.output
        assert result.output.strip().splitlines() == [
            f"Deskgate cannot start: the schema is at revision {FUTURE}, newer than this version's "
            f"{compat.head()} and not compatible with it (it needs code of revision {FUTURE} or newer): "
            "upgrade Deskgate."
        ]
