"""A budget of audit rows for anonymous failures, so that junk cannot flood the audit log.

A callback with a forged or stale state, a logout token nobody issued: each costs a stranger one request
and names nobody, yet each was a row of the audit log, so a script could fill the table and bury the rows
that matter. Per kind of event and client address, the first `BUDGET` such failures in a `WINDOW` are
recorded one by one and the rest only counted; the count becomes one summary row ("480 more failed
sign-in callbacks from 203.0.113.7 …") once the window has closed, written by that address's next failure
or by housekeeping, whichever comes first.

Counting is one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (PostgreSQL, and SQLite since 3.35), so
every worker and instance spends the same budget and racing requests neither lose a count nor overspend
it. The count that opens a new window takes the closed window's surplus along (`carried`), and
housekeeping deletes the closed windows it sums up, so each summary is written by exactly one of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.crypto import digest
from deskgate.store.models import AuditBudgetRow as Row

BUDGET = 20
WINDOW = timedelta(minutes=10)
# The events a stranger can cause without naming anyone (no session, no subject): what the budget covers.
ANONYMOUS_EVENTS = {"login": "failed sign-in callbacks", "logout.backchannel": "refused logout tokens"}


@dataclass(frozen=True, slots=True)
class Surplus:
    """Failures a closed window counted but did not record, for its summary row."""

    event: str
    client_ip: str | None
    count: int
    since: datetime  # the window's start

    def detail(self, window: timedelta, budget: int) -> str:
        what = ANONYMOUS_EVENTS.get(self.event, f"{self.event} failures")
        address = self.client_ip or "an unknown address"
        minutes = int(window.total_seconds() // 60)
        return (
            f"{self.count} more {what} from {address} in the {minutes} minutes from "
            f"{self.since:%Y-%m-%d %H:%M:%S} UTC were counted, not recorded one by one "
            f"(at most {budget} per address and {minutes} minutes)"
        )


@dataclass(frozen=True, slots=True)
class Spent:
    record: bool  # within the budget: the failure gets its own row
    surplus: Surplus | None  # the address's previous window, closed by this count: its summary


class AuditBudget:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        budget: int = BUDGET,
        window: timedelta = WINDOW,
    ) -> None:
        self._sessions = sessions
        self.budget = budget
        self.window = window

    @staticmethod
    def covers(event: str, outcome: str, subject: str | None, email: str | None) -> bool:
        """Whether a failure is anonymous junk: an event anyone can cause, naming nobody."""
        return event in ANONYMOUS_EVENTS and outcome == "failure" and subject is None and email is None

    async def spend(self, event: str, client_ip: str | None, now: datetime) -> Spent:
        """Count one failure at `now`; whether to record it, and the surplus of a window it closed."""
        key = digest(json.dumps([event, client_ip]))
        closed = Row.window_start <= now - self.window
        async with self._sessions.begin() as db:
            insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
            first = insert(Row).values(
                key=key,
                event=event,
                client_ip=client_ip,
                window_start=now,
                seen=1,
                carried=0,
                carried_since=now,
            )
            # Every right-hand side reads the row as it was before this statement.
            upsert = first.on_conflict_do_update(
                index_elements=[Row.key],
                set_={
                    "window_start": case((closed, first.excluded.window_start), else_=Row.window_start),
                    "seen": case((closed, 1), else_=Row.seen + 1),
                    "carried": case((and_(closed, Row.seen > self.budget), Row.seen - self.budget), else_=0),
                    "carried_since": Row.window_start,
                },
            ).returning(Row.seen, Row.carried, Row.carried_since)
            seen, carried, since = (await db.execute(upsert)).one()
        surplus = Surplus(event, client_ip, carried, since) if carried else None
        return Spent(record=seen <= self.budget, surplus=surplus)

    async def settle(self, now: datetime) -> list[Surplus]:
        """Take the windows closed by `now` out of the table; the surplus of those that overspent."""
        statement = (
            delete(Row)
            .where(Row.window_start <= now - self.window)
            .returning(Row.event, Row.client_ip, Row.seen, Row.window_start)
        )
        async with self._sessions.begin() as db:
            rows = (await db.execute(statement)).all()
        return [
            Surplus(event, client_ip, seen - self.budget, since)
            for event, client_ip, seen, since in rows
            if seen > self.budget
        ]
