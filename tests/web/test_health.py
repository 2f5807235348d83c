"""`/healthz` and `/readyz`: liveness asks nothing outside the process; readiness names the failed check and
nothing else (no URL, host or driver message), with the detail in the log."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from deskgate.audit import AuditFilter
from deskgate.crypto import SecretBox
from deskgate.health import Readiness, schema_head
from deskgate.services import Services
from deskgate.sessions.redis_store import RedisSessionStore
from deskgate.settings import load_settings
from deskgate.web.app import create_app
from tests.support.databases import PG_ADMIN_DSN, async_database_url
from tests.support.inprocess import SECRET_KEY, running_app
from tests.support.redis import REDIS_URL, redis_prefix

pytestmark = pytest.mark.anyio

DEAD_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _plain_and_uncached(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/plain")
    assert "no-store" in response.headers["cache-control"]
    assert "set-cookie" not in response.headers  # no session, no CSRF cookie
    assert response.headers["x-content-type-options"] == "nosniff"  # the security headers, as everywhere
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_liveness_answers_ok_to_get_and_head_only(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        audited = await services.audit.count(AuditFilter())
        live = await client.get("/healthz")
        head = await client.head("/healthz")
        post = await client.post("/healthz")
        assert await services.audit.count(AuditFilter()) == audited  # probes are not audited
    assert (live.status_code, live.text) == (200, "ok")
    _plain_and_uncached(live)
    assert head.status_code == 200 and head.content == b""
    assert post.status_code == 405


async def test_readiness_answers_ready_on_a_healthy_app(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        audited = await services.audit.count(AuditFilter())
        ready = await client.get("/readyz")
        head = await client.head("/readyz")
        assert await services.audit.count(AuditFilter()) == audited
    assert (ready.status_code, ready.text) == (200, "ready")
    _plain_and_uncached(ready)
    assert head.status_code == 200


async def test_readiness_names_the_schema_when_it_is_not_the_migrated_one(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_app(db_url) as (client, services):
        assert (await client.get("/readyz")).status_code == 200
        async with services.engine.begin() as connection:
            await connection.execute(text("DROP TABLE alembic_version"))
        with caplog.at_level(logging.WARNING, logger="deskgate.health"):
            refused = await client.get("/readyz")
        live = await client.get("/healthz")
    assert schema_head() is not None  # else a database without migrations would pass as current
    assert (refused.status_code, refused.text) == (503, "not ready: schema")
    _plain_and_uncached(refused)
    assert live.status_code == 200
    assert [r.getMessage() for r in caplog.records if r.name == "deskgate.health"] == [
        f"readiness: the schema is at revision None, this version needs {schema_head()}"
    ]


async def test_readiness_names_the_database_when_postgresql_drops_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with async_database_url("postgresql", tmp_path) as url:
        name = make_url(url).database
        async with running_app(url) as (client, _):
            assert (await client.get("/readyz")).status_code == 200
            admin = await asyncpg.connect(PG_ADMIN_DSN)
            try:  # FORCE ends the app's pooled connections too: nothing of the database is left
                await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            finally:
                await admin.close()
            with caplog.at_level(logging.WARNING, logger="deskgate.health"):
                refused = await client.get("/readyz")
            live = await client.get("/healthz")
    assert (refused.status_code, refused.text) == (503, "not ready: database")
    _plain_and_uncached(refused)
    everything = refused.text + str(refused.headers)
    assert url not in everything and name and name not in everything
    assert "127.0.0.1" not in everything and "5432" not in everything
    assert (live.status_code, live.text) == (200, "ok")  # liveness never asks the database
    logged = [r.getMessage() for r in caplog.records if r.name == "deskgate.health"]
    assert len(logged) == 1 and logged[0].startswith("readiness: the database check failed (")
    assert name not in logged[0] and "127.0.0.1" not in logged[0] and "postgres" not in logged[0]


async def test_readiness_answers_ready_with_redis_sessions(tmp_path: Path) -> None:
    async with (
        redis_prefix() as prefix,
        running_app(
            f"sqlite:///{tmp_path / 'deskgate.db'}",
            session_store="redis",
            redis_url=REDIS_URL,
            redis_key_prefix=prefix,
        ) as (client, services),
    ):
        assert isinstance(services.sessions.store, RedisSessionStore)
        ready = await client.get("/readyz")
    assert (ready.status_code, ready.text) == (200, "ready")


@asynccontextmanager
async def _app_with_store(
    db_url: str, store: RedisSessionStore
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    """The app with `store` for customer sessions (the settings' choice gives way to it)."""
    settings = load_settings(base_url="http://127.0.0.1:8080", secret_key=SECRET_KEY, database_url=db_url)
    app = create_app(settings, session_store=store)
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        assert services.sessions.store is store
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
            yield client, services


async def test_readiness_names_redis_when_it_does_not_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A store that connects lazily: `connect` would have stopped the start on a Redis that is away.
    store = RedisSessionStore.from_url(DEAD_REDIS_URL, SecretBox(SECRET_KEY))
    async with _app_with_store(f"sqlite:///{tmp_path / 'deskgate.db'}", store) as (client, _):
        with caplog.at_level(logging.WARNING, logger="deskgate.health"):
            refused = await client.get("/readyz")
        live = await client.get("/healthz")
    assert (refused.status_code, refused.text) == (503, "not ready: redis")
    assert "127.0.0.1" not in refused.text + str(refused.headers)
    assert live.status_code == 200
    logged = [r.getMessage() for r in caplog.records if r.name == "deskgate.health"]
    assert len(logged) == 1 and logged[0].startswith("readiness: the redis check failed (")
    assert "127.0.0.1" not in logged[0]


async def test_a_redis_that_never_answers_is_cut_off_by_the_timeout(tmp_path: Path) -> None:
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # the connection is accepted, and PING never answered

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    store = RedisSessionStore.from_url(f"redis://127.0.0.1:{port}/0", SecretBox(SECRET_KEY))
    try:
        async with _app_with_store(f"sqlite:///{tmp_path / 'deskgate.db'}", store) as (_, services):
            started = time.monotonic()
            async with asyncio.timeout(5):  # without the check's own timeout, a failure, not a hang
                failed = await Readiness(services, seconds=0.3).failed_checks()
            waited = time.monotonic() - started
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
    assert failed == ["redis"]
    assert waited < 2  # the timeout, not redis-py's own (none by default), ended the wait
