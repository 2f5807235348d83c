"""Delivering the outbox to JSM exactly once: nothing a customer submits is lost when JSM is down.

The request and its files are stored first (`deskgate.portal.outbox`, which also explains the claims).
`Submissions.attempt` then delivers it; the web layer calls it once inline, so a healthy JSM hands the
customer the issue key at once (for a known customer: one `create_request`, plus the uploads). Whatever
fails is retried by `SubmissionWorker` with exponential backoff until JSM has it.

Exactly once, across failures, crashes and several workers:

- The marker is written into the stored field values (`deskgate.jsm.marker`), so every try sends the
  same request. A retry first asks JSM for a request carrying the marker and adopts it, so a create that
  timed out after JSM made the issue (or a worker that died mid-call) never yields a second issue. The
  retry waits at least `DeliveryPolicy.search_lag` first: JSM's search index lags behind writes.
- Once the issue exists its key is saved before the files are uploaded; a retry then only attaches, so
  the files stay stored until the submission is done.
- Each try holds a claim (a lease of `DeliveryPolicy.claim_seconds`) and every write it makes is fenced
  by it. `claim_seconds` must stay well above the longest attempt (JSM timeout times retries, plus
  uploads).

A request type with no description or labels field cannot carry a marker: after an unclear failure such a
submission is marked failed rather than risk a duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.audit import AuditEvent, AuditLog
from deskgate.errors import new_error_id
from deskgate.jsm import JsmBadRequest, JsmClient, JsmError, JsmRateLimited, JsmUnavailable
from deskgate.jsm.marker import marker_label, marker_line
from deskgate.portal.outbox import (
    UNKNOWN,
    AttachmentTooLarge,
    Claim,
    Clock,
    SubmissionOutbox,
    SubmissionStatus,
    Submitter,
    UploadedFile,
    utc_now,
)

__all__ = [
    "AttachmentTooLarge",
    "DeliveryPolicy",
    "SubmissionStatus",
    "SubmissionWorker",
    "Submissions",
    "Submitter",
    "UploadedFile",
]

log = logging.getLogger(__name__)


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


REFUSED = "refused by JSM, error id "  # prefixes of last_error: what the customer is told is
FILES_REFUSED = "files refused by JSM, error id "  # `customer_message`, never JSM's text


def customer_message(last_error: str | None) -> str:
    """What a customer reads about a submission that failed: Deskgate's own words and an error id."""
    text = last_error or ""
    for prefix, message in (
        (REFUSED, "The help desk did not accept this request"),
        (FILES_REFUSED, "The request was created, but the help desk did not accept its files"),
    ):
        if text.startswith(prefix):
            return (
                f"{message}. If you ask the help desk about it, give them the error id {text[len(prefix) :]}."
            )
    return text or "The help desk did not accept this request."


def _carries_marker(values: dict[str, Any], marker: str) -> bool:
    return marker_line(marker) in str(values.get("description") or "") or marker_label(marker) in (
        values.get("labels") or ()
    )


class Submissions(SubmissionOutbox):
    """The outbox, and the delivery of its submissions to one JSM site."""

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
        self._project_key_for = project_key_for or self._project_key_from_jsm

    async def attempt(self, submission_id: str) -> SubmissionStatus | None:
        """Try to deliver one submission if it is due and nobody else holds it; its status afterwards."""
        await self.deliver_if_due(submission_id)
        return await self.status(submission_id)

    async def deliver_if_due(self, submission_id: str) -> bool:
        """Claim and try to deliver the submission; False if it was not due or another worker has it."""
        claim = await self._claim(submission_id, self.policy.claim_seconds)
        if claim is None:
            return False
        await self._deliver(claim)
        return True

    async def _deliver(self, claim: Claim) -> None:
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
            # JSM's own words go to the log and the audit log; the customer reads a plain message and
            # the error id (`customer_message`), with which the help desk finds the rest.
            error_id = new_error_id()
            log.warning("submission %s refused by JSM [error id %s]: %s", row.id, error_id, refused)
            await AuditLog(self._sessions).record(
                AuditEvent(
                    event="portal.submission",
                    outcome="refused",
                    idp=row.idp,
                    subject=row.subject,
                    error_id=error_id,
                    detail=f"{'files of ' + key if key else 'new request'}: {refused}",
                )
            )
            if key is None:
                await self._save(claim, state="failed", last_error=f"{REFUSED}{error_id}")
            else:  # the request exists; only its files were refused: keep the request, say so
                await self._finish(claim, key, f"{FILES_REFUSED}{error_id}")
            return
        except JsmError as failed:
            await self._reschedule(claim, failed)
            return
        await self._finish(claim, key, None)

    async def _create(self, claim: Claim) -> str | None:
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

    async def _attach(self, claim: Claim, key: str) -> None:
        files = await self._files(claim.row.id)
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

    async def _reschedule(self, claim: Claim, failure: JsmError) -> None:
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
