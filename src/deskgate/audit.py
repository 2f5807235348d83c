"""The audit log: who signed in or out, through which IdP, and why a sign-in was refused or failed.

The console and `deskgate audit` read it through the same `AuditFilter`; the CSV export escapes every cell
a spreadsheet would take for a formula, since subjects, emails and details come from outside. Failures that
name nobody (a forged callback, a stray logout token) are recorded within a budget per client address, the
rest summed up in one row (`deskgate.audit_budget`).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.audit_budget import AuditBudget, Surplus
from deskgate.changes import Change
from deskgate.observability import context, metrics
from deskgate.store.models import AuditEventRow
from deskgate.store.writes import write_one

log = logging.getLogger("deskgate.audit")

CSV_COLUMNS = (
    "at",
    "event",
    "outcome",
    "idp",
    "email",
    "subject",
    "client_ip",
    "error_id",
    "detail",
    "request_id",  # last: added later, so that spreadsheets reading columns by position keep working
)
# A spreadsheet evaluates a cell starting with one of these (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
OUTCOMES = ("success", "refused", "failure")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    event: str  # login, login.test, logout.rp, logout.frontchannel, logout.backchannel, admin.…
    outcome: str  # success, refused, failure
    idp: str | None = None
    subject: str | None = None
    email: str | None = None
    client_ip: str | None = None
    error_id: str | None = None
    detail: str | None = None
    at: datetime | None = None
    # A configuration change: what it changed, field by field, secrets masked (`deskgate.changes`).
    changes: list[Change] | None = None
    request_id: str | None = None  # None: the current request's (`observability.context`), if any


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which events to show; every criterion left empty matches all."""

    event: str | None = None
    outcome: str | None = None
    idp: str | None = None
    since: datetime | None = None  # at or after
    until: datetime | None = None  # strictly before
    user: str | None = None  # part of the subject or of the email, any case
    error_id: str | None = None  # the id a page or a refused write showed, exactly

    def conditions(self) -> list[ColumnElement[bool]]:
        row = AuditEventRow
        found: list[ColumnElement[bool]] = []
        if self.event:
            found.append(row.event == self.event)
        if self.outcome:
            found.append(row.outcome == self.outcome)
        if self.idp:
            found.append(row.idp == self.idp)
        if self.error_id:  # a page shows its request id as the error id
            found.append(or_(row.error_id == self.error_id, row.request_id == self.error_id))
        if self.since:
            found.append(row.at >= self.since)
        if self.until:
            found.append(row.at < self.until)
        if self.user:
            needle = self.user.lower()
            found.append(
                or_(
                    func.lower(row.subject).contains(needle, autoescape=True),
                    func.lower(row.email).contains(needle, autoescape=True),
                )
            )
        return found


def parse_time(text: str, *, end: bool = False) -> datetime:
    """A moment typed by an admin: an ISO 8601 date or date and time, UTC unless an offset is given.

    With `end`, a date alone means the end of that day, so that "to 2026-01-31" includes the 31st.
    Raises ValueError for anything else.
    """
    text = text.strip()
    moment = datetime.fromisoformat(text)
    if end and re.fullmatch(r"\d{4}-?\d{2}-?\d{2}", text):
        moment += timedelta(days=1)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # the log is kept in UTC


def _event(r: AuditEventRow) -> AuditEvent:
    return AuditEvent(
        event=r.event,
        outcome=r.outcome,
        idp=r.idp,
        subject=r.subject,
        email=r.email,
        client_ip=r.client_ip,
        error_id=r.error_id,
        detail=r.detail,
        at=r.at,
        changes=r.changes,  # type: ignore[arg-type]  # JSON read back as it was written
        request_id=r.request_id,
    )


