"""Portal fixtures: the JSM emulator in-process (both flavours) and Services on each database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.jsm import JsmClient
from deskgate.jsm.emulator import EmulatorApp, create_emulator
from deskgate.services import Services, build_services
from deskgate.settings import Settings
from tests.support.databases import migrated

SITE = "https://jsm.test"
SECRET_KEY = "portal-test-secret-key-0123456789-abcdefg"
BASE_URL = "https://help.example.com"


@dataclass
class Portal:
    app: EmulatorApp
    services: Services

    def calls(self, suffix: str = "", method: str | None = None) -> int:
        return sum(
            1 for m, path in self.app.calls if path.endswith(suffix) and (method is None or m == method)
        )

    async def client(self) -> JsmClient:
        return await self.services.jsm_client()


@pytest.fixture(params=["cloud", "datacenter"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def portal(db_url: str, flavour: str) -> AsyncIterator[Portal]:
    app = create_emulator(flavour)  # type: ignore[arg-type]
    settings = Settings(
        base_url=BASE_URL, secret_key=SECRET_KEY, database_url=db_url, jsm=app.connection(SITE)
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        services = await build_services(settings, http=http)
        try:
            app.calls.clear()
            yield Portal(app, services)
        finally:
            await services.aclose()


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated database (SQLite or PostgreSQL) for tests that write rows directly."""
    async with migrated(db_url) as made:
        yield made
