"""Fixtures the storage contracts share: sessions on each database, PostgreSQL alone, and a count of the
transactions its driver starts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.databases import async_database_url, migrated


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(db_url) as made:
        yield made


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The transactions the PostgreSQL driver starts (it is asked to before every statement, and starts
    none in AUTOCOMMIT), counted."""
    started: list[int] = []
    real = AsyncAdapt_asyncpg_connection._start_transaction

    async def counted(self: AsyncAdapt_asyncpg_connection) -> None:
        if self.isolation_level != "autocommit":
            started.append(1)
        await real(self)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "_start_transaction", counted)
    return started


@pytest.fixture
async def postgresql(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """PostgreSQL only (SQLite's driver starts no transaction for a read anyway)."""
    async with async_database_url("postgresql", tmp_path) as url, migrated(url) as made:
        yield made
