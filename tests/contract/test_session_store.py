"""The one contract every session store must keep, run against each implementation."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from deskgate.crypto import SecretBox, digest
from deskgate.sessions.store import (
    DuplicateSession,
    MemorySessionStore,
    SessionRecord,
    SessionStore,
    SqlSessionStore,
)
from deskgate.settings import Settings
from deskgate.store import db
from tests.support.databases import async_database_url

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def record(
    name: str, *, idp: str = "gluu", subject: str = "sub-1", sid: str | None = "sid-1"
) -> SessionRecord:
    return SessionRecord(
        id_hash=digest(name),
        idp=idp,
        subject=subject,
        email=f"{subject}@example.com",
        display_name="Ada Lovelace",
        created_at=NOW,
        last_seen_at=NOW,
        expires_at=NOW + timedelta(hours=12),
        idp_session_id=sid,
        attributes={"groups": ["customers"], "first_name": "Ada"},
        id_token="header.payload.signature",
    )


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SessionStore]:
    if request.param == "memory":
        yield MemorySessionStore()
        return
    async with async_database_url(request.param, tmp_path_factory.mktemp("db")) as url:
        engine = db.create_engine(Settings(database_url=url, demo=True).sqlalchemy_url)
        await db.migrate(engine)
        try:
            yield SqlSessionStore(db.sessionmaker(engine), SecretBox("k" * 40))
        finally:
            await engine.dispose()


async def test_save_then_load_gives_the_same_record(store: SessionStore) -> None:
    original = record("a")
    await store.save(original)
    assert await store.load(original.id_hash) == original
    assert await store.load(digest("unknown")) is None


async def test_touch_moves_last_seen_only(store: SessionStore) -> None:
    original = record("a")
    await store.save(original)
    later = NOW + timedelta(minutes=5)
    await store.touch(original.id_hash, later)
    assert await store.load(original.id_hash) == dataclasses.replace(original, last_seen_at=later)
    await store.touch(digest("unknown"), later)  # touching nothing is not an error
    assert await store.load(digest("unknown")) is None


async def test_delete_returns_the_ended_record_once(store: SessionStore) -> None:
    original = record("a")
    await store.save(original)
    assert await store.delete(original.id_hash) == original
    assert await store.delete(original.id_hash) is None
    assert await store.load(original.id_hash) is None


async def test_delete_matching_by_sid_by_subject_and_never_across_idps(store: SessionStore) -> None:
    a = record("a", subject="s1", sid="x")
    b = record("b", subject="s1", sid="y")
    c = record("c", subject="s2", sid="x")
    other_idp = record("d", idp="okta", subject="s1", sid="x")
    for r in (a, b, c, other_idp):
        await store.save(r)
    ended = await store.delete_matching(idp="gluu", idp_session_id="x", subject="s1")
    assert [r.id_hash for r in ended] == [a.id_hash]
    ended = await store.delete_matching(idp="gluu", subject="s1")
    assert [r.id_hash for r in ended] == [b.id_hash]
    ended = await store.delete_matching(idp="gluu", idp_session_id="x")
    assert [r.id_hash for r in ended] == [c.id_hash]
    assert await store.load(other_idp.id_hash) == other_idp
    assert await store.delete_matching(idp="okta") == []  # no criterion: ends nothing
    assert await store.load(other_idp.id_hash) == other_idp


async def test_purge_expired_removes_only_expired(store: SessionStore) -> None:
    live = record("live")
    dead = dataclasses.replace(record("dead"), expires_at=NOW - timedelta(seconds=1))
    await store.save(live)
    await store.save(dead)
    assert await store.purge_expired(NOW) == 1
    assert await store.load(dead.id_hash) is None
    assert await store.load(live.id_hash) == live


async def test_delete_matching_only_without_sid(store: SessionStore) -> None:
    with_sid = record("a", subject="s1", sid="x")
    without_sid = record("b", subject="s1", sid=None)
    await store.save(with_sid)
    await store.save(without_sid)
    ended = await store.delete_matching(idp="gluu", subject="s1", only_without_sid=True)
    assert [r.id_hash for r in ended] == [without_sid.id_hash]
    assert await store.load(with_sid.id_hash) == with_sid


async def test_an_id_is_never_saved_twice(store: SessionStore) -> None:
    original = record("a")
    await store.save(original)
    with pytest.raises(DuplicateSession):
        await store.save(dataclasses.replace(original, subject="someone-else"))
    assert await store.load(original.id_hash) == original
