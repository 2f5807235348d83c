"""The reads every portal page makes (a customer's link, time zone, pending writes), at their lowest cost.

An ORM session around one SELECT costs more than the SELECT: building the session and its identity map,
and on PostgreSQL a transaction (BEGIN before, ROLLBACK after: three round trips for one statement).
These helpers run a Core statement on a pooled connection instead, and on PostgreSQL outside any
transaction (AUTOCOMMIT: each statement sees the latest committed data, as it would alone in its own
transaction). On SQLite the driver opens no transaction for a read anyway.

For one statement, or several whose answers need not come from one snapshot. Writes keep their
transactions (`async_sessionmaker.begin()`).
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import Any

from sqlalchemy import Executable, Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

_READERS: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def reader(engine: AsyncEngine) -> AsyncEngine:
    """`engine` for reads: the same pool, without a transaction around each statement on PostgreSQL."""
    found = _READERS.get(engine)
    if found is None:
        found = engine
        if engine.dialect.name == "postgresql":
            found = engine.execution_options(isolation_level="AUTOCOMMIT")
        _READERS[engine] = found
    return found


def engine_of(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        raise TypeError("reads need a sessionmaker bound to an AsyncEngine")
    return bind


async def read_first(
    sessions: async_sessionmaker[AsyncSession],
    statement: Executable,
    parameters: Mapping[str, Any] | None = None,
) -> Row[Any] | None:
    """The first row `statement` gives (with its bound `parameters`, if any), or None."""
    async with reader(engine_of(sessions)).connect() as connection:
        return (await connection.execute(statement, parameters)).first()


@contextlib.asynccontextmanager
async def reading(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncConnection]:
    """A connection for a few reads in turn (each its own snapshot on PostgreSQL)."""
    async with reader(engine_of(sessions)).connect() as connection:
        yield connection
