"""The outbox of customer writes: storing, reading, cancelling; one table for every kind of write.

Every write a customer makes to JSM is a row here before any JSM call, so nothing is lost when JSM is
down: `submit` stores a new request, its files and a fresh idempotency marker; `submit_comment` a comment
(already attributed, see `deskgate.web.portal.common.attributed`) for a request the customer was
authorized for, with its files. Both kinds share the row (`kind`), the file rows, the claims
(`deskgate.portal.claims`) and the states; how each kind reaches JSM is `deskgate.portal.submissions`;
when old rows go is `deskgate.portal.retention`.

States: pending → sending → done | failed (JSM refused it: the customer sees it with its content and may
retry or cancel it) and back to pending after a transient failure. done is final; a failed row is
claimed again only when the customer asks for a retry. A cancel deletes a row nobody holds and that is
not known to be (perhaps) in JSM already: pending with no unclear try, or failed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from deskgate.errors import DeskgateError
from deskgate.jsm.files import clean_filename
from deskgate.jsm.marker import apply_marker, new_marker
from deskgate.portal.forms import ValidatedRequest
from deskgate.portal.undelivered import delete_if_cancellable
from deskgate.store.models import SubmissionFileRow, SubmissionRow
from deskgate.store.reads import engine_of, read_first, reading
from deskgate.store.writes import write_one

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
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
    issue_key: str | None  # request: the issue made; comment: the request it goes to
    kind: str  # request | comment
    last_error: str | None
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    outcome_unknown: bool = False
    file_names: tuple[str, ...] = ()

    @property
    def cancellable(self) -> bool:
        """Whether a cancel can still make sure JSM never gets it (see `SubmissionOutbox.cancel`)."""
        return self.state == "failed" or (self.state == "pending" and not self.outcome_unknown)


def _clean_content_type(value: str) -> str:
    kept = "".join(c for c in value if c.isprintable()).strip()
    return kept[:255] or "application/octet-stream"


class SubmissionOutbox:
    """The outbox table: storing and reading; delivering is `deskgate.portal.claims` and `.submissions`."""

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
        marker = new_marker()
        values = dict(validated.field_values)
        if validated.marker_field is not None:
            values = apply_marker(values, marker, validated.marker_field)
        return await self._store(
            submitter,
            "request",
            desk_id,
            request_type_id,
            validated.summary,
            values,
            files,
            marker=marker,
            max_file_bytes=max_file_bytes,
            issue_key=None,
        )

    async def submit_comment(
        self,
        submitter: Submitter,
        issue_key: str,
        desk_id: str,
        text: str,
        body: str,
        files: Sequence[UploadedFile] = (),
        *,
        max_file_bytes: int,
    ) -> str:
        """Store a comment for `issue_key` (call only once the customer was authorized for it): `text` as
        the customer wrote it (shown while pending), `body` as it is posted (attributed); its id."""
        return await self._store(
            submitter,
            "comment",
            desk_id,
            "",
            text,
            {"body": body},
            files,
            marker=new_marker(),
            max_file_bytes=max_file_bytes,
            issue_key=issue_key,
        )

    async def _store(
        self,
        submitter: Submitter,
        kind: str,
        desk_id: str,
        request_type_id: str,
        summary: str,
        values: dict[str, Any],
        files: Sequence[UploadedFile],
        *,
        marker: str,
        max_file_bytes: int,
        issue_key: str | None,
    ) -> str:
        for upload in files:
            if len(upload.content) > max_file_bytes:
                raise AttachmentTooLarge(
                    f"{upload.filename}: {len(upload.content)} bytes > {max_file_bytes}",
                    user_message=f"“{clean_filename(upload.filename)}” is larger than the limit of "
                    f"{max_file_bytes / 1_048_576:.1f} MB. Please attach a smaller file.",
                )
        now = self._clock()
        submission_id = uuid.uuid4().hex
        row = insert(SubmissionRow).values(
            id=submission_id,
            kind=kind,
            marker=marker,
            idp=submitter.idp,
            subject=submitter.subject,
            jsm_user_id=submitter.jsm_user_id,
            desk_id=desk_id,
            request_type_id=request_type_id,
            summary=summary,
            field_values=values,
            state="pending",
            attempts=0,
            issue_key=issue_key,
            outcome_unknown=False,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        if not files:  # one statement: atomic without a transaction around it
            await write_one(self._sessions, row)
            return submission_id
        async with engine_of(self._sessions).begin() as connection:  # the row and its files, or nothing
            await connection.execute(row)
            await connection.execute(
                insert(SubmissionFileRow),
                [
                    {
                        "submission_id": submission_id,
                        "filename": clean_filename(f.filename),
                        "content_type": _clean_content_type(f.content_type),
                        "size": len(f.content),
                        "content": f.content,
                    }
                    for f in files
                ],
            )
        return submission_id

    # --- reading ---------------------------------------------------------------------------------------

    async def status(self, submission_id: str) -> SubmissionStatus | None:
        query = select(*SubmissionRow.__table__.columns).where(SubmissionRow.id == submission_id)
        row = await read_first(self._sessions, query)
        return None if row is None else _status(row)

    async def pending_for(
        self, idp: str, subject: str, *, kind: str | None = None, issue_key: str | None = None
    ) -> list[SubmissionStatus]:
        """The customer's writes JSM does not have (yet): pending, sending, or refused; newest first.
        Narrowed to one `kind`, and for comments to the request they go to (`issue_key`)."""
        query = (
            select(*SubmissionRow.__table__.columns)
            .where(SubmissionRow.idp == idp, SubmissionRow.subject == subject)
            .where(SubmissionRow.state.in_(("pending", "sending", "failed")))
            .order_by(SubmissionRow.created_at.desc())
        )
        if kind is not None:
            query = query.where(SubmissionRow.kind == kind)
        if issue_key is not None:
            query = query.where(SubmissionRow.issue_key == issue_key)
        async with reading(self._sessions) as connection:  # a page's read: no transaction needed
            rows = (await connection.execute(query)).all()
            names = await self._file_names([row.id for row in rows], connection)
        return [_status(row, names.get(row.id, ())) for row in rows]

    async def _file_names(
        self, ids: Sequence[str], session: AsyncSession | AsyncConnection
    ) -> dict[str, tuple[str, ...]]:
        if not ids:
            return {}
        query = select(SubmissionFileRow.submission_id, SubmissionFileRow.filename).where(
            SubmissionFileRow.submission_id.in_(ids)
        )
        found: dict[str, tuple[str, ...]] = {}
        for owner, name in (await session.execute(query.order_by(SubmissionFileRow.id))).all():
            found[owner] = (*found.get(owner, ()), name)
        return found

    # --- the customer's own decisions about a write JSM does not have ---------------------------------

    async def cancel(self, submission_id: str, idp: str, subject: str) -> bool:
        """Delete the customer's write if JSM surely does not have it and nobody is delivering it: pending
        with no unclear try, or failed. False otherwise (a try in flight, or one that may have arrived:
        deleting it then could leave a request the customer believes withdrawn)."""
        owned = (SubmissionRow.idp == idp, SubmissionRow.subject == subject)
        async with self._sessions() as session, session.begin():
            return await delete_if_cancellable(session, submission_id, *owned)

    async def retry(self, submission_id: str, idp: str, subject: str) -> bool:
        """Put the customer's failed write back in the queue, due now (as a new delivery: it keeps what is
        known of earlier tries). False if it is not the customer's or not failed."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            done = await session.execute(
                update(SubmissionRow)
                .where(SubmissionRow.id == submission_id, SubmissionRow.idp == idp)
                .where(SubmissionRow.subject == subject, SubmissionRow.state == "failed")
                .values(state="pending", next_attempt_at=now, updated_at=now)
                .execution_options(synchronize_session=False)
            )
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]

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

    async def _files(self, submission_id: str) -> list[Row[Any]]:
        """The stored files (filename, content_type, size, content), in the order they were given."""
        query = select(*SubmissionFileRow.__table__.columns)
        query = query.where(SubmissionFileRow.submission_id == submission_id).order_by(SubmissionFileRow.id)
        async with reading(self._sessions) as connection:
            return list((await connection.execute(query)).all())


def _status(row: SubmissionRow | Row[Any], file_names: tuple[str, ...] = ()) -> SubmissionStatus:
    return SubmissionStatus(
        id=row.id,
        summary=row.summary,
        state=row.state,
        issue_key=row.issue_key,
        kind=row.kind,
        last_error=row.last_error,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        outcome_unknown=row.outcome_unknown,
        file_names=file_names,
    )
