"""Counters of failed sign-ins in a row, kept in the database so that every worker and instance shares them.

One row per key (an opaque digest chosen by `deskgate.admin.throttle`): how many failures in a row, when
the last one was counted, and until when the key must wait. A counter whose last failure is older than
the caller's `since` is forgotten: it reads as absent, and the next failure starts it again at one.

Counting is one ``INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING`` (PostgreSQL, and SQLite since
3.35): the database increments the row itself, and only when the key may try now — so twenty requests
racing for one key can neither lose an increment nor all slip through a check made before any of them
was counted. The wait that follows from the new count is written in the same transaction, while the
row is still locked (PostgreSQL locks it, SQLite the whole database), before anyone else may count.

The store is the database and nothing else, also when customer sessions live in Redis: the console is
where a Redis outage gets fixed, so signing in to it must not need Redis (admin sessions stay in the
database for the same reason).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.store.models import AdminSignInFailureRow as Row

# When `count` leaves a counter alone: never; while it waits; while it holds any failure not forgotten.
Unless = Literal["never", "waiting", "live"]


@dataclass(frozen=True, slots=True)
class Counted:
    """The outcome of `SqlFailureCounts.count`: `until` is when the key may try again."""

    counted: bool
    until: datetime


class SqlFailureCounts:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def until(self, key: str, *, since: datetime) -> datetime | None:
        """Until when `key` waits, if it holds a failure at or after `since`."""
        query = select(Row.blocked_until).where(Row.key == key, Row.last_failure_at >= since)
        async with self._sessions() as db:
            return await db.scalar(query)

    async def failures(self, key: str, *, since: datetime) -> int:
        """How many failures in a row `key` holds (0 when forgotten or never counted)."""
        query = select(Row.failures).where(Row.key == key, Row.last_failure_at >= since)
        async with self._sessions() as db:
            return int(await db.scalar(query) or 0)

    async def count(
        self,
        key: str,
        *,
        now: datetime,
        since: datetime,
        wait: Callable[[int], timedelta],
        unless: Unless = "waiting",
    ) -> Counted:
        """One more failure for `key` at `now`, which then waits `wait(failures)` — unless its counter is
        in the state `unless` names; then nothing changes, and `counted` is False."""
        keep = {
            "never": None,
            "waiting": Row.blocked_until > now,
            "live": Row.last_failure_at >= since,
        }[unless]
        async with self._sessions.begin() as db:
            postgres = db.get_bind().dialect.name == "postgresql"
            insert = postgresql.insert if postgres else sqlite.insert
            first = insert(Row).values(key=key, failures=1, last_failure_at=now, blocked_until=now)
            stmt = first.on_conflict_do_update(
                index_elements=[Row.key],
                set_={
                    "failures": case((Row.last_failure_at < since, 1), else_=Row.failures + 1),
                    "last_failure_at": first.excluded.last_failure_at,
                    "blocked_until": first.excluded.blocked_until,
                },
                where=None if keep is None else ~keep,
            ).returning(Row.failures)
            failures = (await db.execute(stmt)).scalar()
            if failures is None:  # left alone: say until when it waits
                until = await db.scalar(select(Row.blocked_until).where(Row.key == key))
                return Counted(counted=False, until=until or now)
            until = now + wait(failures)
            if until > now:
                await db.execute(update(Row).where(Row.key == key).values(blocked_until=until))
        return Counted(counted=True, until=until)

    async def clear(self, key: str) -> None:
        async with self._sessions.begin() as db:
            await db.execute(delete(Row).where(Row.key == key))

    async def purge(self, before: datetime) -> int:
        """Forget the counters whose last failure is older than `before`; how many went."""
        async with self._sessions.begin() as db:
            result = await db.execute(delete(Row).where(Row.last_failure_at < before))
        return int(result.rowcount)  # type: ignore[attr-defined]
