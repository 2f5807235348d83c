"""Closing the login page's settings store lets a background refresh in progress finish its read (a
cancel would leave the database connection mid-statement), and still cancels one that hangs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.login import page
from deskgate.login.page import LoginPageSettings, LoginPageStore
from tests.support.databases import migrated

pytestmark = pytest.mark.anyio


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(db_url) as made:
        yield made


async def test_a_refresh_in_progress_ends_its_read_before_the_store_closes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = LoginPageStore(sessions)
    reading, finished = asyncio.Event(), []
    real_load = store._load

    async def slow_load() -> LoginPageSettings:
        reading.set()
        await asyncio.sleep(0.2)
        loaded = await real_load()
        finished.append(loaded)
        return loaded

    store._load = slow_load  # type: ignore[method-assign]
    store.current()  # stale: a refresh starts in the background
    await reading.wait()
    await store.aclose()
    assert finished == [LoginPageSettings()]


async def test_a_hung_refresh_is_cancelled_after_the_grace(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page, "CLOSE_GRACE_SECONDS", 0.1)
    store = LoginPageStore(sessions)
    cancelled = []

    async def hung() -> LoginPageSettings:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return LoginPageSettings()

    store._load = hung  # type: ignore[method-assign]
    store.current()
    await asyncio.sleep(0.01)
    await asyncio.wait_for(store.aclose(), 5)
    assert cancelled == [True]
