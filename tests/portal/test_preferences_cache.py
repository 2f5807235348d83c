"""A customer's time zone is read on every page, so each worker keeps it for a few seconds: a change shows
at once on the worker that made it and on every other within the cache time, and the account page always
reads what is stored. The customer link is cached the same way (`portal.recent.Recent`), for a bounded
number of customers."""

from __future__ import annotations

import pytest
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.portal.preferences import CACHE_SECONDS, CustomerPreferences
from deskgate.portal.provisioning import CustomerLink, CustomerLinks
from deskgate.store.models import CustomerPreferenceRow

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


async def test_a_worker_remembers_a_bounded_number_of_customer_links(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The link cache keeps the last customers seen, not every one a long-lived worker ever served."""
    links = CustomerLinks(sessions, cache_limit=2)
    for name in ("ann", "bob", "cy"):
        await links.save(CustomerLink("gluu", name, f"id-{name}", f"{name}@x.test", name, "site-1"))
    reads = counted_link_reads(sessions)  # from here (saving reads the row first)
    assert await links.get("gluu", "cy", "site-1") is not None
    assert await links.get("gluu", "bob", "site-1") is not None
    assert reads == []  # the last two saved: from the cache
    found = await links.get("gluu", "ann", "site-1")  # pushed out by the others: read again
    assert found is not None and found.jsm_user_id == "id-ann"
    assert len(reads) == 1


def counted_link_reads(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    seen: list[str] = []

    @event.listens_for(sessions.kw["bind"].sync_engine, "before_cursor_execute")
    def _seen(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if statement.lstrip().startswith("SELECT") and "FROM customer_links" in statement:
            seen.append(statement)

    return seen


async def test_the_link_read_brings_the_time_zone_along(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A page wants both: the link's read answers the zone too, so the page makes one read, not two."""
    clock = Clock()
    prefs = CustomerPreferences(sessions, monotonic=clock)
    links = CustomerLinks(sessions, preferences=prefs, monotonic=clock)
    for name in ("ann", "bob", "cy"):
        await links.save(CustomerLink("gluu", name, f"id-{name}", f"{name}@x.test", name, "site-1"))
    await prefs.set_time_zone("gluu", "ann", "Asia/Tokyo")
    async with sessions.begin() as db:  # a zone stored before the list was what it is now
        await db.execute(
            update(CustomerPreferenceRow)
            .where(CustomerPreferenceRow.subject == "ann")
            .values(time_zone="Mars/Olympus")
        )
    await prefs.set_time_zone("gluu", "bob", "Europe/Paris")
    other = CustomerPreferences(sessions, monotonic=clock)  # a worker that has read nothing yet
    other_links = CustomerLinks(sessions, preferences=other, monotonic=clock)
    zone_reads, link_reads = counted_reads(sessions), counted_link_reads(sessions)

    for name, expected in (("ann", None), ("bob", "Europe/Paris"), ("cy", None)):
        link = await other_links.get("gluu", name, "site-1")
        assert link is not None and link.subject == name
        assert await other.time_zone("gluu", name) == expected
    assert len(link_reads) == 3 and zone_reads == []  # one read per customer: the zone came with the link
    await other.set_time_zone("gluu", "cy", "America/Lima")  # this worker's own change: at once
    assert await other.time_zone("gluu", "cy") == "America/Lima"
    assert await other_links.get("gluu", "nobody", "site-1") is None  # no link: nothing remembered
    clock.now += CACHE_SECONDS + 0.1
    assert await other.time_zone("gluu", "bob") == "Europe/Paris" and len(zone_reads) == 1  # expired: read
