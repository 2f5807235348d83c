"""The admin sign-in throttle: a backoff per (address, name), never a lock-out from elsewhere, counted
atomically by every worker; on SQLite and PostgreSQL, with a settable clock. What the sign-in page does
with it is in test_sign_in_throttle_web."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from deskgate.admin.failure_counts import SqlFailureCounts
from deskgate.admin.throttle import NO_WAIT, SignInThrottle, ThrottlePolicy
from tests.support.clock import START, Clock
from tests.support.databases import migrated

pytestmark = pytest.mark.anyio

HOME, ELSEWHERE = "192.0.2.10", "203.0.113.66"
ADMIN = "admin"
# The 5th failure in a row waits 1 s, each further one twice as long, never more than 5 minutes.
WAITS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


@pytest.fixture
async def counts(db_url: str) -> AsyncIterator[SqlFailureCounts]:
    async with migrated(db_url) as sessions:
        yield SqlFailureCounts(sessions)


def seconds(wait: timedelta) -> float:
    return wait.total_seconds()


async def fail(throttle: SignInThrottle, address: str, name: str, times: int = 1) -> None:
    """`times` attempts with a wrong password, each admitted at once."""
    for _ in range(times):
        assert await throttle.admit(address, name) == NO_WAIT
        await throttle.failed(address, name)


async def fail_through(throttle: SignInThrottle, clock: Clock, address: str, name: str, times: int) -> None:
    """`times` wrong passwords, each after waiting out the backoff before it."""
    for _ in range(times):
        clock.advance(seconds(await throttle.waiting(address, name)))
        await fail(throttle, address, name)


async def test_the_backoff_starts_after_four_failures_doubles_and_is_capped(counts: SqlFailureCounts) -> None:
    clock = Clock()
    throttle = SignInThrottle(counts, clock=clock)
    await fail(throttle, HOME, ADMIN, times=4)  # typos are free
    assert await throttle.waiting(HOME, ADMIN) == NO_WAIT
    for expected in WAITS:
        await fail(throttle, HOME, ADMIN)
        assert seconds(await throttle.admit(HOME, ADMIN)) == expected
        clock.advance(expected - 0.5)
        assert seconds(await throttle.admit(HOME, ADMIN)) == 0.5  # still waiting, and told how long
        clock.advance(0.5)  # over: the next round's attempt is admitted


async def test_attempts_refused_while_waiting_do_not_lengthen_the_wait(counts: SqlFailureCounts) -> None:
    clock = Clock()
    throttle = SignInThrottle(counts, clock=clock)
    await fail(throttle, HOME, ADMIN, times=5)
    for _ in range(10):
        assert seconds(await throttle.admit(HOME, ADMIN)) == 1
    clock.advance(1)
    assert await throttle.admit(HOME, ADMIN) == NO_WAIT


async def test_the_right_password_starts_the_pair_again(counts: SqlFailureCounts) -> None:
    clock = Clock()
    throttle = SignInThrottle(counts, clock=clock)
    await fail_through(throttle, clock, HOME, ADMIN, times=8)
    assert seconds(await throttle.waiting(HOME, ADMIN)) == 8
    clock.advance(8)
    assert await throttle.admit(HOME, ADMIN) == NO_WAIT
    await throttle.succeeded(HOME, ADMIN)
    await fail(throttle, HOME, ADMIN, times=4)  # the free failures are back
    assert await throttle.waiting(HOME, ADMIN) == NO_WAIT


async def test_a_name_failing_at_one_address_holds_back_neither_other_names_nor_other_addresses(
    counts: SqlFailureCounts,
) -> None:
    clock = Clock()
    throttle = SignInThrottle(counts, clock=clock)
    await fail_through(throttle, clock, HOME, "root", times=16)
    assert seconds(await throttle.admit(HOME, "root")) == 300
    assert seconds(await throttle.admit(HOME, "ROOT")) == 300  # names compare without case
    assert await throttle.admit(HOME, ADMIN) == NO_WAIT  # another name, same address
    assert await throttle.admit(ELSEWHERE, "root") == NO_WAIT  # the same name, another address


async def test_a_quiet_pair_is_forgotten_and_purged(counts: SqlFailureCounts) -> None:
    clock = Clock()
    throttle = SignInThrottle(counts, clock=clock)
    await fail_through(throttle, clock, HOME, ADMIN, times=8)
    clock.advance(3600)  # an hour after the last failure: still remembered …
    assert await throttle.purge() == 0
    await fail(throttle, HOME, ADMIN)
    assert seconds(await throttle.waiting(HOME, ADMIN)) == 16
    clock.advance(3600 + 1)  # … and now forgotten
    assert await throttle.waiting(HOME, ADMIN) == NO_WAIT
    assert await throttle.purge() == 2  # the pair's counter and the address's
    await fail(throttle, HOME, ADMIN, times=4)
    assert await throttle.waiting(HOME, ADMIN) == NO_WAIT


async def test_past_its_ceiling_an_address_holds_back_only_the_names_that_failed_there(
    counts: SqlFailureCounts,
) -> None:
    clock = Clock()
    throttle = SignInThrottle(counts, ThrottlePolicy(address_failures=10), clock=clock)
    for n in range(12):  # a spray: one wrong password for each of 12 names, 2 past the ceiling
        await fail(throttle, HOME, f"guess-{n}")
    assert seconds(await throttle.admit(HOME, "guess-0")) == 2  # its own count is free; the address's not
    assert seconds(await throttle.waiting(HOME, "guess-0")) == 2
    assert await throttle.admit(ELSEWHERE, "guess-0") == NO_WAIT
    assert await throttle.admit(HOME, ADMIN) == NO_WAIT  # no failures of its own: never held back
    await throttle.succeeded(HOME, ADMIN)
    assert await throttle.admit(HOME, ADMIN) == NO_WAIT
    clock.advance(2)
    assert await throttle.admit(HOME, "guess-0") == NO_WAIT


async def test_without_a_ceiling_the_address_counts_nothing(counts: SqlFailureCounts) -> None:
    throttle = SignInThrottle(counts, ThrottlePolicy(address_failures=0), clock=Clock())
    for n in range(12):
        await fail(throttle, HOME, f"guess-{n}")
    assert await throttle.admit(HOME, "guess-0") == NO_WAIT


def test_a_policy_that_would_forget_a_waiting_pair_is_refused() -> None:
    with pytest.raises(ValueError, match="forget_after"):
        ThrottlePolicy(longest_wait=timedelta(hours=2))


async def test_twenty_failures_at_once_from_two_workers_are_all_counted(db_url: str) -> None:
    async with migrated(db_url) as one, migrated(db_url) as two:
        workers = [SqlFailureCounts(one), SqlFailureCounts(two)]
        since = START - timedelta(hours=1)
        await asyncio.gather(
            *(
                workers[n % 2].count("k", now=START, since=since, wait=lambda _: NO_WAIT, unless="never")
                for n in range(20)
            )
        )
        assert [await worker.failures("k", since=since) for worker in workers] == [20, 20]


async def test_twenty_attempts_at_once_from_two_workers_get_exactly_the_free_ones_and_one_more(
    db_url: str,
) -> None:
    """Counted before the password check, atomically: a burst gets no more checks than a queue would."""
    clock = Clock()
    async with migrated(db_url) as one, migrated(db_url) as two:
        throttles = [SignInThrottle(SqlFailureCounts(sessions), clock=clock) for sessions in (one, two)]
        waits = await asyncio.gather(*(throttles[n % 2].admit(HOME, ADMIN) for n in range(20)))
        assert sorted(seconds(wait) for wait in waits) == [0] * 5 + [1] * 15
        assert [seconds(await throttle.waiting(HOME, ADMIN)) for throttle in throttles] == [1, 1]
