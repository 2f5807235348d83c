"""The one-trip SQLite cursor (`store/sqlite_driver.py`) against SQLAlchemy's own aiosqlite adapter.

Both engines run the same statements on files of their own, and must answer the same: rows, row counts,
generated keys, RETURNING, executemany, errors, rollback, streamed results. Then the point of it: a
statement is one trip to the driver's thread, where SQLAlchemy's adapter makes three or four.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from deskgate.store.db import create_engine
from deskgate.store.sqlite_driver import OneTripCursor

pytestmark = pytest.mark.anyio

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), unique=True, nullable=False),
    Column("size", Integer),
    Column("blob", LargeBinary),
)


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[dict[str, AsyncEngine]]:
    made = {
        "sqlalchemy": create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'theirs.db'}"),
        "one trip": create_engine(f"sqlite+aiosqlite:///{tmp_path / 'ours.db'}"),
    }
    for engine in made.values():
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
    try:
        yield made
    finally:
        for engine in made.values():
            await engine.dispose()


async def both(engines: dict[str, AsyncEngine], work: Callable[[AsyncEngine], Any]) -> tuple[Any, Any]:
    return await work(engines["sqlalchemy"]), await work(engines["one trip"])


async def test_the_engine_uses_the_one_trip_cursor(engines: dict[str, AsyncEngine]) -> None:
    async with engines["one trip"].connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection.cursor(), OneTripCursor)  # type: ignore[union-attr]


async def test_writes_and_reads_answer_the_same(engines: dict[str, AsyncEngine]) -> None:
    async def work(engine: AsyncEngine) -> list[Any]:
        seen: list[Any] = []
        async with engine.begin() as connection:
            first = await connection.execute(insert(things).values(name="a", size=1))
            seen.append(first.inserted_primary_key)
            many = await connection.execute(insert(things), [{"name": f"m{i}", "size": i} for i in range(5)])
            seen.append(many.rowcount)
            returned = await connection.execute(
                insert(things).values(name="r", size=7).returning(things.c.id, things.c.name)
            )
            seen.append(returned.all())
            changed = await connection.execute(update(things).where(things.c.size < 3).values(size=0))
            seen.append(changed.rowcount)
            updated = await connection.execute(
                update(things).where(things.c.name == "r").values(size=8).returning(things.c.size)
            )
            seen.append(updated.all())
            gone = await connection.execute(delete(things).where(things.c.name == "m4"))
            seen.append(gone.rowcount)
            nothing = await connection.execute(delete(things).where(things.c.name == "nobody"))
            seen.append(nothing.rowcount)
        async with engine.connect() as connection:
            result = await connection.execute(select(things.c.name, things.c.size).order_by(things.c.id))
            seen.append(result.fetchmany(2))
            seen.append(result.fetchone())
            seen.append(result.all())
            seen.append(await connection.scalar(select(things.c.id).where(things.c.name == "nobody")))
            streamed = await connection.stream(select(things.c.name).order_by(things.c.name))
            seen.append([row async for row in streamed])
        return seen

    theirs, ours = await both(engines, work)
    assert ours == theirs
    assert ours[1] == 5 and ours[3] == 4 and ours[5] == 1 and ours[6] == 0  # not vacuous: counts were made


async def test_errors_and_rollback_are_the_drivers(engines: dict[str, AsyncEngine]) -> None:
    async def work(engine: AsyncEngine) -> list[Any]:
        seen: list[Any] = []
        async with engine.begin() as connection:
            await connection.execute(insert(things).values(name="taken"))
        async with engine.connect() as connection:
            await connection.execute(insert(things).values(name="kept back"))
            with pytest.raises(IntegrityError) as duplicate:
                await connection.execute(insert(things).values(name="taken"))
            await connection.rollback()
        seen.append(type(duplicate.value.orig).__name__)
        with pytest.raises(OperationalError) as bad:
            async with engine.connect() as connection:
                await connection.exec_driver_sql("SELECT * FROM no_such_table")
        seen.append(str(bad.value.orig))
        async with engine.connect() as connection:  # the transaction that failed left nothing
            seen.append((await connection.execute(select(things.c.name))).all())
            await connection.execute(insert(things).values(name="never committed"))
            await connection.rollback()
            seen.append((await connection.execute(select(things.c.name))).all())
        return seen

    theirs, ours = await both(engines, work)
    assert ours == theirs
    assert ours[2] == [("taken",)]


values = st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(st.text(min_size=1, max_size=100), values, st.one_of(st.none(), st.binary(max_size=64))),
        max_size=8,
        unique_by=lambda row: row[0],
    )
)
async def test_any_values_come_back_as_they_went_in(
    engines: dict[str, AsyncEngine], rows: list[tuple[str, Any, bytes | None]]
) -> None:
    async def work(engine: AsyncEngine) -> list[Any]:
        async with engine.begin() as connection:
            await connection.execute(delete(things))
            if rows:
                await connection.execute(
                    insert(things),
                    [{"name": name, "size": size if isinstance(size, int) else None, "blob": blob}
                     for name, size, blob in rows],
                )  # fmt: skip
            if rows:  # and one more, alone, with what RETURNING gives back
                name, size, blob = rows[0]
                await connection.execute(delete(things).where(things.c.name == name))
                again = await connection.execute(
                    insert(things)
                    .values(name=name, size=size if isinstance(size, int) else None, blob=blob)
                    .returning(things.c.name, things.c.blob)
                )
                assert again.one() == (name, blob)
        async with engine.connect() as connection:
            return list((await connection.execute(select(things).order_by(things.c.name))).all())

    theirs, ours = await both(engines, work)
    assert [tuple(row[1:]) for row in ours] == [tuple(row[1:]) for row in theirs]
    assert sorted(row.name for row in ours) == sorted(name for name, _, _ in rows)


async def test_a_statement_is_one_trip_to_the_drivers_thread(
    engines: dict[str, AsyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    trips: list[str] = []
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(fn, "__name__", repr(fn)))
        return await real(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    counts: dict[str, int] = {}
    for name, engine in engines.items():
        async with engine.connect() as connection:
            await connection.scalar(select(things.c.id))  # the pool's connection is made first
            monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
            trips.clear()
            await connection.execute(select(things.c.name).where(things.c.size == 1))
            await connection.execute(insert(things).values(name="x"))
            counts[name] = len(trips)
            monkeypatch.setattr(aiosqlite.Connection, "_execute", real)
            await connection.rollback()
    assert counts["one trip"] == 2, counts  # one per statement
    assert counts["sqlalchemy"] >= 6, counts  # cursor, execute, (fetch), close: what this saves
