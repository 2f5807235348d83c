"""Admin password sign-ins slowed down per (client address, user name), with an exponential backoff.

Why per pair: a throttle keyed by user name alone, or by address alone, hands a stranger the power to
lock the real admin out — wrong passwords for ``admin`` from anywhere, or for any names from the admin's
own office address, used to refuse the right password too. Here the key is the pair, so:

- wrong passwords for a name from address A never hold that name back at address B;
- wrong passwords for name X from A never hold name Y back at A;
- a pair's first `ThrottlePolicy.free_failures` failures in a row cost nothing (typos happen); each one
  after that makes the pair wait twice as long as the one before (1 s, 2 s, 4 s … at most
  `longest_wait`), during which its password is not even checked and the page says when to try again;
- the right password clears the pair; a pair left alone for `forget_after` is forgotten.

An attempt is counted as a failure *before* its password is checked (`admit`), atomically with the
check that it may try at all, and a success takes it back (`succeeded`). Counting afterwards would let a
guesser fire a hundred requests at once, all admitted before the first failure was written. (An attempt
cut short before its check stays counted: the error is on the safe side.)

Per-address ceiling: per-pair backoff alone lets one address spray many names, each with its free
failures. So wrong passwords are also counted per address across all names, and once that count passes
the generous `address_failures`, every pair *that has failures of its own* at that address waits at
least as long as the address's own backoff. A pair with no failures is never held back by it: a name
nobody got wrong from that address (the real admin behind the same NAT as the sprayer) still gets its
password checked. A fresh name still costs the sprayer one guess each — unavoidable without breaking
that promise — but every further guess at a name waits for the address. A success does not clear the
address counter (the right password for one name says nothing about the others). The ceiling is read
before the pair is counted, not in the same transaction: it is a brake on spraying, the pair's backoff
is the lock.

Refused attempts (made while waiting) are not counted: the wait announced is the wait there is, and
they cost the server no password check. The counters live in the database, shared by every worker and
instance (`deskgate.admin.failure_counts`); the audit log records every attempt, separately. The policy
is `ThrottlePolicy`'s defaults, not settings: an operator has nothing to gain by loosening them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from deskgate.admin.failure_counts import SqlFailureCounts
from deskgate.crypto import digest
from deskgate.observability import metrics

NO_WAIT = timedelta(0)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    free_failures: int = 4  # failures in a row of one pair before any wait: the 5th waits `first_wait`
    first_wait: timedelta = timedelta(seconds=1)  # doubled at each further failure …
    longest_wait: timedelta = timedelta(minutes=5)  # … up to this
    forget_after: timedelta = timedelta(hours=1)  # counters quiet this long start again from nothing
    address_failures: int = 100  # wrong passwords from one address, any names, before its ceiling; 0: none

    def __post_init__(self) -> None:
        if self.forget_after <= self.longest_wait:
            # Otherwise a pair could be forgotten while it still waits, and restart with its free tries.
            raise ValueError("forget_after must be longer than longest_wait")

    def backoff(self, beyond: int) -> timedelta:
        """The wait after `beyond` failures past the free ones: none, then first_wait doubled each time."""
        if beyond <= 0:
            return NO_WAIT
        doublings = min(beyond - 1, 32)  # 2**32 s is past any sensible longest_wait already
        return min(self.first_wait * (1 << doublings), self.longest_wait)


class SignInThrottle:
    """Asked before a password is checked (`admit`), told how the check went (`failed`, `succeeded`)."""

    def __init__(
        self,
        counts: SqlFailureCounts,
        policy: ThrottlePolicy | None = None,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.counts = counts
        self.policy = policy or ThrottlePolicy()
        self._clock = clock

    async def admit(self, address: str, username: str) -> timedelta:
        """Zero when the pair may try now (the attempt then counts as a failure until `succeeded`);
        otherwise how long it must still wait, and nothing is counted."""
        now = self._clock()
        since = now - self.policy.forget_after
        pair, by_address = _keys(address, username)
        ceiling = await self._address_until(by_address, since)
        held = ceiling is not None and ceiling > now
        counted = await self.counts.count(
            pair,
            now=now,
            since=since,
            wait=lambda failures: self.policy.backoff(failures - self.policy.free_failures),
            unless="live" if held else "waiting",
        )
        if counted.counted:
            return NO_WAIT
        metrics.rate_limited("admin_sign_in")
        until = max(counted.until, ceiling or now)
        return max(until - now, timedelta(microseconds=1))  # refused: never "no wait"

    async def waiting(self, address: str, username: str) -> timedelta:
        """How long the pair must still wait, read without counting an attempt."""
        now = self._clock()
        since = now - self.policy.forget_after
        pair, by_address = _keys(address, username)
        until = await self.counts.until(pair, since=since)
        if until is None:
            return NO_WAIT  # a pair with no failures is never held back, whatever its address did
        ceiling = await self._address_until(by_address, since)
        return max(until - now, (ceiling or now) - now, NO_WAIT)

    async def failed(self, address: str, username: str) -> None:
        """The password was wrong: the pair's attempt stays counted, and the address counts one more."""
        if self.policy.address_failures <= 0:
            return
        now = self._clock()
        _, by_address = _keys(address, username)
        await self.counts.count(
            by_address,
            now=now,
            since=now - self.policy.forget_after,
            wait=lambda failures: self.policy.backoff(failures - self.policy.address_failures),
            unless="never",
        )

    async def succeeded(self, address: str, username: str) -> None:
        """The right password: the pair starts again from nothing (the address counter does not)."""
        pair, _ = _keys(address, username)
        await self.counts.clear(pair)

    async def purge(self) -> int:
        """Drop counters past `forget_after` (housekeeping: reading ignores them already)."""
        return await self.counts.purge(self._clock() - self.policy.forget_after)

    async def _address_until(self, key: str, since: datetime) -> datetime | None:
        if self.policy.address_failures <= 0:
            return None
        return await self.counts.until(key, since=since)


def _keys(address: str, username: str) -> tuple[str, str]:
    """The pair's counter key and the address's; names compare without case, as the audit log's do."""
    pair = digest(json.dumps(["pair", address, username.lower()]))
    return pair, digest(json.dumps(["address", address]))
