"""Writes of one statement (the outbox's claims and leases), at their lowest cost.

One INSERT, UPDATE or DELETE is atomic on its own: it needs no transaction around it, and no ORM session
(building one, its identity map and its flush cost more than the statement). On PostgreSQL such a
statement runs outside any transaction (AUTOCOMMIT: one round trip instead of BEGIN, the statement and
COMMIT); on SQLite in a Core transaction of its own, which the driver opens and commits as it would
around any write. Several statements that must succeed or fail together keep a transaction
(`async_sessionmaker.begin()` or `AsyncEngine.begin()`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from deskgate.store.reads import engine_of, reader


@dataclass(frozen=True, slots=True)
class Written:
    rowcount: int  # rows the statement matched
    rows: list[Row[Any]]  # what its RETURNING gave, if it has one


async def write_one(sessions: async_sessionmaker[AsyncSession], statement: Executable) -> Written:
    """Run one writing statement atomically."""
    engine = engine_of(sessions)
    if engine.dialect.name == "postgresql":
        async with reader(engine).connect() as connection:
            return await _run(connection, statement)
    async with engine.begin() as connection:
        return await _run(connection, statement)


async def _run(connection: AsyncConnection, statement: Executable) -> Written:
    result = await connection.execute(statement)
    rows = list(result.all()) if result.returns_rows else []
    return Written(result.rowcount, rows)
