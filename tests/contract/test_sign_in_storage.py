"""What makes a sign-in's storage cheaper: SQLite connections going back to the pool rolled back only when
something is open (pending sign-ins, sealed in the browser: tests/contract/test_login_states.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from deskgate.store import db

pytestmark = pytest.mark.anyio


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