class AuditLog:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, budget: AuditBudget | None = None
    ) -> None:
        self._sessions = sessions
        self.budget = budget or AuditBudget(sessions)

    async def record(self, event: AuditEvent) -> None:
        if event.event == "login":  # counted even when the budget below leaves it out of the log
            metrics.sign_in(event.idp, event.outcome)
        at = event.at or datetime.now(UTC)
        if self.budget.covers(event.event, event.outcome, event.subject, event.email):
            spent = await self.budget.spend(event.event, event.client_ip, at)
            if spent.surplus is not None:
                await self._write(self._summary(spent.surplus, at))
            if not spent.record:
                log.debug("audit event=%s client_ip=%s: over budget, counted", event.event, event.client_ip)
                return
        await self._write(replace(event, at=at))

    async def settle(self, now: datetime | None = None) -> int:
        """Write the summaries of the anonymous failures that closed windows counted (housekeeping's part:
        an address that stops sending never closes its window itself); how many rows that made."""
        at = now or datetime.now(UTC)
        surpluses = await self.budget.settle(at)
        for surplus in surpluses:
            await self._write(self._summary(surplus, at))
        return len(surpluses)

    def _summary(self, surplus: Surplus, at: datetime) -> AuditEvent:
        detail = surplus.detail(self.budget.window, self.budget.budget)
        return AuditEvent(
            event=surplus.event, outcome="failure", client_ip=surplus.client_ip, detail=detail, at=at
        )

    async def _write(self, event: AuditEvent) -> None:
        await write_one(self._sessions, insert(AuditEventRow).values(self._logged(event)))

    async def stage(self, db: AsyncSession, event: AuditEvent) -> None:
        """Add an event naming someone to a transaction the caller commits: a sign-in and its record are
        one commit, so neither is kept without the other. Anonymous failures go through `record` (budget)."""
        if self.budget.covers(event.event, event.outcome, event.subject, event.email):
            raise ValueError(
                f"{event.event}/{event.outcome} naming nobody is counted by the budget: use record"
            )
        if event.event == "login":
            metrics.sign_in(event.idp, event.outcome)
        await (await db.connection()).execute(insert(AuditEventRow), self._logged(event))

    def _logged(self, event: AuditEvent) -> dict[str, Any]:
        """Writes the event's line in the log, and gives its row, by column."""
        at = event.at or datetime.now(UTC)
        log.info(
            "audit event=%s outcome=%s idp=%s subject=%s client_ip=%s error_id=%s detail=%s",
            event.event,
            event.outcome,
            event.idp,
            event.subject,
            event.client_ip,
            event.error_id,
            event.detail,
        )
        return {
            "at": at,
            "event": event.event,
            "outcome": event.outcome,
            "idp": event.idp,
            "subject": event.subject,
            "email": event.email,
            "client_ip": event.client_ip,
            "error_id": event.error_id,
            "detail": (event.detail or "")[:2000] or None,
            "changes": [dict(change) for change in event.changes] if event.changes else None,
            "request_id": event.request_id or context.current_request_id(),
        }

    async def query(
        self,
        *,
        event: str | None = None,
        outcome: str | None = None,
        idp: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        user: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> list[AuditEvent]:
        """The matching events, newest first."""
        where = AuditFilter(event=event, outcome=outcome, idp=idp, since=since, until=until, user=user)
        return await self.search(where, offset=offset, limit=limit)

    async def search(self, where: AuditFilter, *, offset: int = 0, limit: int = 100) -> list[AuditEvent]:
        statement = self._newest_first(where.conditions()).offset(offset).limit(limit)
        async with self._sessions() as db:
            return [_event(r) for r in (await db.scalars(statement)).all()]

    async def count(self, where: AuditFilter) -> int:
        statement = select(func.count()).select_from(AuditEventRow).where(*where.conditions())
        async with self._sessions() as db:
            return int(await db.scalar(statement) or 0)

    async def export(self, where: AuditFilter, *, batch: int = 500) -> AsyncIterator[AuditEvent]:
        """Every matching event, newest first, read in batches (a large export never sits in memory).

        Batches continue below the last id seen rather than at an offset, so events recorded meanwhile
        neither repeat nor shift a row out of the export.
        """
        below: int | None = None
        while True:
            conditions = where.conditions()
            if below is not None:
                conditions.append(AuditEventRow.id < below)
            async with self._sessions() as db:
                rows = (await db.scalars(self._newest_first(conditions).limit(batch))).all()
            for row in rows:
                yield _event(row)
            if len(rows) < batch:
                return
            below = rows[-1].id

    async def recent_errors(self, limit: int = 20) -> list[AuditEvent]:
        """The latest refused or failed customer sign-ins and sign-outs (admin sign-ins are not SSO)."""
        conditions = [
            AuditEventRow.outcome.in_(("refused", "failure")),
            AuditEventRow.event.not_like("admin.%"),
        ]
        async with self._sessions() as db:
            rows = (await db.scalars(self._newest_first(conditions).limit(limit))).all()
        return [_event(r) for r in rows]

    async def events(self) -> list[str]:
        """The event names the log holds (the console's filter offers them)."""
        async with self._sessions() as db:
            names = await db.scalars(select(AuditEventRow.event).distinct().order_by(AuditEventRow.event))
            return list(names)

    async def count_by_idp(
        self, *, event: str, outcome: str | tuple[str, ...], since: datetime
    ) -> dict[str, int]:
        """How many events of one kind each IdP had since a moment (the console's "logins in 24 h"); several
        outcomes are counted together (failed sign-ins are "failure" and "refused")."""
        outcomes = (outcome,) if isinstance(outcome, str) else outcome
        statement = (
            select(AuditEventRow.idp, func.count())
            .where(
                AuditEventRow.event == event, AuditEventRow.outcome.in_(outcomes), AuditEventRow.at >= since
            )
            .group_by(AuditEventRow.idp)
        )
        async with self._sessions() as db:
            rows = (await db.execute(statement)).all()
        return {idp: int(n) for idp, n in rows if idp is not None}

    @staticmethod
    def _newest_first(conditions: Sequence[ColumnElement[bool]]) -> Select[AuditEventRow]:
        return select(AuditEventRow).where(*conditions).order_by(AuditEventRow.id.desc())


# --- CSV -------------------------------------------------------------------------------------------


def csv_cell(value: object) -> str:
    """A cell's text, with a leading ' when a spreadsheet would otherwise run it as a formula."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_line(values: Sequence[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([csv_cell(v) for v in values])
    return buffer.getvalue()


async def csv_lines(events: AsyncIterable[AuditEvent]) -> AsyncIterator[str]:
    """The header, then one line per event: what /admin/audit.csv and `deskgate audit --csv` send."""
    yield csv_line(CSV_COLUMNS)
    async for event in events:
        yield csv_line([getattr(event, column) for column in CSV_COLUMNS])
