"""The IdP registry's cache never keeps a list read while a change was being saved (it would hide the
change for CACHE_SECONDS: an IdP just added missing from the console's list)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from deskgate.crypto import SecretBox
from deskgate.identity.registry import ProviderRegistry
from tests.support.databases import migrated
from tests.support.idps import provider

pytestmark = pytest.mark.anyio


class HeldRead:
    """A session whose SELECT returns only when released: the read is taken, then held back."""

    def __init__(self, db: AsyncSession, taken: asyncio.Event, release: asyncio.Event) -> None:
        self._db, self._taken, self._release = db, taken, release

    async def scalars(self, statement: Any) -> Any:
        result = await self._db.scalars(statement)
        self._taken.set()
        await self._release.wait()
        return result


async def test_a_read_overtaken_by_a_save_is_not_cached(db_url: str) -> None:
    async with migrated(db_url) as sessions:
        registry = ProviderRegistry(sessions, SecretBox("registry-cache-test-secret-0123456789abcdef"))
        taken, release = asyncio.Event(), asyncio.Event()

        class Held:
            """The registry's sessions, with reads held back after their SELECT; writes as they are."""

            begin = sessions.begin

            @asynccontextmanager
            async def __call__(self) -> AsyncIterator[HeldRead]:
                async with sessions() as db:
                    yield HeldRead(db, taken, release)

        registry._sessions = Held()  # type: ignore[assignment]
        reading = asyncio.create_task(registry.all())
        await taken.wait()  # the list is read, still empty
        await registry.save(provider("corp", client_secret=SecretStr("s3cret")))
        release.set()
        assert await reading == []  # that caller gets the list as it was when it asked
        registry._sessions = sessions
        assert [c.name for c in await registry.all()] == ["corp"]  # but it was not kept as the cache
