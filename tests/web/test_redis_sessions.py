"""Customer sessions in Redis (`session_store: redis`): the running app signs in, resolves and ends them there.

The store's contract is in tests/contract/test_session_store.py; here, what only Redis adds: the records
live in Redis and not in the database, every worker sees an ending, Redis expires a record at its absolute
end, the ID token is encrypted, and nothing is left behind in the indexes.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from deskgate.crypto import SecretBox, digest
from deskgate.errors import ConfigError
from deskgate.sessions.redis_store import RedisSessionStore
from deskgate.sessions.service import Sessions
from deskgate.sessions.store import SessionRecord, SqlSessionStore
from deskgate.settings import load_settings
from tests.support.inprocess import SECRET_KEY, running_app
from tests.support.redis import REDIS_URL, redis_prefix

pytestmark = pytest.mark.anyio
TOKEN = "header.payload.signature"


def _other_worker(store: RedisSessionStore) -> Sessions:
    """A second worker's view of the same Redis, without a cache, so that it sees each change at once."""
    return Sessions(store, idle=timedelta(hours=1), absolute=timedelta(hours=12), cache_seconds=0)


async def test_a_session_lives_in_redis_and_every_worker_sees_it_end(tmp_path: Path) -> None:
    subject = f"s-{secrets.token_hex(6)}"
    other_store = RedisSessionStore.from_url(REDIS_URL, SecretBox(SECRET_KEY))
    other = _other_worker(other_store)
    try:
        async with running_app(
            f"sqlite:///{tmp_path / 'deskgate.db'}", session_store="redis", redis_url=REDIS_URL
        ) as (client, services):
            assert isinstance(services.sessions.store, RedisSessionStore)
            session_id, record = await services.sessions.start(
                idp="corp", subject=subject, email="ada@example.com", display_name="Ada", attributes={}
            )
            try:
                client.cookies.set("deskgate_session", session_id)
                signed_in = await client.get("/me")
                seen_elsewhere = await other.resolve(session_id)
                in_database = await SqlSessionStore(services.db, services.box).load(record.id_hash)
                await services.sessions.end(session_id)
                ended = await client.get("/me")
                ended_elsewhere = await other.resolve(session_id)
            finally:
                await services.sessions.revoke(record.id_hash)
    finally:
        await other_store.aclose()
    assert signed_in.status_code == 200 and signed_in.json()["subject"] == subject
    assert seen_elsewhere == record
    assert in_database is None  # the database is not the store: sessions are in Redis only
    assert ended.status_code == 401
    assert ended_elsewhere is None


async def test_revocation_and_logout_by_sid_end_redis_sessions(tmp_path: Path) -> None:
    subject = f"s-{secrets.token_hex(6)}"
    async with running_app(
        f"sqlite:///{tmp_path / 'deskgate.db'}", session_store="redis", redis_url=REDIS_URL
    ) as (client, services):
        started = [
            await services.sessions.start(
                idp="corp",
                subject=subject,
                email=None,
                display_name="Ada",
                attributes={},
                idp_session_id=sid,
                id_token=TOKEN,
            )
            for sid in ("sid-a", "sid-b")
        ]
        (first_id, first), (second_id, second) = started
        try:
            listed = await services.sessions.active(subject)
            assert listed.total == 2
            assert {r.id_hash for r in listed.records} == {first.id_hash, second.id_hash}
            assert all(r.id_token == TOKEN for r in listed.records)  # decrypted for the console
            assert await services.sessions.revoke(first.id_hash) == first
            # The back-channel logout's lookup: this IdP session only.
            ended = await services.sessions.end_matching(idp="corp", idp_session_id="sid-b")
            assert ended == [second]
            for session_id in (first_id, second_id):
                client.cookies.set("deskgate_session", session_id)
                assert (await client.get("/me")).status_code == 401
            assert (await services.sessions.active(subject)).total == 0
        finally:
            for _, record in started:
                await services.sessions.revoke(record.id_hash)


def _record(name: str, *, ends: datetime, subject: str = "s-1") -> SessionRecord:
    now = datetime.now(UTC).replace(microsecond=0)
    return SessionRecord(
        id_hash=digest(name),
        idp="corp",
        subject=subject,
        email=None,
        display_name="Ada",
        created_at=now,
        last_seen_at=now,
        expires_at=ends,
        idp_session_id="sid-1",
        attributes={},
        id_token=TOKEN,
    )


