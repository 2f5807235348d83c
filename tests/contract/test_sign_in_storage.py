"""What makes a sign-in's storage cheaper: expired pending sign-ins purged once in a while (never served in
between), and SQLite connections going back to the pool rolled back only when something is open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.errors import LoginStateError
from deskgate.login.states import PURGE_SECONDS, LoginStates, PendingLogin
from deskgate.store import db
from deskgate.store.models import LoginStateRow
from tests.contract.test_session_store import migrated

pytestmark = pytest.mark.anyio
PENDING = PendingLogin(idp="corp", purpose="login", nonce="n", code_verifier="v", next_url="/account")


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(request.param, tmp_path_factory) as sessions:
        yield sessions


async def _pending_rows(database: async_sessionmaker[AsyncSession]) -> int:
    async with database() as session:
        return int(await session.scalar(select(func.count()).select_from(LoginStateRow)) or 0)


async def test_expired_pending_sign_ins_are_purged_once_in_a_while_and_never_taken(
    database: async_sessionmaker[AsyncSession],
) -> None:
    start = datetime.now(UTC)
    clock, ticks = [start], [0.0]
    states = LoginStates(
        database, lifetime=timedelta(minutes=5), clock=lambda: clock[0], monotonic=lambda: ticks[0]
    )
    await states.put("old", "b", PENDING)  # the first put purges (nothing yet)
    clock[0] = start + timedelta(minutes=6)
    ticks[0] = PURGE_SECONDS - 1
    await states.put("new", "b", PENDING)  # too soon after the last purge: "old" stays
    assert await _pending_rows(database) == 2
    with pytest.raises(LoginStateError):  # ... but is refused all the same
        await states.take("old", "b")
    await states.put("old-2", "b", PENDING)
    clock[0] = start + timedelta(minutes=12)
    ticks[0] = PURGE_SECONDS
    await states.put("newest", "b", PENDING)  # a minute on: the expired ones go
    assert await _pending_rows(database) == 1
    assert await states.take("newest", "b") == PENDING


async def test_an_sqlite_connection_left_in_a_transaction_is_rolled_back_on_its_way_to_the_pool(
    tmp_path: Path,
) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'reset.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection = await engine.connect()
        driver = (await connection.get_raw_connection()).dbapi_connection.driver_connection  # type: ignore[union-attr]
        # Written past SQLAlchemy (which would roll back its own transaction): only the pool's reset can.
        await driver.execute("INSERT INTO t VALUES (1)")
        assert driver.in_transaction
        await connection.close()
        assert not driver.in_transaction
        async with engine.connect() as again:
            assert (await again.execute(text("SELECT count(*) FROM t"))).scalar() == 0
    finally:
        await engine.dispose()
