"""The pages' reads (`deskgate.store.reads`) on both databases: the same rows an ORM session would give,
the latest committed data, and on PostgreSQL no transaction around them (one round trip, not three)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.store.models import CustomerPreferenceRow
from deskgate.store.reads import read_first, reader, reading

pytestmark = pytest.mark.anyio


def zone_of(idp: str, subject: str):  # type: ignore[no-untyped-def]
    return select(CustomerPreferenceRow.time_zone).where(
        CustomerPreferenceRow.idp == idp, CustomerPreferenceRow.subject == subject
    )


async def test_a_read_sees_what_was_committed_last_and_none_when_there_is_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await read_first(sessions, zone_of("gluu", "alice")) is None
    async with sessions.begin() as session:
        session.add(
            CustomerPreferenceRow(
                idp="gluu", subject="alice", time_zone="Asia/Tokyo", updated_at=datetime.now(UTC)
            )
        )
    row = await read_first(sessions, zone_of("gluu", "alice"))
    assert row is not None and row.time_zone == "Asia/Tokyo"
    async with sessions.begin() as session:
        stored = await session.get(CustomerPreferenceRow, ("gluu", "alice"))
        assert stored is not None
        stored.time_zone = "Europe/Paris"
    row = await read_first(sessions, zone_of("gluu", "alice"))
    assert row is not None and row.time_zone == "Europe/Paris"
    async with reading(sessions) as connection:
        both = [(await connection.execute(zone_of("gluu", who))).first() for who in ("alice", "bob")]
    assert [None if r is None else r.time_zone for r in both] == ["Europe/Paris", None]


async def test_on_postgresql_reads_start_no_transaction_and_writes_still_do(
    postgresql: async_sessionmaker[AsyncSession], transactions: list[int]
) -> None:
    sessions = postgresql
    for _ in range(5):
        await read_first(sessions, zone_of("gluu", "alice"))
    async with reading(sessions) as connection:
        await connection.execute(zone_of("gluu", "alice"))
    assert transactions == []
    async with sessions.begin() as session:  # a write on the same pool keeps its transaction
        session.add(
            CustomerPreferenceRow(idp="gluu", subject="bob", time_zone=None, updated_at=datetime.now(UTC))
        )
    assert transactions == [1]
    async with sessions() as session:  # and the pool's connections come back from reads unchanged
        await session.execute(zone_of("gluu", "bob"))
    assert transactions == [1, 1]


async def test_the_reader_is_made_once_per_engine(sessions: async_sessionmaker[AsyncSession]) -> None:
    engine = sessions.kw["bind"]
    assert reader(engine) is reader(engine)
    assert reader(engine).sync_engine.pool is engine.sync_engine.pool
