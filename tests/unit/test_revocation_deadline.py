"""The promise: a session ended in one worker is refused by every other worker within `cache_seconds`.

A worker's cached record may be up to `cache_seconds` old, counted from the moment it was read from the
store. Two things used to restart that count without a read: the periodic "last seen" touch re-cached the
record it had taken from the cache, and a slow read was stamped when it returned rather than when it
began. Either way a logout could be answered by a stale record for up to 1.5 s.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deskgate.sessions.memory import MemorySessionStore
from deskgate.sessions.service import TOUCH_INTERVAL, Sessions
from deskgate.sessions.store import SessionRecord

pytestmark = pytest.mark.anyio

CACHE_SECONDS = 1.0
STEP = 0.05


class Clock:
    """Wall clock and monotonic clock moving together, as in a real worker."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        self.mono = 5000.0

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds


def worker(store: MemorySessionStore, clock: Clock) -> Sessions:
    return Sessions(
        store,
        idle=timedelta(minutes=30),
        absolute=timedelta(hours=8),
        cache_seconds=CACHE_SECONDS,
        clock=lambda: clock.now,
        monotonic=lambda: clock.mono,
    )


async def start(sessions: Sessions) -> str:
    session_id, _ = await sessions.start(
        idp="corp", subject="s", email="a@example.com", display_name="A", attributes={}
    )
    return session_id


async def resolves_until(sessions: Sessions, session_id: str, clock: Clock, *, limit: float) -> float:
    """Resolve every STEP seconds until refused; how long that took (fails past `limit`)."""
    waited = 0.0
    while await sessions.resolve(session_id) is not None:
        assert waited <= limit, f"still served {waited:.2f} s after the revocation"
        clock.advance(STEP)
        waited += STEP
    return waited


@pytest.mark.parametrize("before_touch", [0.05, 0.3, 0.6, 0.95])
async def test_a_touch_right_after_a_revocation_does_not_extend_the_cache(before_touch: float) -> None:
    store, clock = MemorySessionStore(), Clock()
    worker_a, worker_b = worker(store, clock), worker(store, clock)
    session_id = await start(worker_a)
    # Worker B reads the record shortly before it is due for its "last seen" touch...
    clock.advance(TOUCH_INTERVAL.total_seconds() - before_touch - 0.01)
    assert await worker_b.resolve(session_id) is not None
    # ...worker A ends it (a logout, a revocation in the console)...
    clock.advance(0.01)
    await worker_a.end(session_id)
    # ...and B's next request, served from its cache, is the one that touches it.
    clock.advance(before_touch)
    assert await worker_b.resolve(session_id) is not None  # within the second: allowed
    assert await store.load(session_id) is None  # the touch wrote nothing back
    waited = before_touch + await resolves_until(worker_b, session_id, clock, limit=CACHE_SECONDS)
    assert waited <= CACHE_SECONDS + 1e-9


async def test_a_slow_read_counts_its_age_from_when_it_began() -> None:
    clock = Clock()

    class SlowStore(MemorySessionStore):
        """Reads the record, and the revocation lands while the answer is still on its way back."""

        revoke_during_read = False

        async def load(self, id_hash: str) -> SessionRecord | None:
            record = await super().load(id_hash)
            if self.revoke_during_read:
                clock.advance(0.1)
                await worker_a.end(session_id)
                clock.advance(0.3)
            return record

    store = SlowStore()
    worker_a, worker_b = worker(store, clock), worker(store, clock)
    session_id = await start(worker_a)
    store.revoke_during_read = True
    assert await worker_b.resolve(session_id) is not None  # read before the revocation: served
    store.revoke_during_read = False
    # The read began 0.4 s ago and the revocation came 0.3 s ago: refused within 0.7 s from now.
    waited = 0.3 + await resolves_until(worker_b, session_id, clock, limit=CACHE_SECONDS)
    assert waited <= CACHE_SECONDS + 1e-9
