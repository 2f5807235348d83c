"""Customer writes JSM does not have: the rule by which one may be cancelled, and the admin's view of them.

A write leaves the outbox (`deskgate.portal.outbox`) only when JSM has it; until then it is pending
(waiting for its next try, perhaps with an earlier try whose outcome is unknown), sending (a worker holds
it), or failed (JSM refused it). The customer sees their own; the console's Deliveries page
(`deskgate.web.admin_deliveries`) sees everyone's through `UndeliveredWrites` and may act on any of them,
by the same rules as the customer:

- cancel deletes only what JSM surely does not have: failed, or pending with no try that may have reached
  JSM (`cancellable`). A write in flight, or one with an unclear try, stays: deleting it could leave a
  request in JSM that nobody tracks, and the next try finds the earlier one there instead of doubling it.
- retry never touches a write in flight: a failed one goes back in the queue and a pending one is brought
  forward, both due now, keeping what is known of earlier tries (so an unclear one is still looked for
  in JSM before it is sent again).

This module stays apart from `outbox` (and below it: `outbox` imports the rule from here) so that neither
grows past one sitting's read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.portal.delivery_policy import FILES_REFUSED, REFUSED
from deskgate.store.models import SubmissionFileRow, SubmissionRow

UNDELIVERED = ("pending", "sending", "failed")
KINDS = ("request", "comment")
SHOWN_FIELD_CHARS = 2000  # a field value longer than this is cut on the page (the row keeps it whole)


def cancellable() -> ColumnElement[bool]:
    """The writes a cancel may delete, in SQL (`SubmissionStatus.cancellable` says the same in Python):
    refused by JSM, or pending with no try that may have reached it."""
    return or_(
        SubmissionRow.state == "failed",
        and_(SubmissionRow.state == "pending", SubmissionRow.outcome_unknown.is_(False)),
    )


async def delete_if_cancellable(
    session: AsyncSession, submission_id: str, *where: ColumnElement[bool]
) -> bool:
    """Delete the write and its files if it is `cancellable` and matches `where`; whether it was.

    One conditional DELETE: a worker claiming the row at the same moment either finds it gone or makes
    it `sending` first, and then the DELETE matches nothing."""
    gone = await session.execute(
        delete(SubmissionRow)
        .where(SubmissionRow.id == submission_id, cancellable(), *where)
        .execution_options(synchronize_session=False)
    )
    if gone.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await session.execute(delete(SubmissionFileRow).where(SubmissionFileRow.submission_id == submission_id))
    return True


@dataclass(frozen=True, slots=True)
class StoredFile:
    name: str
    size: int  # bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class UndeliveredWrite:
    """One write as the admin sees it: who made it, what it says, and how its delivery stands."""

    id: str
    kind: str  # request | comment
    state: str  # pending | sending | failed
    idp: str
    subject: str
    jsm_user_id: str
    desk_id: str
    request_type_id: str  # "" for a comment
    issue_key: str | None  # comment: the request it goes to; request: set once created (files to come)
    summary: str  # request: its summary; comment: the text as the customer wrote it
    fields: tuple[tuple[str, str], ...]  # request: its other field values, as text; comment: none
    files: tuple[StoredFile, ...]
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    outcome_unknown: bool
    last_error: str | None

    @property
    def error_id(self) -> str | None:
        """The id under which JSM's refusal is in the audit log and the server log."""
        for prefix in (REFUSED, FILES_REFUSED):
            if self.last_error and self.last_error.startswith(prefix):
                return self.last_error[len(prefix) :]
        return None

    @property
    def cancellable(self) -> bool:
        return self.state == "failed" or (self.state == "pending" and not self.outcome_unknown)

    @property
    def not_cancellable_because(self) -> str:
        """Why a cancel is refused, in the admin's words ("" when it is not)."""
        if self.state == "sending":
            return "A delivery attempt is under way; it may reach JSM. Wait for it to end."
        if not self.cancellable:
            return (
                "An earlier attempt may have reached JSM (its answer was lost), so cancelling could leave "
                "a copy in JSM that nobody tracks. The next attempt looks for it in JSM before sending again."
            )
        return ""

    @property
    def retryable(self) -> bool:
        return self.state in ("pending", "failed")


