"""The console's view of live sessions: the same lifetimes `resolve` applies, and revocation by stored hash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deskgate.crypto import digest
from deskgate.sessions.memory import MemorySessionStore
from deskgate.sessions.service import Sessions

pytestmark = pytest.mark.anyio
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class Clock:
    now = START
    mono = 1000.0


def sessions_over(store: MemorySessionStore, clock: Clock) -> Sessions:
    return Sessions(
        store,
        idle=timedelta(minutes=30),
        absolute=timedelta(hours=8),
        cache_seconds=1.0,
        clock=lambda: clock.now,
        monotonic=lambda: clock.mono,
    )


async def start(sessions: Sessions, subject: str) -> str:
    session_id, _ = await sessions.start(
        idp="gluu", subject=subject, email=f"{subject}@corp.test", display_name=subject, attributes={}
    )
    return session_id


async def test_idle_sessions_are_not_listed_as_active() -> None:
    store, clock = MemorySessionStore(), Clock()
    sessions = sessions_over(store, clock)
    await start(sessions, "early")
    clock.now = START + timedelta(minutes=20)
    await start(sessions, "late")
    clock.now = START + timedelta(minutes=30)  # "early" has been idle for its whole 30 minutes
    page = await sessions.active()
    assert [r.subject for r in page.records] == ["late"] and page.total == 1
    assert [r.subject for r in (await sessions.active("  LATE  ")).records] == ["late"]


async def test_revoke_by_hash_ends_the_session_at_once_in_this_worker() -> None:
    store, clock = MemorySessionStore(), Clock()
    sessions = sessions_over(store, clock)
    cookie = await start(sessions, "ada")
    assert await sessions.resolve(cookie) is not None  # now cached for a second
    ended = await sessions.revoke(digest(cookie))
    assert ended is not None and ended.subject == "ada"
    assert await sessions.resolve(cookie) is None  # not served from the cache
    assert await sessions.revoke(digest(cookie)) is None
