"""The outbox table of customer requests: storing, reading, and the claims that make each delivery single.

`SubmissionOutbox.submit` stores the request, its files and a fresh idempotency marker in one transaction
before any JSM call, so nothing a customer submits is lost when JSM is down. How a stored submission
reaches JSM is `deskgate.portal.submissions`; when old rows go is `deskgate.portal.retention`.

Claims are leases in the row itself, taken with one conditional UPDATE (compare-and-set on `attempts`,
which every claim increments): `state='sending'`, `next_attempt_at = now + lease`. Only one worker's UPDATE
matches; a worker that crashed leaves a `sending` row whose lease runs out, and the next worker takes it
over (and searches for the marker first). Every later write of the claimant is fenced by its `attempts`
value, so a worker whose lease was taken over cannot overwrite the new owner's work.
Why not `SELECT … FOR UPDATE SKIP LOCKED`: that holds a transaction and a connection open across slow
JSM calls, a crash's lock would die with the connection but a hung one holds it, and SQLite has none.

States: pending → sending → done | failed (JSM refused the values: the customer sees JSM's message) and
back to pending after a transient failure. done and failed are final: nothing claims them again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.errors import DeskgateError
from deskgate.jsm.files import clean_filename
from deskgate.jsm.marker import apply_marker, new_marker
from deskgate.portal.forms import ValidatedRequest
from deskgate.store.models import SubmissionFileRow, SubmissionRow

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
UNKNOWN = "outcome unknown: "  # prefix of last_error when JSM may have acted on the failed call
LIVE_STATES = ("pending", "sending")  # still to be delivered: their rows and files are needed
FINAL_STATES = ("done", "failed")


def utc_now() -> datetime:
    return datetime.now(UTC)


class AttachmentTooLarge(DeskgateError):
    status_code = 413
    user_message = "A file is too large."


@dataclass(frozen=True, slots=True)
class UploadedFile:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Submitter:
    """Who submits: the signed-in identity and the JSM customer the request is raised for."""

    idp: str
    subject: str
    jsm_user_id: str


@dataclass(frozen=True, slots=True)
class SubmissionStatus:
    id: str
    summary: str
    state: str  # pending, sending, done, failed
    issue_key: str | None
    last_error: str | None
    attempts: int
    created_at: datetime
    next_attempt_at: datetime


@dataclass(frozen=True, slots=True)
class Claim:
    row: SubmissionRow
    attempts: int  # this claim's fencing token
    was_unclear: bool  # an earlier try may have reached JSM (it timed out, or its worker died)


def _clean_content_type(value: str) -> str:
    kept = "".join(c for c in value if c.isprintable()).strip()
    return kept[:255] or "application/octet-stream"


class SubmissionOutbox:
    """The submissions table; a claim (see the module docstring) is the only way to start a delivery."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, clock: Clock = utc_now) -> None:
        self._sessions = sessions
        self._clock = clock

    # --- storing ---------------------------------------------------------------------------------------

    async def submit(
        self,
        submitter: Submitter,
        desk_id: str,
        request_type_id: str,
        validated: ValidatedRequest,
        files: Sequence[UploadedFile] = (),
        *,
        max_file_bytes: int,
    ) -> str:
        """Store the submission durably (one transaction, before any JSM call); its id."""
        for upload in files:
            if len(upload.content) > max_file_bytes:
                raise AttachmentTooLarge(
                    f"{upload.filename}: {len(upload.content)} bytes > {max_file_bytes}",
                    user_message=f"“{clean_filename(upload.filename)}” is larger than the limit of "
                    f"{max_file_bytes / 1_048_576:.1f} MB. Please attach a smaller file.",
                )
        marker = new_marker()
        values = dict(validated.field_values)
        if validated.marker_field is not None:
            values = apply_marker(values, marker, validated.marker_field)
        now = self._clock()
        submission_id = uuid.uuid4().hex
        async with self._sessions() as session, session.begin():
            session.add(
                SubmissionRow(
                    id=submission_id,
                    marker=marker,
                    idp=submitter.idp,
                    subject=submitter.subject,
                    jsm_user_id=submitter.jsm_user_id,
                    desk_id=desk_id,
                    request_type_id=request_type_id,
                    summary=validated.summary,
                    field_values=values,
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
            await session.flush()  # the parent row first: the files refer to it
            session.add_all(
                SubmissionFileRow(
                    submission_id=submission_id,
                    filename=clean_filename(f.filename),
                    content_type=_clean_content_type(f.content_type),
                    size=len(f.content),
                    content=f.content,
                )
                for f in files
            )
        return submission_id

    # --- reading ---------------------------------------------------------------------------------------

    async def status(self, submission_id: str) -> SubmissionStatus | None:
        async with self._sessions() as session:
            row = await session.get(SubmissionRow, submission_id)
            return None if row is None else _status(row)

    async def pending_for(self, idp: str, subject: str) -> list[SubmissionStatus]:
        """The customer's submissions JSM does not have (yet): pending, sending, or refused; newest first."""
        query = (
            select(SubmissionRow)
            .where(SubmissionRow.idp == idp, SubmissionRow.subject == subject)
            .where(SubmissionRow.state.in_(("pending", "sending", "failed")))
            .order_by(SubmissionRow.created_at.desc())
        )
        async with self._sessions() as session:
            return [_status(row) for row in (await session.scalars(query)).all()]

    async def due(self, limit: int = 20) -> list[str]:
        """Ids of submissions to try now: pending and due, or `sending` with a lapsed lease."""
        query = (
            select(SubmissionRow.id)
            .where(SubmissionRow.state.in_(LIVE_STATES))
            .where(SubmissionRow.next_attempt_at <= self._clock())
            .order_by(SubmissionRow.next_attempt_at)
            .limit(limit)
        )
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def _files(self, submission_id: str) -> list[SubmissionFileRow]:
        async with self._sessions() as session:
            query = select(SubmissionFileRow).where(SubmissionFileRow.submission_id == submission_id)
            return list((await session.scalars(query.order_by(SubmissionFileRow.id))).all())

    # --- claiming, and writing the outcome (fenced by the claim's attempts) ------------------------------

    async def _claim(self, submission_id: str, lease_seconds: float) -> Claim | None:
        """Take the submission for `lease_seconds` if it is due and nobody else holds it."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            row = await session.get(SubmissionRow, submission_id)
            if row is None or row.state not in LIVE_STATES or row.next_attempt_at > now:
                return None
            seen, was_sending = row.attempts, row.state == "sending"
            taken = await session.execute(
                update(SubmissionRow)
                .where(SubmissionRow.id == submission_id, SubmissionRow.attempts == seen)
                .where(SubmissionRow.state.in_(LIVE_STATES))
                .where(SubmissionRow.next_attempt_at <= now)
                .values(
                    state="sending",
                    attempts=seen + 1,
                    next_attempt_at=now + timedelta(seconds=lease_seconds),
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return None
        unclear = was_sending or (row.last_error or "").startswith(UNKNOWN)
        return Claim(row, seen + 1, unclear and seen > 0)

    async def _save(self, claim: Claim, **values: Any) -> bool:
        """Write the claimant's outcome; False (and nothing written) if its lease was taken over."""
        values["updated_at"] = self._clock()
        async with self._sessions() as session, session.begin():
            done = await session.execute(
                update(SubmissionRow)
                .where(SubmissionRow.id == claim.row.id, SubmissionRow.state == "sending")
                .where(SubmissionRow.attempts == claim.attempts)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            log.warning("submission %s: lease lost before saving %s", claim.row.id, sorted(values))
            return False
        return True

    async def _finish(self, claim: Claim, key: str, note: str | None) -> bool:
        """Mark it done; its files are in JSM now, so their (large) contents go at once."""
        if not await self._save(claim, state="done", issue_key=key, last_error=note):
            return False
        async with self._sessions() as session, session.begin():
            await session.execute(
                delete(SubmissionFileRow).where(SubmissionFileRow.submission_id == claim.row.id)
            )
        return True


def _status(row: SubmissionRow) -> SubmissionStatus:
    return SubmissionStatus(
        id=row.id,
        summary=row.summary,
        state=row.state,
        issue_key=row.issue_key,
        last_error=row.last_error,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
    )