@dataclass(frozen=True, slots=True)
class UndeliveredPage:
    writes: list[UndeliveredWrite]
    total: int  # matching writes on every page


class UndeliveredWrites:
    """Every customer's writes JSM does not have: list them, bring one forward, or cancel one, by id."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    async def listing(
        self, *, state: str | None = None, kind: str | None = None, offset: int = 0, limit: int = 50
    ) -> UndeliveredPage:
        """The undelivered writes, newest first, narrowed to one `state` and one `kind` if given."""
        states = UNDELIVERED if state is None else (state,)
        conditions: list[ColumnElement[bool]] = [SubmissionRow.state.in_(states)]
        if kind is not None:
            conditions.append(SubmissionRow.kind == kind)
        query = select(SubmissionRow).where(*conditions)
        newest_first = query.order_by(SubmissionRow.created_at.desc(), SubmissionRow.id)
        async with self._sessions() as session:
            total = await session.scalar(select(func.count()).select_from(SubmissionRow).where(*conditions))
            rows = (await session.scalars(newest_first.offset(offset).limit(limit))).all()
            files = await _files([row.id for row in rows], session)
        return UndeliveredPage([_write(row, files.get(row.id, ())) for row in rows], int(total or 0))

    async def get(self, submission_id: str) -> UndeliveredWrite | None:
        async with self._sessions() as session:
            row = await session.get(SubmissionRow, submission_id)
            if row is None or row.state not in UNDELIVERED:
                return None
            return _write(row, (await _files([row.id], session)).get(row.id, ()))

    async def retry_now(self, submission_id: str) -> bool:
        """Make the write due now: a failed one back in the queue, a pending one brought forward. False if
        it is delivered, gone, or in flight."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            done = await session.execute(
                update(SubmissionRow)
                .where(SubmissionRow.id == submission_id, SubmissionRow.state.in_(("pending", "failed")))
                .values(state="pending", next_attempt_at=now, updated_at=now)
                .execution_options(synchronize_session=False)
            )
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]

    async def cancel(self, submission_id: str) -> bool:
        """Delete the write if it is `cancellable` (whoever made it); False otherwise."""
        async with self._sessions() as session, session.begin():
            return await delete_if_cancellable(session, submission_id)


async def _files(ids: Sequence[str], session: AsyncSession) -> dict[str, tuple[StoredFile, ...]]:
    """The stored files' names and sizes (never their content: it stays in the database)."""
    if not ids:
        return {}
    file = SubmissionFileRow
    query = select(file.submission_id, file.filename, file.size, file.content_type).where(
        file.submission_id.in_(ids)
    )
    found: dict[str, tuple[StoredFile, ...]] = {}
    for owner, name, size, content_type in (await session.execute(query.order_by(file.id))).all():
        found[owner] = (*found.get(owner, ()), StoredFile(name, int(size), content_type))
    return found


def _as_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= SHOWN_FIELD_CHARS else text[:SHOWN_FIELD_CHARS] + "…"


def _write(row: SubmissionRow, files: tuple[StoredFile, ...]) -> UndeliveredWrite:
    # A comment's one field is its body as posted (attributed): the customer's text is `summary`.
    fields = (
        ()
        if row.kind == "comment"
        else tuple(
            (name, _as_text(value)) for name, value in (row.field_values or {}).items() if name != "summary"
        )
    )
    return UndeliveredWrite(
        id=row.id,
        kind=row.kind,
        state=row.state,
        idp=row.idp,
        subject=row.subject,
        jsm_user_id=row.jsm_user_id,
        desk_id=row.desk_id,
        request_type_id=row.request_type_id,
        issue_key=row.issue_key,
        summary=row.summary,
        fields=fields,
        files=files,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        outcome_unknown=row.outcome_unknown,
        last_error=row.last_error,
    )
