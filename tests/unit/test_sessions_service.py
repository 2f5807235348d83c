"""Session lifetimes and the per-worker cache: revocations reach every worker within the cache time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deskgate.crypto import digest
from deskgate.sessions.memory import MemorySessionStore
from deskgate.sessions.service import TOUCH_INTERVAL, Sessions

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds


def worker(store: MemorySessionStore, clock: Clock, *, cache: float = 1.0) -> Sessions:
    return Sessions(
        store,
        idle=timedelta(minutes=30),
        absolute=timedelta(hours=8),
        cache_seconds=cache,
        clock=lambda: clock.now,
        monotonic=lambda: clock.mono,
    )


async def start(sessions: Sessions) -> str:
    session_id, _ = await sessions.start(
        idp="gluu", subject="s", email="a@example.com", display_name="A", attributes={}, idp_session_id="sid"
    )
    return session_id


async def test_ids_are_fresh_random_and_only_their_hash_is_stored() -> None:
    store, clock = MemorySessionStore(), Clock()
    sessions = worker(store, clock)
    first, second = await start(sessions), await start(sessions)
    assert first != second
    assert len(first) >= 43  # 256 bits, url-safe
    assert await store.load(first) is None
    assert await store.load(digest(first)) is not None


async def test_idle_timeout_ends_the_session_and_activity_extends_it() -> None:
    store, clock = MemorySessionStore(), Clock()
    sessions = worker(store, clock, cache=0)
    sid = await start(sessions)
    clock.advance(20 * 60)
    assert await sessions.resolve(sid) is not None  # touched: idle clock restarts
    clock.advance(20 * 60)
    assert await sessions.resolve(sid) is not None
    clock.advance(30 * 60)
    assert await sessions.resolve(sid) is None
    assert await store.load(digest(sid)) is None  # ended in the store too


async def test_absolute_timeout_ends_even_an_active_session() -> None:
    store, clock = MemorySessionStore(), Clock()
    sessions = worker(store, clock, cache=0)
    sid = await start(sessions)
    for _ in range(17):  # active every 29 minutes, for more than 8 hours
        clock.advance(29 * 60)
        alive = await sessions.resolve(sid)
    assert alive is None


async def test_touch_is_not_written_on_every_request() -> None:
    store, clock = MemorySessionStore(), Clock()
    sessions = worker(store, clock, cache=0)
    sid = await start(sessions)
    created = await store.load(digest(sid))
    assert created is not None
    clock.advance(TOUCH_INTERVAL.total_seconds() / 2)
    await sessions.resolve(sid)
    assert (await store.load(digest(sid))) == created
    clock.advance(TOUCH_INTERVAL.total_seconds())
    await sessions.resolve(sid)
    touched = await store.load(digest(sid))
    assert touched is not None
    assert touched.last_seen_at == clock.now


async def test_revocation_in_this_worker_is_immediate_and_in_another_within_the_cache_time() -> None:
    store, clock = MemorySessionStore(), Clock()
    worker_a, worker_b = worker(store, clock), worker(store, clock)
    sid = await start(worker_a)
    assert await worker_a.resolve(sid) is not None
    assert await worker_b.resolve(sid) is not None  # B now caches it
    await worker_a.end(sid)
    assert await worker_a.resolve(sid) is None
    clock.advance(0.5)
    assert await worker_b.resolve(sid) is not None  # still inside B's one-second cache
    clock.advance(0.6)
    assert await worker_b.resolve(sid) is None  # …and gone once it ages out


async def test_cached_lookups_cost_no_store_io() -> None:
    class CountingStore(MemorySessionStore):
        loads = 0

        async def load(self, id_hash: str):  # type: ignore[no-untyped-def]
            CountingStore.loads += 1
            return await super().load(id_hash)

    store, clock = CountingStore(), Clock()
    sid = await start(worker(store, clock))  # signed in through another worker
    sessions = worker(store, clock)
    for _ in range(100):
        assert await sessions.resolve(sid) is not None
    assert CountingStore.loads == 1
    for _ in range(10):
        assert await sessions.resolve("unknown-id") is None
    assert CountingStore.loads == 2  # a miss is cached too: a flood of bad cookies stays off the store


async def test_end_matching_drops_cache_entries_in_this_worker() -> None:
    store, clock = MemorySessionStore(), Clock()
    sessions = worker(store, clock)
    sid = await start(sessions)
    assert await sessions.resolve(sid) is not None
    ended = await sessions.end_matching(idp="gluu", idp_session_id="sid")
    assert len(ended) == 1
    assert await sessions.resolve(sid) is None


@pytest.mark.parametrize("value", [None, "", "x" * 129])
async def test_absent_or_oversized_cookie_is_no_session(value: str | None) -> None:
    sessions = worker(MemorySessionStore(), Clock())
    assert await sessions.resolve(value) is None


async def test_the_worker_that_signed_in_needs_no_lookup_for_the_first_request() -> None:
    class CountingStore(MemorySessionStore):
        loads = 0

        async def load(self, id_hash: str):  # type: ignore[no-untyped-def]
            CountingStore.loads += 1
            return await super().load(id_hash)

    store, clock = CountingStore(), Clock()
    sessions = worker(store, clock)
    sid = await start(sessions)
    assert await sessions.resolve(sid) is not None
    assert CountingStore.loads == 0


async def test_concurrent_requests_for_a_stale_entry_share_one_lookup() -> None:
    import asyncio

    class SlowStore(MemorySessionStore):
        loads = 0

        async def load(self, id_hash: str):  # type: ignore[no-untyped-def]
            SlowStore.loads += 1
            await asyncio.sleep(0.01)
            return await super().load(id_hash)

    store, clock = SlowStore(), Clock()
    sid = await start(worker(store, clock))
    sessions = worker(store, clock)
    results = await asyncio.gather(*(sessions.resolve(sid) for _ in range(20)))
    assert all(r is not None for r in results)
    assert SlowStore.loads == 1


async def test_a_logout_during_a_lookup_is_not_undone_by_it() -> None:
    import asyncio

    read, release = asyncio.Event(), asyncio.Event()

    class GatedStore(MemorySessionStore):
        async def load(self, id_hash: str):  # type: ignore[no-untyped-def]
            record = await super().load(id_hash)
            read.set()
            await release.wait()
            return record

    store, clock = GatedStore(), Clock()
    sid = await start(worker(store, clock))
    sessions = worker(store, clock)
    pending = asyncio.ensure_future(sessions.resolve(sid))
    await read.wait()
    await sessions.end(sid)  # the lookup began before the logout and will come back with the record
    release.set()
    await pending
    assert await sessions.resolve(sid) is None  # the stale answer was not cached over the logout