async def test_redis_expires_at_the_absolute_end_and_the_token_is_encrypted() -> None:
    ends = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=12)
    async with redis_prefix() as prefix:
        store = RedisSessionStore.from_url(REDIS_URL, SecretBox("k" * 40), prefix=prefix)
        raw = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
        try:
            record = _record("a", ends=ends)
            await store.save(record)
            expire_ms = await raw.pexpiretime(prefix + record.id_hash)
            stored = await raw.hgetall(prefix + record.id_hash)
            await store.touch(record.id_hash, ends - timedelta(hours=1))
            expire_after_touch = await raw.pexpiretime(prefix + record.id_hash)
        finally:
            await raw.aclose()
            await store.aclose()
    assert expire_ms == expire_after_touch == int(ends.timestamp() * 1000)
    assert stored["id_token"] != TOKEN and TOKEN not in str(stored)
    assert SecretBox("k" * 40).decrypt(stored["id_token"]) == TOKEN


async def test_ended_and_expired_sessions_leave_nothing_in_redis() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    async with redis_prefix() as prefix:
        store = RedisSessionStore.from_url(REDIS_URL, SecretBox("k" * 40), prefix=prefix)
        raw = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
        try:
            live = _record("live", ends=now + timedelta(hours=1))
            other = _record("other", ends=now + timedelta(hours=1), subject="s-2")
            dead = _record("dead", ends=now - timedelta(seconds=1))
            for r in (live, other, dead):
                await store.save(r)
            assert await store.load(dead.id_hash) is None  # Redis dropped it at once: its end has passed
            assert await store.purge_expired(now) == 1  # and purge cleans the indexes after it
            assert await store.purge_expired(now) == 0
            assert await store.delete(live.id_hash) == live
            assert await store.delete_matching(idp="corp", subject="s-2") == [other]
            left = [key async for key in raw.scan_iter(match=prefix + "*")]
        finally:
            await raw.aclose()
            await store.aclose()
    assert left == []


async def test_an_unreachable_redis_stops_the_start() -> None:
    with pytest.raises(RedisConnectionError):
        await RedisSessionStore.connect("redis://127.0.0.1:1/0", SecretBox("k" * 40))


def test_the_redis_store_needs_a_url_and_says_so_with_the_other_problems() -> None:
    with pytest.raises(ConfigError) as missing:
        load_settings(session_store="redis", base_url="ftp://x")
    assert "redis_url: required when session_store is redis (e.g. redis://127.0.0.1:6379/0)" in (
        missing.value.problems
    )
    assert any(p.startswith("base_url:") for p in missing.value.problems)
    with pytest.raises(ConfigError) as wrong:
        load_settings(demo=True, session_store="redis", redis_url="http://127.0.0.1:6379")
    assert wrong.value.problems == ["redis_url: use redis://HOST:PORT/DB, rediss://… (TLS) or unix:///PATH"]
    with pytest.raises(ConfigError) as unknown:
        load_settings(demo=True, session_store="memcached")
    assert any(p.startswith("session_store:") for p in unknown.value.problems)
    assert load_settings(demo=True).session_store == "sql"


async def test_instances_with_their_own_key_prefix_share_a_redis_without_seeing_each_other(
    tmp_path: Path,
) -> None:
    async with redis_prefix() as blue_prefix, redis_prefix() as green_prefix:
        blue_db, green_db = f"sqlite:///{tmp_path / 'blue.db'}", f"sqlite:///{tmp_path / 'green.db'}"
        async with (
            running_app(
                blue_db, session_store="redis", redis_url=REDIS_URL, redis_key_prefix=blue_prefix
            ) as (blue_client, blue),
            running_app(
                green_db, session_store="redis", redis_url=REDIS_URL, redis_key_prefix=green_prefix
            ) as (green_client, green),
        ):
            session_id, record = await blue.sessions.start(
                idp="corp", subject="ada", email="ada@example.com", display_name="Ada", attributes={}
            )
            blue_client.cookies.set("deskgate_session", session_id)
            green_client.cookies.set("deskgate_session", session_id)
            assert (await blue_client.get("/me")).status_code == 200
            assert (await green_client.get("/me")).status_code == 401  # the other instance's session
            assert await green.sessions.store.load(record.id_hash) is None
            assert await green.sessions.end_matching(idp="corp", subject="ada") == []
            assert (await blue_client.get("/me")).status_code == 200  # untouched by the other's logout
            client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
            try:
                assert await client.exists(blue_prefix + record.id_hash) == 1
                assert [key async for key in client.scan_iter(match=green_prefix + "*")] == []
            finally:
                await client.aclose()


@pytest.mark.parametrize("prefix", ["", "deskgate session:", "deskgate:*:", "x" * 65])
def test_a_redis_key_prefix_outside_plain_characters_is_refused(prefix: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(demo=True, session_store="redis", redis_url=REDIS_URL, redis_key_prefix=prefix)
    assert [p for p in refused.value.problems if p.startswith("redis_key_prefix:")] == [
        f"redis_key_prefix: 1 to 64 letters, digits and . _ : - (e.g. deskgate-eu:session:), not {prefix!r}"
    ]
    assert load_settings(demo=True).redis_key_prefix == "deskgate:session:"
