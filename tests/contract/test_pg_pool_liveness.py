"""PostgreSQL's pool hands out no dead connection, and asks the server nothing for a live one in steady
use (a ping per checkout was three round trips with asyncpg: more than most requests' own statements)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from deskgate.store import db
from tests.support.databases import PG_ADMIN_DSN, _admin, async_database_url

pytestmark = pytest.mark.anyio


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with async_database_url("postgresql", tmp_path) as url:
        made = db.create_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1), pool_size=1)
        try:
            yield made
        finally:
            await made.dispose()


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each ping the pool sends, counted (by the driver connection's own ping, as SQLAlchemy's pre-ping
    sends it too)."""
    sent: list[int] = []
    real = AsyncAdapt_asyncpg_connection.ping

    def counted(self: AsyncAdapt_asyncpg_connection) -> None:
        sent.append(1)
        real(self)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counted)
    return sent


async def gone(pid: int) -> None:
    """Wait until the server has ended backend `pid`."""
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        for _ in range(200):
            if not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
                return
            await asyncio.sleep(0.02)
    finally:
        await admin.close()
    raise AssertionError(f"backend {pid} still there")


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_connection_in_steady_use_is_handed_out_without_a_ping(
    engine: AsyncEngine, pings: list[int]
) -> None:
    first = await backend_pid(engine)
    for _ in range(20):
        assert await backend_pid(engine) == first  # the one pooled connection, every time
    assert pings == []


async def test_a_connection_the_server_closed_is_replaced_before_anyone_uses_it(
    engine: AsyncEngine, pings: list[int]
) -> None:
    first = await backend_pid(engine)
    await _admin(f"SELECT pg_terminate_backend({first})")  # as a restart or an idle timeout would
    await gone(first)
    await asyncio.sleep(0.1)  # the driver reads the server's goodbye as soon as the loop runs
    second = await backend_pid(engine)
    assert second != first
    assert await backend_pid(engine) == second
    assert pings == []  # known without asking


async def test_a_connection_idle_past_the_limit_is_pinged_and_replaced_if_it_does_not_answer(
    engine: AsyncEngine, pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await backend_pid(engine)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert await backend_pid(engine) == first  # idle past the limit: pinged, answered, kept
    assert len(pings) == 1

    real = AsyncAdapt_asyncpg_connection.ping
    silent: list[int] = []

    def no_answer(self: AsyncAdapt_asyncpg_connection) -> None:
        if not silent:  # as a network path that died without a word
            silent.append(1)
            raise OSError("no route to host")
        real(self)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", no_answer)
    replaced = await backend_pid(engine)  # served by a new connection, with no error to the caller
    assert silent == [1]
    assert replaced != first


async def test_a_peak_opens_no_more_than_the_pool_and_closes_nothing_after(tmp_path: Path) -> None:
    """Overflow connections were closed as soon as they came back: every peak opened new connections (the
    TCP and SSL negotiation, the start-up, every statement prepared again), a large share of the CPU of the
    500-customer load test. Now a peak waits for one of the pool's connections, which all stay open."""
    async with async_database_url("postgresql", tmp_path) as url:
        engine = db.create_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1), pool_size=3)
        try:
            seen: set[int] = set()

            async def busy() -> None:
                async with engine.connect() as connection:
                    seen.add(int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()))
                    await asyncio.sleep(0.05)

            await asyncio.gather(*(busy() for _ in range(9)))  # a peak of 9 at once on a pool of 3
            assert len(seen) == 3
            pool = engine.sync_engine.pool
            assert isinstance(pool, QueuePool)
            assert pool.checkedin() == 3  # all three still open, waiting for the next peak
            await asyncio.gather(*(busy() for _ in range(9)))
            assert len(seen) == 3  # and used again: no connection opened anew
        finally:
            await engine.dispose()
