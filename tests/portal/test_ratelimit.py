"""The per-customer limits as token buckets in the database, on SQLite and PostgreSQL: atomic under
concurrency (thirty takers racing over several engines, as workers would), refilled as time passes, per
customer, all-or-nothing for an action that costs from several buckets, and off at 0."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.errors import ConfigError
from deskgate.portal.ratelimit import CustomerLimits, Limit, LimitName, RateLimited
from deskgate.portal.token_buckets import SqlTokenBuckets
from deskgate.settings import load_settings
from deskgate.store.db import create_engine, sessionmaker
from tests.support.clock import Clock

pytestmark = pytest.mark.anyio
HOUR = timedelta(hours=1)
SECRET_KEY = "ratelimit-test-secret-key-0123456789-abc"


def limits_of(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    submissions: int = 10,
    files: int = 50,
    comments: int = 30,
) -> CustomerLimits:
    table: dict[LimitName, Limit] = {
        "submissions": Limit("submissions", submissions, HOUR, f"send at most {submissions} requests"),
        "comments": Limit("comments", comments, timedelta(minutes=10), f"post at most {comments} comments"),
        "files": Limit("files", files, HOUR, f"attach at most {files} files"),
    }
    return CustomerLimits(SqlTokenBuckets(sessions), table, clock=lambda: clock.now.timestamp())


@pytest.fixture
async def engines(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[list[async_sessionmaker[AsyncSession]]]:
    """Three more engines on the migrated database: three 'workers', each with its own connections."""
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    made = [create_engine(url) for _ in range(3)]
    try:
        yield [sessionmaker(engine) for engine in made]
    finally:
        for engine in made:
            await engine.dispose()


async def test_thirty_racing_takes_with_eight_left_get_exactly_eight(
    sessions: async_sessionmaker[AsyncSession], engines: list[async_sessionmaker[AsyncSession]]
) -> None:
    clock = Clock()
    await limits_of(sessions, clock).take("oidc", "alice", submissions=2)  # 8 of 10 left
    workers = [limits_of(engines[n % 3], clock) for n in range(30)]

    async def one(limits: CustomerLimits) -> bool:
        try:
            await limits.take("oidc", "alice", submissions=1)
        except RateLimited:
            return False
        return True

    # Any other error (SQLite's "database is locked" included) fails the test by escaping gather.
    outcomes = await asyncio.gather(*(one(w) for w in workers))
    assert outcomes.count(True) == 8
    with pytest.raises(RateLimited):
        await workers[0].take("oidc", "alice", submissions=1)


async def test_the_bucket_refills_one_per_window_share_and_says_when(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    limits = limits_of(sessions, clock, submissions=3)
    for _ in range(3):  # a whole limit at once is fine
        await limits.take("oidc", "alice", submissions=1)
    with pytest.raises(RateLimited) as refused:
        await limits.take("oidc", "alice", submissions=1)
    # One comes back every 20 minutes (3 an hour).
    assert refused.value.status_code == 429 and refused.value.retry_after == 1200
    assert refused.value.headers == {"Retry-After": "1200"}
    assert refused.value.user_message == (
        "You can send at most 3 requests within 1 hour. Please try again in 20 minutes."
    )
    clock.advance(15 * 60)
    with pytest.raises(RateLimited) as still:
        await limits.take("oidc", "alice", submissions=1)
    assert still.value.retry_after == 300  # refused takes spend nothing: still five minutes to go
    clock.advance(5 * 60)
    await limits.take("oidc", "alice", submissions=1)
    clock.advance(10 * 3600)  # refills up to the limit, never beyond
    for _ in range(3):
        await limits.take("oidc", "alice", submissions=1)
    with pytest.raises(RateLimited):
        await limits.take("oidc", "alice", submissions=1)


async def test_each_customer_and_each_limit_has_its_own_bucket(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    limits = limits_of(sessions, clock, submissions=1, comments=1)
    await limits.take("oidc", "alice", submissions=1)
    with pytest.raises(RateLimited):
        await limits.take("oidc", "alice", submissions=1)
    await limits.take("oidc", "bob", submissions=1)  # another customer
    await limits.take("saml", "alice", submissions=1)  # the same subject at another IdP is someone else
    await limits.take("oidc", "alice", comments=1)  # another limit


async def test_an_action_costing_from_two_buckets_takes_both_or_neither(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    limits = limits_of(sessions, clock, submissions=10, files=5)
    await limits.take("oidc", "alice", submissions=1, files=4)
    with pytest.raises(RateLimited) as refused:
        await limits.take("oidc", "alice", submissions=1, files=2)  # one file left
    assert refused.value.user_message.startswith("You can attach at most 5 files within 1 hour.")
    for _ in range(9):  # the refused request spent no submission
        await limits.take("oidc", "alice", submissions=1)
    with pytest.raises(RateLimited):
        await limits.take("oidc", "alice", submissions=1)
    with pytest.raises(RateLimited) as too_many:
        await limits.take("oidc", "bob", files=6)  # never fits: said so
    assert too_many.value.user_message == (
        "You can attach at most 5 files within 1 hour. Please attach fewer files."
    )


async def test_a_limit_of_zero_turns_it_off(sessions: async_sessionmaker[AsyncSession]) -> None:
    limits = limits_of(sessions, Clock(), submissions=0, files=0)
    for _ in range(50):
        await limits.take("oidc", "alice", submissions=1, files=5)


async def test_a_clock_behind_the_buckets_refills_nothing_and_takes_nothing_extra(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    limits = limits_of(sessions, clock, submissions=2)
    await limits.take("oidc", "alice", submissions=1)
    clock.advance(-3600)  # another instance's clock, an hour behind
    await limits.take("oidc", "alice", submissions=1)
    with pytest.raises(RateLimited):
        await limits.take("oidc", "alice", submissions=1)


async def test_a_late_writer_with_an_older_clock_reading_does_not_refill_twice(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # 3 an hour: one token every 1,200 s. In the first 600 s a bucket holds 3 + 0.5 tokens, so 3 takes.
    clock = Clock()
    limits = limits_of(sessions, clock, submissions=3)
    await limits.take("oidc", "alice", submissions=1)
    clock.advance(600)
    await limits.take("oidc", "alice", submissions=1)
    clock.advance(-600)  # a request that read the clock at 0 but reached the database last
    await limits.take("oidc", "alice", submissions=1)
    clock.advance(600)
    with pytest.raises(RateLimited) as caught:  # the 600 s already refilled are not refilled again
        await limits.take("oidc", "alice", submissions=1)
    assert 599 <= caught.value.retry_after <= 601


async def test_untouched_buckets_are_forgotten(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = Clock()
    buckets = SqlTokenBuckets(sessions)
    await limits_of(sessions, clock).take("oidc", "alice", submissions=1)
    clock.advance(3600)
    await limits_of(sessions, clock).take("oidc", "bob", submissions=1)
    assert await buckets.purge(before=clock.now.timestamp() - 1800) == 1


def test_the_limits_are_settings_with_defaults_and_every_bad_value_is_reported() -> None:
    settings = load_settings(secret_key=SECRET_KEY)
    made = CustomerLimits.from_settings(settings, async_sessionmaker()).limits
    assert {name: (limit.count, limit.window) for name, limit in made.items()} == {
        "submissions": (10, HOUR),
        "comments": (30, timedelta(minutes=10)),
        "files": (50, HOUR),
    }
    with pytest.raises(ConfigError) as bad:
        load_settings(secret_key=SECRET_KEY, comment_limit=-1, upload_window_minutes=0)
    assert [p.split(":", 1)[0] for p in bad.value.problems] == ["comment_limit", "upload_window_minutes"]


async def test_housekeeping_forgets_buckets_idle_for_the_longest_window(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    limits = limits_of(sessions, clock, submissions=1)
    await limits.take("oidc", "alice", submissions=1)
    clock.advance(1800)
    await limits.take("oidc", "bob", comments=1)
    clock.advance(1801)  # alice's bucket is over an hour old (full again), bob's half an hour
    assert await limits.forget_full() == 1
    await limits.take("oidc", "alice", submissions=1)  # a missing bucket is a full one
