"""SQLite through aiosqlite, one trip to the driver's thread per statement.

aiosqlite runs each connection's sqlite3 calls on a thread of its own, and every call is a trip there
and back: the loop queues the call, the thread wakes, runs it, and wakes the loop with the answer.
SQLAlchemy's aiosqlite adapter makes three or four trips per statement (open a cursor, execute, fetch the
rows, close the cursor), each two thread wake-ups. Three statements and a commit through an `AsyncEngine`
took 1.33-1.37 ms that way in a loop, 1.02-1.09 ms with one trip each (bench/README.md, "One trip per
SQLite statement").

`OneTripCursor` runs the whole statement in one trip: a function on the driver's thread opens a sqlite3
cursor, executes, fetches every row, notes the description, row count and last row id, and closes the
cursor. Everything SQLAlchemy then asks of the cursor is answered from what came back. The statements,
their parameters, the transactions and the errors are sqlite3's, unchanged. Server-side cursors (rows
fetched a few at a time) keep aiosqlite's own, several trips each.

Used by `deskgate.store.db.create_engine` for every SQLite database (`module=` of the engine).
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

Description = tuple[tuple[Any, ...], ...] | None


def _run(
    connection: sqlite3.Connection, operation: str, parameters: Any, many: bool
) -> tuple[Description, list[Any], int, int | None]:
    """On the driver's thread: the statement, start to finish."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        # After the fetch: for INSERT … RETURNING, sqlite3 counts the rows as they are read.
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose statement is one trip to the driver's thread (see the module)."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No aiosqlite cursor is opened here (that was a trip of its own): `_run` opens one per statement.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Description = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1  # sqlite3's default, for fetchmany() without a size

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._one_trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._one_trip(operation, seq_of_parameters, many=True)

    async def _one_trip(self, operation: Any, parameters: Any, *, many: bool) -> None:
        driver: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            self._description, rows, self._rowcount, self._lastrowid = await driver._execute(  # type: ignore[no-untyped-call]
                _run, driver._conn, operation, parameters, many
            )
        self._rows = collections.deque(rows)

    async def _async_soft_close(self) -> None:
        return None  # nothing is open: the statement's cursor closed on the driver's thread

    def close(self) -> None:
        self._rows.clear()

    def nextset(self) -> None:
        raise NotImplementedError("sqlite3 has no result sets after the first")

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None  # sqlite3 ignores it too


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # a subclass of the one it replaces


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """aiosqlite as SQLAlchemy adapts it, with `OneTripConnection` for its connections."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
