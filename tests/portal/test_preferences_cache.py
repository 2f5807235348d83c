"""A customer's time zone is read on every page, so each worker keeps it for a few seconds: a change shows
at once on the worker that made it and on every other within the cache time, and the account page always
reads what is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.portal.preferences import CACHE_SECONDS, CustomerPreferences

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counted_reads(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """Every read of a time zone for a page, as the database receives it (saving one reads the row)."""
    seen: list[str] = []

    @event.listens_for(sessions.kw["bind"].sync_engine, "before_cursor_execute")
    def _seen(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if statement.split("FROM")[0].strip() == "SELECT customer_preferences.time_zone":
            seen.append(statement)

    return seen


async def test_a_worker_reads_the_zone_once_per_cache_time_and_sees_another_workers_change_after_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    reads = counted_reads(sessions)
    this = CustomerPreferences(sessions, monotonic=clock)
    other = CustomerPreferences(sessions, monotonic=clock)

    assert await this.time_zone("gluu", "alice") is None  # none stored: the browser's zone
    assert await this.time_zone("gluu", "alice") is None
    assert len(reads) == 1  # "none" is remembered too

    await other.set_time_zone("gluu", "alice", "Asia/Tokyo")
    clock.now += CACHE_SECONDS - 0.5
    assert await this.time_zone("gluu", "alice") is None  # still within this worker's cache time
    assert len(reads) == 1
    assert await other.time_zone("gluu", "alice") == "Asia/Tokyo"  # the worker that saved it: at once
    assert await this.stored_time_zone("gluu", "alice") == "Asia/Tokyo"  # the account page: fresh

    await other.set_time_zone("gluu", "alice", "Europe/Paris")
    clock.now += CACHE_SECONDS + 0.1
    assert await this.time_zone("gluu", "alice") == "Europe/Paris"  # past the cache time: read again


async def test_the_cache_is_per_customer_and_a_bad_stored_zone_reads_as_none(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    prefs = CustomerPreferences(sessions, monotonic=clock)
    await prefs.set_time_zone("gluu", "alice", "Asia/Tokyo")
    await prefs.set_time_zone("okta", "alice", "America/Lima")  # same subject, another IdP: another customer
    assert await prefs.time_zone("gluu", "alice") == "Asia/Tokyo"
    assert await prefs.time_zone("okta", "alice") == "America/Lima"
    assert await prefs.time_zone("gluu", "bob") is None
    with pytest.raises(ValueError, match="not a time zone"):
        await prefs.set_time_zone("gluu", "alice", "Mars/Olympus_Mons")
    assert await prefs.time_zone("gluu", "alice") == "Asia/Tokyo"  # a refused change changes nothing
