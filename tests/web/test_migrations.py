"""Schema migrations: idempotent, and all-or-nothing (an interrupted first start leaves no half schema)."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, inspect

from deskgate.settings import Settings
from deskgate.store import db

pytestmark = pytest.mark.anyio


async def test_migrate_twice_is_harmless(db_url: str) -> None:
    engine = db.create_engine(Settings(database_url=db_url, demo=True).sqlalchemy_url)
    try:
        await db.migrate(engine)
        await db.migrate(engine)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert {"sessions", "identity_providers", "audit_events", "login_states", "alembic_version"} <= tables


async def test_a_failed_migration_leaves_nothing_behind(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = db.create_engine(Settings(database_url=db_url, demo=True).sqlalchemy_url)
    upgrade = db._upgrade

    def upgrade_then_fail(connection: Connection) -> None:
        upgrade(connection)
        raise RuntimeError("interrupted after the tables were created")

    try:
        monkeypatch.setattr(db, "_upgrade", upgrade_then_fail)
        with pytest.raises(RuntimeError):
            await db.migrate(engine)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert tables == set()
        monkeypatch.setattr(db, "_upgrade", upgrade)
        await db.migrate(engine)  # and the next start succeeds
    finally:
        await engine.dispose()


async def test_the_migrations_build_exactly_the_models_schema(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from deskgate.store.models import Base

    engine = db.create_engine(Settings(database_url=db_url, demo=True).sqlalchemy_url)
    try:
        await db.migrate(engine)
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []
