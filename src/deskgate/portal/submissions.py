"""Delivering the outbox to JSM exactly once: nothing a customer writes is lost, nothing is doubled.

Every write (a new request with its files, a comment with its files) is stored first
(`deskgate.portal.outbox`); `Submissions.attempt` then delivers it. The web layer calls it once inline
for a new request, so a healthy JSM hands the customer the issue key at once; comments are delivered in
the background. Whatever fails is retried by `SubmissionWorker` with exponential backoff (and at least
what `Retry-After` asked) until JSM has it, or JSM refuses it (shown to the customer, who may retry or
cancel it).

Exactly once, across failures, crashes and several workers:

- Every answer that may follow a write JSM carried out is "outcome unknown" (`deskgate.jsm.transport`),
  and so is a claim taken over from a dead worker (`deskgate.portal.claims`). That state is sticky: it
  stays on the row across every retry until the write is adopted or made.
- A retry of an unclear write first looks for its effect, reading JSM directly
  (`deskgate.portal.adoption`, which says why this works for every request type on Cloud and Data
  Center) and adopts what it finds. It looks no sooner than `DeliveryPolicy.late_commit` after the
  unclear try ended (JSM may still act on a call the client gave up on), and writes again at once when
  the lookup is complete: it read every issue key made since, so a lagging search index cannot hide
  the earlier attempt. Only when that walk could not finish does an empty search decide, and only
  `search_lag` after the unclear try. A failed lookup leaves it unknown, for a later retry.
- Once the issue exists its key is saved before the files are uploaded; a retry then only attaches what
  JSM does not list yet, so the files stay stored until the submission is done.
- Each try holds a short lease renewed by a heartbeat; each JSM write first renews it, so a worker whose
  lease was taken over never sends again (`deskgate.portal.claims`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.audit import AuditEvent, AuditLog
from deskgate.errors import new_error_id
from deskgate.jsm import JsmBadRequest, JsmClient, JsmError, JsmNotFound, JsmRateLimited, JsmUnavailable
from deskgate.portal.adoption import Wanted, find_earlier_comment, look_for_earlier_request
from deskgate.portal.claims import Claim, ClaimingOutbox
from deskgate.portal.delivery_policy import FILES_REFUSED, REFUSED, DeliveryPolicy, customer_message
from deskgate.portal.outbox import (
    AttachmentTooLarge,
    Clock,
    SubmissionStatus,
    Submitter,
    UploadedFile,
    utc_now,
)
from deskgate.store.models import SubmissionRow
from deskgate.store.reads import reading

__all__ = [
    "AttachmentTooLarge",
    "DeliveryPolicy",
    "SubmissionStatus",
    "SubmissionWorker",
    "Submissions",
    "Submitter",
    "UploadedFile",
    "customer_message",
]

log = logging.getLogger(__name__)


class Submissions(ClaimingOutbox):
    """The outbox, and the delivery of its writes to one JSM site."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: JsmClient,
        *,
        clock: Clock = utc_now,
        policy: DeliveryPolicy | None = None,
        project_key_for: Callable[[str], Awaitable[str]] | None = None,
    ) -> None:
        super().__init__(sessions, clock=clock)
        self._client = client
        self.policy = policy or DeliveryPolicy()
        self.lease_seconds = self.policy.lease_seconds
        self.heartbeat_seconds = self.policy.heartbeat_seconds
        self._project_key_for = project_key_for or self._project_key_from_jsm

    async def attempt(self, submission_id: str) -> SubmissionStatus | None:
        """Try to deliver one write if it is due and nobody else holds it; its status afterwards."""
        await self.deliver_if_due(submission_id)
        return await self.status(submission_id)

    async def deliver_if_due(self, submission_id: str) -> bool:
        """Claim and try to deliver the write; False if it was not due or another worker has it."""
        claim = await self._claim(submission_id)
        if claim is None:
            return False
        await self._while_held(claim, self._deliver(claim))
        return True

    async def _deliver(self, claim: Claim) -> None:
        row = claim.row
        key = row.issue_key
        try:
            if row.kind == "comment":
                await self._comment(claim)
                return
            if key is None:
                key = await self._create(claim)
                if key is None:
                    return
                if not claim.has_files:  # nothing to attach: the key and done are one write
                    await self._finish(claim, None, issue_key=key)
                    return
                if not await self._save(claim, issue_key=key, outcome_unknown=False):
                    return
            await self._attach(claim, key)
        except (JsmBadRequest, JsmNotFound) as refused:
            await self._refused(claim, None if row.kind == "comment" else key, refused)
            return
        except JsmError as failed:
            await self._reschedule(claim, failed)
            return
        await self._finish(claim, None)

    async def _refused(self, claim: Claim, key: str | None, refused: JsmError) -> None:
        # JSM's own words go to the log and the audit log; the customer reads a plain message and the
        # error id (`customer_message`), with which the help desk finds the rest.
        row, error_id = claim.row, new_error_id()
        log.warning("submission %s refused by JSM [error id %s]: %s", row.id, error_id, refused)
        what = f"comment on {row.issue_key}" if row.kind == "comment" else "new request"
        await AuditLog(self._sessions).record(
            AuditEvent(
                event="portal.comment" if row.kind == "comment" else "portal.submission",
                outcome="refused",
                idp=row.idp,
                subject=row.subject,
                error_id=error_id,
                detail=f"{'files of ' + key if key else what}: {refused}",
            )
        )
        if key is None:
            await self._save(claim, state="failed", last_error=f"{REFUSED}{error_id}")
        else:  # the request exists; only its files were refused: keep the request, say so
            await self._finish(claim, f"{FILES_REFUSED}{error_id}")

    async def _create(self, claim: Claim) -> str | None:
        """The new request's key: an earlier unclear try's, found in JSM, or a new one's; None to wait."""
        row = claim.row
        if claim.was_unclear:
            wanted = Wanted(
                row.jsm_user_id,
                row.request_type_id,
                row.summary,
                row.field_values,
                row.marker,
                self._since(claim),
                await self._taken(row),
            )
            project_key, probes = await self._project_key_for(row.desk_id), self.policy.max_key_probes
            lookup = await look_for_earlier_request(self._client, project_key, wanted, max_probes=probes)
            if lookup.found is not None:
                log.info("submission %s: adopted %s made by an earlier try", row.id, lookup.found.issue_key)
                return lookup.found.issue_key
            # Nothing found. Trusted once JSM cannot still be acting on the try, and — when only the search
            # answered (the key walk did not finish) — once the index has caught up with it.
            lag = self.policy.late_commit if lookup.complete else self.policy.search_lag
            if not await self._late_enough(claim, max(self.policy.late_commit, lag)):
                return None
        if not await self._renew(claim):  # fenced: a worker that lost its claim sends nothing
            return None
        created = await self._client.create_request(
            row.desk_id, row.request_type_id, row.field_values, raise_on_behalf_of=row.jsm_user_id
        )
        return created.issue_key

    async def _attach(self, claim: Claim, key: str) -> None:
        files = await self._files(claim.row.id) if claim.has_files else []
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
        if temporary and await self._renew(claim):
            await self._client.attach_to_request(key, temporary, public=True)

    async def _comment(self, claim: Claim) -> None:
        """Post the comment (with its files) to the request it was authorized for, exactly once."""
        row = claim.row
        key, body = str(row.issue_key), str(row.field_values.get("body") or "")
        files = await self._files(row.id) if claim.has_files else []
        if claim.was_unclear:
            taken = await self._taken(row)
            since = self._since(claim)
            found = await find_earlier_comment(
                self._client, key, body, with_files=bool(files), since=since, taken=taken
            )
            if found is not None:
                log.info("submission %s: adopted comment %s on %s", row.id, found.id, key)
                await self._finish(claim, None, comment_id=found.id)
                return
            if not await self._late_enough(claim, self.policy.late_commit):  # comments are read directly
                return
        comment_id: str | None = None
        if files:
            temporary = [
                await self._client.attach_temporary_file(row.desk_id, f.filename, f.content, f.content_type)
                for f in files
            ]
            if not await self._renew(claim):
                return
            await self._client.attach_to_request(key, temporary, public=True, comment=body)
        else:
            if not await self._renew(claim):
                return
            comment_id = (await self._client.add_comment(key, body)).id
        await self._finish(claim, None, comment_id=comment_id)

    def _since(self, claim: Claim) -> datetime:
        return claim.first_attempt_at - timedelta(seconds=self.policy.clock_skew)

    async def _late_enough(self, claim: Claim, wait: float) -> bool:
        """Whether `wait` has passed since the unclear try ended; if not, the write waits (still unknown)."""
        ready = (claim.unclear_at or claim.first_attempt_at) + timedelta(seconds=wait)
        if self._clock() >= ready:
            return True
        await self._save(claim, state="pending", next_attempt_at=ready)
        return False

    async def _taken(self, row: SubmissionRow) -> set[str]:
        """What other outbox rows of the same kind made or adopted: never adopted a second time."""
        column = SubmissionRow.comment_id if row.kind == "comment" else SubmissionRow.issue_key
        query = select(column).where(SubmissionRow.kind == row.kind, SubmissionRow.id != row.id)
        query = query.where(SubmissionRow.jsm_user_id == row.jsm_user_id, column.is_not(None))
        if row.kind == "comment":
            query = query.where(SubmissionRow.issue_key == row.issue_key)
        async with reading(self._sessions) as connection:
            return {str(value) for value in (await connection.scalars(query)).all()}

    async def _reschedule(self, claim: Claim, failure: JsmError) -> None:
        wait = self.policy.delay(claim.attempts)
        unclear = isinstance(failure, JsmUnavailable) and failure.outcome_unknown
        now = self._clock()
        values: dict[str, object] = {"state": "pending", "last_error": str(failure)}
        if unclear:  # sticky: only adopting or making the write clears it
            values.update(outcome_unknown=True, unclear_at=now)
            wait = max(wait, self.policy.late_commit)
        if isinstance(failure, JsmRateLimited) and failure.retry_after:
            wait = max(wait, failure.retry_after)
        log.warning(
            "submission %s: attempt %d failed (unclear: %s), next in %.0f s: %s",
            claim.row.id,
            claim.attempts,
            unclear or claim.was_unclear,
            wait,
            failure,
        )
        await self._save(claim, next_attempt_at=now + timedelta(seconds=wait), **values)

    async def _project_key_from_jsm(self, desk_id: str) -> str:
        for desk in await self._client.service_desks():
            if desk.id == desk_id:
                return desk.project_key
        raise JsmError(f"service desk {desk_id} is not visible", operation="find project key")


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
