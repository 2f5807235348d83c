"""A read of the JSM connection or of the login-page settings that began before a change and ends after
it must not put the old value back in the per-process cache (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.crypto import SecretBox
from deskgate.jsm import JsmConnection
from deskgate.login.page import Branding, LoginPageSettings, LoginPageStore
from deskgate.portal.connection import JiraSettings
from tests.support.databases import migrated

pytestmark = pytest.mark.anyio


class HeldReads:
    """Sessions whose reads (``db.get``) return what the database held, but only once released."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self.read_done = asyncio.Event()
        self.release = asyncio.Event()
        self.holding = False

    def begin(self) -> Any:
        return self._sessions.begin()

    @contextlib.asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as db:
            if self.holding:
                real_get = db.get

                async def held_get(*args: Any, **kwargs: Any) -> Any:
                    row = await real_get(*args, **kwargs)
                    self.read_done.set()
                    await self.release.wait()
                    return row

                db.get = held_get  # type: ignore[method-assign]
            yield db


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(db_url) as made:
        yield made


def _connection(site: str) -> JsmConnection:
    return JsmConnection(site_url=site, email="svc@example.com", api_token=SecretStr("token-0123456789"))


async def test_a_connection_read_overtaken_by_a_change_is_not_cached(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    held = HeldReads(sessions)
    jira = JiraSettings(held, SecretBox("cache-race-secret-key-0123456789-abcdef"))  # type: ignore[arg-type]
    await jira.replace(_connection("https://old.atlassian.net"))
    held.holding = True
    reading = asyncio.create_task(jira.get())
    await held.read_done.wait()  # the old row is read ...
    held.holding = False
    await jira.replace(_connection("https://new.atlassian.net"))  # ... the change commits ...
    held.release.set()
    old = await reading  # ... and that read ends
    assert old is not None and str(old.site_url).startswith("https://old")
    current = await jira.get()
    assert current is not None and str(current.site_url).startswith("https://new")


async def test_a_login_page_read_overtaken_by_a_save_does_not_bring_back_the_old_settings(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    held = HeldReads(sessions)
    store = LoginPageStore(held)  # type: ignore[arg-type]
    await store.save(LoginPageSettings(branding=Branding(name="Old Desk")))
    store._loaded_at = None  # stale, as after the cache window
    held.holding = True
    reading = asyncio.create_task(store.get())
    await held.read_done.wait()
    held.holding = False
    await store.save(LoginPageSettings(branding=Branding(name="New Desk")))
    held.release.set()
    assert (await reading).branding.name == "New Desk"
    assert store.current().branding.name == "New Desk"
    assert (await store.get()).branding.name == "New Desk"
