"""Throw-away databases: a SQLite file, or a fresh PostgreSQL database on the local server."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.settings import Settings
from deskgate.store.db import create_engine, migrate, sessionmaker

PG_ADMIN_DSN = os.environ.get("DESKGATE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def database_url(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'deskgate.db'}"
        return
    name = f"deskgate_test_{secrets.token_hex(6)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@asynccontextmanager
async def async_database_url(kind: str, tmp: Path) -> AsyncIterator[str]:
    """The same, for use inside a running event loop."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'deskgate.db'}"
        return
    name = f"deskgate_test_{secrets.token_hex(6)}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def migrated(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the database at ``db_url`` (SQLite or PostgreSQL), migrated to the newest schema."""
    engine = create_engine(Settings(database_url=db_url, demo=True).sqlalchemy_url)
    try:
        await migrate(engine)
        yield sessionmaker(engine)
    finally:
        await engine.dispose()
