"""The durable outbox of customer requests: nothing a customer submits is lost when JSM is down.

`Submissions.submit` stores the request, its files and a fresh idempotency marker in one transaction
before any JSM call. `Submissions.attempt` then delivers it; the web layer calls it once inline, so a
healthy JSM hands the customer the issue key at once (for a known customer: one `create_request`, plus the
uploads). Whatever fails is retried by `SubmissionWorker` with exponential backoff until JSM has it.

Exactly once, across failures, crashes and several workers:

- The marker is written into the stored field values (`deskgate.jsm.marker`), so every try sends the
  same request. A retry first asks JSM for a request carrying the marker and adopts it, so a create that
  timed out after JSM made the issue (or a worker that died mid-call) never yields a second issue. The
  retry waits at least `DeliveryPolicy.search_lag` first: JSM's search index lags behind writes.
- Once the issue exists its key is saved before the files are uploaded; a retry then only attaches.
- Claims are leases in the row itself, taken with one conditional UPDATE (compare-and-set on `attempts`,
  which every claim increments): `state='sending'`, `next_attempt_at = now + claim_seconds`. Only one
  worker's UPDATE matches; a worker that crashed leaves a `sending` row whose lease runs out, and the next
  worker takes it over (and searches for the marker first). Every later write of the claimant is fenced
  by its `attempts` value, so a worker whose lease was taken over cannot overwrite the new owner's work.
  Why not `SELECT … FOR UPDATE SKIP LOCKED`: that holds a transaction and a connection open across slow
  JSM calls, a crash's lock would die with the connection but a hung one holds it, and SQLite has none.
  `claim_seconds` must stay well above the longest attempt (JSM timeout times retries, plus uploads).

States: pending → sending → done | failed (JSM refused the values: the customer sees JSM's message) and
back to pending after a transient failure. A request type with no description or labels field cannot
carry a marker: after an unclear failure such a submission is marked failed rather than risk a duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.errors import DeskgateError
from deskgate.jsm import JsmBadRequest, JsmClient, JsmError, JsmRateLimited, JsmUnavailable
from deskgate.jsm.marker import apply_marker, marker_label, marker_line, new_marker
from deskgate.portal.forms import ValidatedRequest
from deskgate.store.models import SubmissionFileRow, SubmissionRow

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
UNKNOWN = "outcome unknown: "  # prefix of last_error when JSM may have acted on the failed call


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
class DeliveryPolicy:
    base_delay: float = 30.0  # seconds before the first retry; doubles each time
    max_delay: float = 3600.0
    search_lag: float = 30.0  # at least this long before looking for the marker of an unclear create
    claim_seconds: float = 600.0  # a `sending` lease; must exceed the longest attempt
    jitter: Callable[[], float] = field(default=random.random)  # in [0, 1)

    def delay(self, attempts: int) -> float:
        """Wait after failed attempt number `attempts` (1-based): half fixed, half random."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))
        return float(ceiling / 2 + self.jitter() * ceiling / 2)


def _clean_filename(name: str) -> str:
    # Some browsers send the full client path; control characters never belong in a name.
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable()).strip()
    return (base or "attachment")[:255]


def _clean_content_type(value: str) -> str:
    kept = "".join(c for c in value if c.isprintable()).strip()
    return kept[:255] or "application/octet-stream"


def _carries_marker(values: dict[str, Any], marker: str) -> bool:
    return marker_line(marker) in str(values.get("description") or "") or marker_label(marker) in (
        values.get("labels") or ()
    )


@dataclass(frozen=True, slots=True)
class _Claim:
    row: SubmissionRow
    attempts: int  # this claim's fencing token
    was_unclear: bool  # an earlier try may have reached JSM (it timed out, or its worker died)


