"""The one contract every session store must keep, run against each implementation."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.admin.sessions import ADMIN_REALM, SqlAdminSessionStore
from deskgate.crypto import SecretBox, digest
from deskgate.sessions.memory import MemorySessionStore
from deskgate.sessions.redis_store import RedisSessionStore
from deskgate.sessions.store import DuplicateSession, SessionRecord, SessionStore, SqlSessionStore
from deskgate.settings import Settings
from deskgate.store import db
from tests.support.databases import async_database_url
from tests.support.redis import REDIS_URL, redis_prefix

pytestmark = pytest.mark.anyio
# The real time, not a fixed date: Redis expires records by its own clock at their absolute end.
NOW = datetime.now(UTC).replace(microsecond=0)


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


@pytest.fixture(params=["memory", "sqlite", "postgresql", "redis"])
async def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SessionStore]:
    if request.param == "memory":
        yield MemorySessionStore()
        return
    if request.param == "redis":
        async with redis_prefix() as prefix:
            redis_store = RedisSessionStore.from_url(REDIS_URL, SecretBox("k" * 40), prefix=prefix)
            try:
                yield redis_store
            finally:
                await redis_store.aclose()
        return
    async with migrated(request.param, tmp_path_factory) as sessions:
        yield SqlSessionStore(sessions, SecretBox("k" * 40))


@asynccontextmanager
async def migrated(
    kind: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with async_database_url(kind, tmp_path_factory.mktemp("db")) as url:
        engine = db.create_engine(Settings(database_url=url, demo=True).sqlalchemy_url)
        await db.migrate(engine)
        try:
            yield db.sessionmaker(engine)
        finally:
            await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(request.param, tmp_path_factory) as sessions:
        yield sessions


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


async def test_delete_idp_ends_every_session_of_that_idp_and_no_other(store: SessionStore) -> None:
    """Asked for by name: the admin turned the IdP off. Every subject, with or without an IdP session id."""
    mine = [
        record("a", subject="s1", sid="x"),
        record("b", subject="s2", sid=None),
        record("c", subject="s3"),
    ]
    others = [record("d", idp="okta", subject="s1", sid="x"), record("e", idp="gluu-2", subject="s1")]
    for r in (*mine, *others):
        await store.save(r)
    ended = await store.delete_idp("gluu")
    assert sorted(r.id_hash for r in ended) == sorted(r.id_hash for r in mine)
    assert {r.subject for r in ended} == {"s1", "s2", "s3"}  # the whole records, as `delete` gives them
    assert [await store.load(r.id_hash) for r in mine] == [None, None, None]
    assert [await store.load(r.id_hash) for r in others] == others
    assert await store.delete_idp("gluu") == []  # ended once
    assert await store.delete_idp("nobody") == []
    assert [await store.load(r.id_hash) for r in others] == others


async def test_delete_matching_by_idp_alone_still_ends_nothing(store: SessionStore) -> None:
    """`delete_idp` is the only way to end a whole IdP: a match naming no subject nor sid stays empty."""
    saved = [record("a", subject="s1", sid="x"), record("b", subject="s2", sid=None)]
    for r in saved:
        await store.save(r)
    assert await store.delete_matching(idp="gluu") == []
    assert await store.delete_matching(idp="gluu", subject=None, idp_session_id=None) == []
    assert await store.delete_matching(idp="gluu", only_without_sid=True) == []
    assert [await store.load(r.id_hash) for r in saved] == saved


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


# --- listing the live sessions (the admin console's session page) -----------------------------------

IDLE_LIMIT = NOW - timedelta(hours=1)


def person(
    name: str, *, idp: str, subject: str, email: str | None, display: str, minute: int
) -> SessionRecord:
    started = NOW - timedelta(minutes=minute)
    return dataclasses.replace(
        record(name, idp=idp, subject=subject),
        email=email,
        display_name=display,
        created_at=started,
        last_seen_at=started,
    )


async def _people(store: SessionStore) -> list[SessionRecord]:
    people = [
        person("ada", idp="gluu", subject="s-ada", email="ada@corp.test", display="Ada Lovelace", minute=1),
        person("alan", idp="okta", subject="s-alan", email=None, display="Alan Turing", minute=2),
        person("grace", idp="gluu", subject="s-grace", email="Grace@Navy.test", display="Grace H", minute=3),
    ]
    for r in people:
        await store.save(r)
    return people


async def test_active_lists_live_sessions_newest_first(store: SessionStore) -> None:
    ada, alan, grace = await _people(store)
    ended = dataclasses.replace(record("ended"), expires_at=NOW)
    idle = dataclasses.replace(record("idle"), last_seen_at=IDLE_LIMIT)
    await store.save(ended)
    await store.save(idle)
    page = await store.active(now=NOW, seen_after=IDLE_LIMIT)
    assert page.records == [ada, alan, grace]  # whole records, the ID token decrypted
    assert page.total == 3


async def test_active_search_matches_email_subject_name_or_idp_in_any_case(store: SessionStore) -> None:
    ada, alan, grace = await _people(store)

    async def found(text: str) -> list[str]:
        page = await store.active(now=NOW, seen_after=IDLE_LIMIT, text=text)
        assert page.total == len(page.records)
        return [r.subject for r in page.records]

    assert await found("navy.TEST") == [grace.subject]  # email
    assert await found("s-alan") == [alan.subject]  # subject
    assert await found("lovelace") == [ada.subject]  # display name
    assert await found("OKTA") == [alan.subject]  # IdP
    assert await found("gluu") == [ada.subject, grace.subject]
    assert await found("%") == []  # a wildcard character is a character
    assert await found("_") == []
    assert await found("nobody") == []


async def test_active_pages_with_a_total(store: SessionStore) -> None:
    saved = [
        person(f"p{i}", idp="gluu", subject=f"s{i}", email=None, display=f"P {i}", minute=i) for i in range(7)
    ]
    for r in saved:
        await store.save(r)
    first = await store.active(now=NOW, seen_after=IDLE_LIMIT, offset=0, limit=3)
    third = await store.active(now=NOW, seen_after=IDLE_LIMIT, offset=6, limit=3)
    assert [r.subject for r in first.records] == ["s0", "s1", "s2"]
    assert [r.subject for r in third.records] == ["s6"]
    assert first.total == third.total == 7
    beyond = await store.active(now=NOW, seen_after=IDLE_LIMIT, offset=7, limit=3)
    assert beyond.records == [] and beyond.total == 7


def admin(name: str, *, minute: int) -> SessionRecord:
    return person(name, idp=ADMIN_REALM, subject=name, email=None, display=name, minute=minute)


async def test_the_admin_store_lists_admins_only_from_its_own_table(
    database: async_sessionmaker[AsyncSession],
) -> None:
    """Admin sessions share the protocol; the customer store never sees them, nor they the customers."""
    admins = SqlAdminSessionStore(database)
    customers = SqlSessionStore(database, SecretBox("k" * 40))
    old = dataclasses.replace(admin("old", minute=3), expires_at=NOW)
    for r in (admin("root", minute=1), admin("alice", minute=2), old):
        await admins.save(r)
    await customers.save(record("customer"))
    page = await admins.active(now=NOW, seen_after=IDLE_LIMIT)
    assert [r.subject for r in page.records] == ["root", "alice"] and page.total == 2
    assert [r.subject for r in (await admins.active(now=NOW, seen_after=IDLE_LIMIT, text="ALI")).records] == [
        "alice"
    ]
    assert (await admins.active(now=NOW, seen_after=IDLE_LIMIT, text="admin")).total == 2  # the realm
    listed = await customers.active(now=NOW, seen_after=IDLE_LIMIT)
    assert [r.subject for r in listed.records] == ["sub-1"]


async def test_the_admin_store_ends_sessions_by_the_rule_every_store_keeps(
    database: async_sessionmaker[AsyncSession],
) -> None:
    """Admin sessions belong to the realm and carry no IdP session id: a match asking for one ends none."""
    admins = SqlAdminSessionStore(database)
    root, alice = admin("root", minute=1), admin("alice", minute=2)
    for r in (root, alice):
        await admins.save(r)
    assert await admins.delete_matching(idp=ADMIN_REALM, subject="root", idp_session_id="x") == []
    assert await admins.delete_matching(idp=ADMIN_REALM, idp_session_id="x") == []
    assert await admins.delete_matching(idp="gluu", subject="root") == []  # another IdP
    assert await admins.delete_matching(idp=ADMIN_REALM) == []  # no criterion
    assert await admins.load(root.id_hash) is not None
    ended = await admins.delete_matching(idp=ADMIN_REALM, subject="root", only_without_sid=True)
    assert [r.subject for r in ended] == ["root"]
    assert await admins.load(root.id_hash) is None
    assert await admins.load(alice.id_hash) is not None


async def test_the_admin_store_ends_no_admin_session_for_a_customer_idp(
    database: async_sessionmaker[AsyncSession],
) -> None:
    """Turning a customer IdP off ends customer sessions only: admins belong to the realm, in their table."""
    admins = SqlAdminSessionStore(database)
    customers = SqlSessionStore(database, SecretBox("k" * 40))
    root = admin("root", minute=1)
    await admins.save(root)
    customer = record("customer")
    await customers.save(customer)
    assert await admins.delete_idp("gluu") == []
    assert await admins.load(root.id_hash) is not None
    assert [r.id_hash for r in await customers.delete_idp("gluu")] == [customer.id_hash]
    assert await admins.load(root.id_hash) is not None
    assert [r.subject for r in await admins.delete_idp(ADMIN_REALM)] == ["root"]
