"""The durable outbox against the JSM emulator, on SQLite and PostgreSQL: a healthy JSM gets each request
once with its files; outages, unclear timeouts, restarts, crashed workers and refused files still end with
exactly one issue; refused values fail visibly and are not retried."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from deskgate.audit import AuditFilter, AuditLog
from deskgate.jsm import JsmClient, RetryPolicy
from deskgate.jsm.emulator import EmulatorApp, create_emulator
from deskgate.portal.forms import ValidatedRequest, validate
from deskgate.portal.submissions import (
    AttachmentTooLarge,
    DeliveryPolicy,
    Submissions,
    SubmissionWorker,
    Submitter,
    UploadedFile,
    customer_message,
)
from deskgate.settings import Settings
from deskgate.store.db import create_engine, migrate, sessionmaker
from deskgate.store.models import SubmissionFileRow, SubmissionRow
from tests.support.clock import Clock

pytestmark = pytest.mark.anyio
SITE = "https://jsm.test"
PNG = UploadedFile("C:\\Users\\alice\\screen.png", "image/png", b"\x89PNG fake image")


def async_url(db_url: str) -> str:
    return Settings(database_url=db_url, demo=True).sqlalchemy_url


async def no_sleep(seconds: float) -> None:
    return None


@dataclass
class Rig:
    app: EmulatorApp
    client: JsmClient
    clock: Clock
    db_url: str
    engines: list[AsyncEngine]
    alice: Submitter = field(init=False)

    def outbox(self) -> Submissions:
        """A fresh service over a fresh engine: what a restarted process would build."""
        engine = create_engine(async_url(self.db_url))
        self.engines.append(engine)
        policy = DeliveryPolicy(jitter=lambda: 0.0)
        return Submissions(sessionmaker(engine), self.client, clock=self.clock, policy=policy)

    def posts(self, suffix: str) -> int:
        return sum(1 for m, p in self.app.calls if m == "POST" and p.endswith(suffix))

    def issues_titled(self, summary: str) -> list[Any]:
        return [i for i in self.app.store.issues if i.summary == summary]


@pytest.fixture
async def rig(db_url: str) -> AsyncIterator[Rig]:
    app = create_emulator("cloud")
    engine = create_engine(async_url(db_url))
    await migrate(engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        retry = RetryPolicy(max_attempts=1, sleep=no_sleep)
        client = JsmClient(http, app.connection(SITE, timeout_seconds=0.2), retry=retry)
        built = Rig(app, client, Clock(), db_url, [engine])
        alice = await client.find_customer_by_email("1", "alice@example.com")
        assert alice is not None
        built.alice = Submitter("oidc", "alice-subject", alice.user_id)
        yield built
    for each in built.engines:
        await each.dispose()


async def request(rig: Rig, summary: str, desk: str = "1", request_type: str = "1") -> ValidatedRequest:
    form = await rig.client.request_form(desk, request_type)
    result = validate(form, {"summary": [summary], "description": ["It is broken."]})
    assert isinstance(result, ValidatedRequest)
    return result


async def submit(rig: Rig, outbox: Submissions, summary: str, *files: UploadedFile) -> str:
    validated = await request(rig, summary)
    return await outbox.submit(rig.alice, "1", "1", validated, list(files), max_file_bytes=1000)


async def test_a_healthy_jsm_gets_the_request_once_with_its_files(rig: Rig) -> None:
    outbox = rig.outbox()
    submission = await submit(rig, outbox, "Printer on fire", PNG)
    rig.app.calls.clear()
    status = await outbox.attempt(submission)
    assert status is not None and status.state == "done" and status.issue_key
    # One create (no lookups on this path), then the upload and the attach.
    assert [m for m, _ in rig.app.calls] == ["POST", "POST", "POST"]
    assert rig.posts("/request") == 1
    (issue,) = rig.issues_titled("Printer on fire")
    assert issue.key == status.issue_key and issue.reporter.account_id == rig.alice.jsm_user_id
    shown = await rig.client.get_request(status.issue_key)
    assert shown.marker is not None  # the idempotency marker went along (hidden from customers)
    (attached,) = await rig.client.attachments(status.issue_key)
    assert (attached.filename, attached.mime_type) == ("screen.png", "image/png")
    assert await outbox.pending_for("oidc", "alice-subject") == []
    async with sessionmaker(rig.engines[0])() as session:
        assert (await session.scalars(select(SubmissionFileRow))).all() == []  # files gone once delivered


async def test_a_healthy_write_without_files_costs_six_single_statements(rig: Rig) -> None:
    """Storing, claiming (a read and a compare-and-set), renewing before the JSM call, finishing (the key
    and done in one write) and reading the status: one statement each, none inside a transaction of
    several (it was nine transactions, some of several statements)."""
    outbox = rig.outbox()
    validated = await request(rig, "Counted")
    statements: list[str] = []

    def counted(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.split(None, 1)[0])

    event.listen(rig.engines[-1].sync_engine, "before_cursor_execute", counted)
    submission = await outbox.submit(rig.alice, "1", "1", validated, [], max_file_bytes=1000)
    status = await outbox.attempt(submission)
    assert status is not None and status.state == "done" and status.issue_key
    comment = await outbox.submit_comment(rig.alice, status.issue_key, "1", "hi", "hi", max_file_bytes=1000)
    commented = await outbox.attempt(comment)
    assert commented is not None and commented.state == "done"
    one_write = ["INSERT", "SELECT", "UPDATE", "UPDATE", "UPDATE", "SELECT"]
    assert statements == one_write + one_write


@pytest.mark.parametrize(
    "fault",
    [
        {"server_errors": 1, "path": "/rest/servicedeskapi/request"},
        {"rate_limits": 1, "retry_after": "120", "path": "/rest/servicedeskapi/request"},
        {"timeouts": 1, "timeout_seconds": 2.0, "path": "/rest/servicedeskapi/request"},
        {"fail_after_commit": 1, "path": "/rest/servicedeskapi/request"},
    ],
    ids=["503", "429", "timeout", "fail-after-commit"],
)
async def test_an_outage_leaves_it_pending_and_a_restarted_worker_delivers_it_exactly_once(
    rig: Rig, fault: dict[str, Any]
) -> None:
    outbox = rig.outbox()
    submission = await submit(rig, outbox, "VPN down", PNG)
    rig.app.faults.update(fault)
    status = await outbox.attempt(submission)
    assert status is not None and status.state == "pending" and status.attempts == 1
    assert status.last_error and status.issue_key is None
    (shown,) = await outbox.pending_for("oidc", "alice-subject")
    assert (shown.summary, shown.state) == ("VPN down", "pending")
    if "rate_limits" in fault:
        assert status.next_attempt_at >= rig.clock.now + timedelta(seconds=120)

    # "Restart": a new engine, service and worker over the same database.
    worker = SubmissionWorker(rig.outbox())
    assert await worker.run_due_once() == 0  # not due yet
    rig.clock.advance(3600)
    assert await worker.run_due_once() == 1
    done = await worker.submissions.status(submission)
    assert done is not None and done.state == "done" and done.issue_key
    (issue,) = rig.issues_titled("VPN down")
    assert issue.key == done.issue_key and len(issue.attachments) == 1
    assert await worker.run_due_once() == 0


async def test_when_the_files_fail_after_the_create_only_the_files_are_retried(rig: Rig) -> None:
    outbox = rig.outbox()
    submission = await submit(rig, outbox, "Broken keyboard", PNG)
    rig.app.faults.update({"server_errors": 1, "path": "/attachTemporaryFile"})
    status = await outbox.attempt(submission)
    assert status is not None and status.state == "pending" and status.issue_key
    rig.clock.advance(3600)
    assert await SubmissionWorker(outbox).run_due_once() == 1
    assert rig.posts("/rest/servicedeskapi/request") == 1
    (issue,) = rig.issues_titled("Broken keyboard")
    assert len(issue.attachments) == 1


async def test_an_unclear_attach_is_not_attached_twice(rig: Rig) -> None:
    outbox = rig.outbox()
    submission = await submit(rig, outbox, "Scanner", PNG)
    rig.app.faults.update({"fail_after_commit": 1, "path": "/attachment"})
    status = await outbox.attempt(submission)
    assert status is not None and status.state == "pending"
    rig.clock.advance(3600)
    assert await SubmissionWorker(outbox).run_due_once() == 1
    (issue,) = rig.issues_titled("Scanner")
    assert len(issue.attachments) == 1


async def test_a_crashed_workers_claim_expires_and_the_request_is_found_not_made_again(rig: Rig) -> None:
    # Was a 600 s lease; now the lease is short (15 s) and renewed by a heartbeat while a delivery runs.
    outbox = rig.outbox()
    submission = await submit(rig, outbox, "Crash test")
    async with sessionmaker(rig.engines[0])() as session, session.begin():
        row = await session.get(SubmissionRow, submission)
        assert row is not None
        values, user = dict(row.field_values), row.jsm_user_id
        # A worker claims it, sends the create, and dies before it can write down the answer.
        await session.execute(
            update(SubmissionRow)
            .where(SubmissionRow.id == submission)
            .values(
                state="sending",
                attempts=1,
                first_attempt_at=rig.clock.now,
                next_attempt_at=rig.clock.now + timedelta(seconds=15),
            )
        )
    await rig.client.create_request("1", "1", values, raise_on_behalf_of=user)
    worker = SubmissionWorker(rig.outbox())
    assert await worker.run_due_once() == 0  # the lease still holds
    rig.clock.advance(16)
    assert await worker.run_due_once() == 1  # taken over within seconds, and found at once
    done = await worker.submissions.status(submission)
    assert done is not None and done.state == "done" and done.attempts == 2
    assert len(rig.issues_titled("Crash test")) == 1


async def test_two_workers_at_once_deliver_once(rig: Rig) -> None:
    outbox = rig.outbox()
    for n in range(3):
        await submit(rig, outbox, f"Parallel {n}")
    rig.app.faults.update({"latency_ms": 20})
    claimed = await asyncio.gather(
        SubmissionWorker(rig.outbox()).run_due_once(), SubmissionWorker(rig.outbox()).run_due_once()
    )
    assert sum(claimed) == 3
    assert [len(rig.issues_titled(f"Parallel {n}")) for n in range(3)] == [1, 1, 1]


async def test_values_jsm_refuses_fail_visibly_and_are_not_retried(rig: Rig) -> None:
    outbox = rig.outbox()
    forged = ValidatedRequest(
        "Laptop", {"summary": "Laptop", "customfield_10200": {"id": "1"}}, marker_field="description"
    )
    submission = await outbox.submit(rig.alice, "1", "2", forged, [], max_file_bytes=1000)
    status = await outbox.attempt(submission)
    assert status is not None and status.state == "failed" and status.last_error
    rig.clock.advance(86_400)
    assert await SubmissionWorker(outbox).run_due_once() == 0
    (shown,) = await outbox.pending_for("oidc", "alice-subject")
    assert shown.state == "failed" and shown.last_error == status.last_error
    assert rig.posts("/rest/servicedeskapi/request") == 1
    # JSM's own words go to the audit log only; the customer reads Deskgate's and the error id.
    (event,) = await AuditLog(sessionmaker(rig.engines[0])).search(AuditFilter(event="portal.submission"))
    assert event.outcome == "refused" and event.subject == "alice-subject" and event.error_id
    assert "JSM says:" in (event.detail or "")
    jsm_words = (event.detail or "").split("JSM says:", 1)[1].split(" — ")[0].strip()
    told = customer_message(shown.last_error)
    assert event.error_id in told and "did not accept" in told
    assert jsm_words and jsm_words not in told and jsm_words not in (shown.last_error or "")


async def test_without_a_marker_field_an_unclear_create_is_found_by_its_content(rig: Rig) -> None:
    # Was: marked failed ("may or may not have reached the help desk") and so lost to the customer.
    outbox = rig.outbox()
    unmarked = ValidatedRequest("Reset", {"summary": "Reset", "customfield_10211": "al"}, marker_field=None)
    submission = await outbox.submit(rig.alice, "1", "4", unmarked, [], max_file_bytes=1000)
    rig.app.faults.update({"fail_after_commit": 1, "path": "/rest/servicedeskapi/request"})
    await outbox.attempt(submission)
    rig.clock.advance(3600)
    await SubmissionWorker(outbox).run_due_once()
    status = await outbox.status(submission)
    assert status is not None and status.state == "done" and status.issue_key
    (issue,) = rig.issues_titled("Reset")
    assert issue.key == status.issue_key


async def test_files_over_the_limit_are_refused_before_anything_is_stored(rig: Rig) -> None:
    outbox = rig.outbox()
    big = UploadedFile("huge.bin", "application/octet-stream", b"x" * 1001)
    with pytest.raises(AttachmentTooLarge) as refused:
        await submit(rig, outbox, "Too big", big)
    assert "huge.bin" in refused.value.user_message and refused.value.status_code == 413
    assert await outbox.pending_for("oidc", "alice-subject") == []