class Submissions:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: JsmClient,
        *,
        clock: Clock = utc_now,
        policy: DeliveryPolicy | None = None,
        project_key_for: Callable[[str], Awaitable[str]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._client = client
        self._clock = clock
        self.policy = policy or DeliveryPolicy()
        self._project_key_for = project_key_for or self._project_key_from_jsm

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
                    user_message=f"“{_clean_filename(upload.filename)}” is larger than the limit of "
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
                    filename=_clean_filename(f.filename),
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
            .where(SubmissionRow.state.in_(("pending", "sending")))
            .where(SubmissionRow.next_attempt_at <= self._clock())
            .order_by(SubmissionRow.next_attempt_at)
            .limit(limit)
        )
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    # --- delivering ------------------------------------------------------------------------------------

    async def attempt(self, submission_id: str) -> SubmissionStatus | None:
        """Try to deliver one submission if it is due and nobody else holds it; its status afterwards."""
        await self.deliver_if_due(submission_id)
        return await self.status(submission_id)

    async def deliver_if_due(self, submission_id: str) -> bool:
        """Claim and try to deliver the submission; False if it was not due or another worker has it."""
        claim = await self._claim(submission_id)
        if claim is None:
            return False
        await self._deliver(claim)
        return True

    async def _claim(self, submission_id: str) -> _Claim | None:
        now = self._clock()
        async with self._sessions() as session, session.begin():
            row = await session.get(SubmissionRow, submission_id)
            if row is None or row.state not in ("pending", "sending") or row.next_attempt_at > now:
                return None
            seen, was_sending = row.attempts, row.state == "sending"
            taken = await session.execute(
                update(SubmissionRow)
                .where(SubmissionRow.id == submission_id, SubmissionRow.attempts == seen)
                .where(SubmissionRow.state.in_(("pending", "sending")))
                .where(SubmissionRow.next_attempt_at <= now)
                .values(
                    state="sending",
                    attempts=seen + 1,
                    next_attempt_at=now + timedelta(seconds=self.policy.claim_seconds),
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return None
        unclear = was_sending or (row.last_error or "").startswith(UNKNOWN)
        return _Claim(row, seen + 1, unclear and seen > 0)

    async def _deliver(self, claim: _Claim) -> None:
        row = claim.row
        key = row.issue_key
        try:
            if key is None:
                key = await self._create(claim)
                if key is None:
                    return
                await self._save(claim, issue_key=key)
            await self._attach(claim, key)
        except JsmBadRequest as refused:
            if key is None:
                await self._save(claim, state="failed", last_error=refused.error_message or str(refused))
            else:  # the request exists; only its files were refused: keep the request, say so
                note = (
                    f"The request was created, but its files were refused: {refused.error_message or refused}"
                )
                await self._finish(claim, key, note)
            return
        except JsmError as failed:
            await self._reschedule(claim, failed)
            return
        await self._finish(claim, key, None)

    async def _create(self, claim: _Claim) -> str | None:
        row = claim.row
        marked = _carries_marker(row.field_values, row.marker)
        if claim.was_unclear:
            if not marked:
                text = "This request may or may not have reached the help desk. Please check your requests."
                await self._save(claim, state="failed", last_error=text)
                return None
            project_key = await self._project_key_for(row.desk_id)
            found = await self._client.find_request_by_marker(project_key, row.marker)
            if found is not None:
                log.info("submission %s: adopted %s found by its marker", row.id, found.issue_key)
                return found.issue_key
        created = await self._client.create_request(
            row.desk_id, row.request_type_id, row.field_values, raise_on_behalf_of=row.jsm_user_id
        )
        return created.issue_key

    async def _attach(self, claim: _Claim, key: str) -> None:
        async with self._sessions() as session:
            query = select(SubmissionFileRow).where(SubmissionFileRow.submission_id == claim.row.id)
            files = list((await session.scalars(query.order_by(SubmissionFileRow.id))).all())
        if not files:
            return
        if claim.row.issue_key is not None and claim.was_unclear:
            # An earlier attach may have gone through before its answer was lost: skip what is there.
            present = {(a.filename, a.size) for a in await self._client.attachments(key)}
            files = [f for f in files if (f.filename, f.size) not in present]
        desk = claim.row.desk_id
        temporary = [
            await self._client.attach_temporary_file(desk, f.filename, f.content, f.content_type)
            for f in files
        ]
        if temporary:
            await self._client.attach_to_request(key, temporary, public=True)

    # --- writing the outcome (fenced by the claim's attempts) -------------------------------------------

    async def _save(self, claim: _Claim, **values: Any) -> bool:
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

    async def _finish(self, claim: _Claim, key: str, note: str | None) -> None:
        if await self._save(claim, state="done", issue_key=key, last_error=note):
            async with self._sessions() as session, session.begin():
                await session.execute(
                    delete(SubmissionFileRow).where(SubmissionFileRow.submission_id == claim.row.id)
                )

    async def _reschedule(self, claim: _Claim, failure: JsmError) -> None:
        wait = self.policy.delay(claim.attempts)
        unclear = isinstance(failure, JsmUnavailable) and failure.outcome_unknown
        if unclear:
            wait = max(wait, self.policy.search_lag)
        if isinstance(failure, JsmRateLimited) and failure.retry_after:
            wait = max(wait, failure.retry_after)
        text = (UNKNOWN if unclear else "") + str(failure)
        log.warning(
            "submission %s: attempt %d failed, next in %.0f s: %s", claim.row.id, claim.attempts, wait, text
        )
        await self._save(
            claim,
            state="pending",
            last_error=text,
            next_attempt_at=self._clock() + timedelta(seconds=wait),
        )

    async def _project_key_from_jsm(self, desk_id: str) -> str:
        for desk in await self._client.service_desks():
            if desk.id == desk_id:
                return desk.project_key
        raise JsmError(f"service desk {desk_id} is not visible", operation="find project key")


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


class SubmissionWorker:
    """Delivers due submissions in the background; any number may run, in any number of processes."""

    def __init__(
        self,
        submissions: Submissions,
        *,
        batch: int = 20,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.submissions = submissions
        self.batch = batch
        self._sleep = sleep

    async def run_due_once(self) -> int:
        """Try every submission due now (up to `batch`); how many this worker claimed."""
        claimed = 0
        for submission_id in await self.submissions.due(self.batch):
            claimed += await self.submissions.deliver_if_due(submission_id)
        return claimed

    async def run_forever(self, poll_interval: float = 5.0) -> None:
        while True:
            try:
                busy = await self.run_due_once()
            except Exception:  # the database may be away for a moment; the loop must outlive it
                log.exception("submission worker: a round failed")
                busy = 0
            if busy < self.batch:
                await self._sleep(poll_interval)
