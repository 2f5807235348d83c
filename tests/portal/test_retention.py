"""Outbox retention on SQLite and PostgreSQL: delivered files go, old done and failed rows go, and nothing
still to be delivered is touched."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.errors import ConfigError
from deskgate.jsm import JsmClient, RetryPolicy
from deskgate.jsm.emulator import create_emulator
from deskgate.portal.forms import ValidatedRequest, validate
from deskgate.portal.retention import Purged, purge_submissions
from deskgate.portal.submissions import DeliveryPolicy, Submissions, SubmissionWorker, Submitter, UploadedFile
from deskgate.settings import Settings, load_settings
from deskgate.store.db import create_engine, migrate, sessionmaker
from deskgate.store.models import SubmissionFileRow, SubmissionRow
from tests.support.clock import START, Clock

pytestmark = pytest.mark.anyio
SITE = "https://jsm.test"
SECRET_KEY = "retention-test-secret-key-0123456789-abc"
PNG = UploadedFile("screen.png", "image/png", b"\x89PNG fake image")
MONTH = timedelta(days=30)


async def add_row(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    state: str,
    created: datetime,
    *,
    updated: datetime | None = None,
    files: int = 0,
    subject: str = "alice",
) -> None:
    async with sessions() as session, session.begin():
        session.add(
            SubmissionRow(
                id=name,
                marker=f"marker-{name}",
                idp="oidc",
                subject=subject,
                jsm_user_id="u",
                desk_id="1",
                request_type_id="1",
                summary=name,
                field_values={},
                state=state,
                attempts=1,
                next_attempt_at=created,
                created_at=created,
                updated_at=updated or created,
            )
        )
        await session.flush()
        session.add_all(
            SubmissionFileRow(
                submission_id=name, filename=f"{n}.txt", content_type="text/plain", size=1, content=b"x"
            )
            for n in range(files)
        )


async def rows_and_files(sessions: async_sessionmaker[AsyncSession]) -> tuple[set[str], dict[str, int]]:
    async with sessions() as session:
        rows = set((await session.scalars(select(SubmissionRow.id))).all())
        owners = (await session.scalars(select(SubmissionFileRow.submission_id))).all()
    return rows, {owner: owners.count(owner) for owner in set(owners)}


async def test_old_done_and_failed_rows_go_recent_and_undelivered_ones_stay(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    old, recent = START - MONTH - timedelta(minutes=1), START - MONTH + timedelta(minutes=1)
    await add_row(sessions, "done-old", "done", old)
    await add_row(sessions, "failed-old", "failed", old, files=2)
    await add_row(sessions, "done-recent", "done", recent)
    await add_row(sessions, "failed-recent", "failed", recent, files=1)
    # Retried for weeks, refused only yesterday: its customer still gets to see that it failed.
    await add_row(sessions, "failed-lately", "failed", old, updated=START - timedelta(days=1))
    # Still to be delivered, however old (JSM away for a long time, or a worker's lapsed lease).
    await add_row(sessions, "pending-old", "pending", START - 3 * MONTH, files=1)
    await add_row(sessions, "sending-old", "sending", START - 3 * MONTH, files=1)

    purged = await purge_submissions(sessions, keep=MONTH, now=START)

    assert purged == Purged(files=2, submissions=2)
    rows, files = await rows_and_files(sessions)
    assert rows == {"done-recent", "failed-recent", "failed-lately", "pending-old", "sending-old"}
    # A failed submission never reached JSM: its files stay with it for the retention period.
    assert files == {"failed-recent": 1, "pending-old": 1, "sending-old": 1}
    assert await purge_submissions(sessions, keep=MONTH, now=START) == Purged(0, 0)


async def test_the_files_of_a_done_submission_go_at_once_whatever_its_age(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # A worker that stopped between marking the submission done and deleting its files left them behind.
    await add_row(sessions, "done-now", "done", START, files=3)
    await add_row(sessions, "pending-now", "pending", START, files=1)
    assert await purge_submissions(sessions, keep=MONTH, now=START) == Purged(files=3, submissions=0)
    rows, files = await rows_and_files(sessions)
    assert rows == {"done-now", "pending-now"} and files == {"pending-now": 1}


async def test_a_retry_that_only_attaches_still_finds_its_files_after_housekeeping(db_url: str) -> None:
    app = create_emulator("cloud")
    clock = Clock()
    engine = create_engine(Settings(database_url=db_url, demo=True).sqlalchemy_url)
    await migrate(engine)
    db = sessionmaker(engine)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
            retry = RetryPolicy(max_attempts=1)
            client = JsmClient(http, app.connection(SITE, timeout_seconds=0.2), retry=retry)
            alice = await client.find_customer_by_email("1", "alice@example.com")
            assert alice is not None
            submitter = Submitter("oidc", "alice-subject", alice.user_id)
            outbox = Submissions(db, client, clock=clock, policy=DeliveryPolicy(jitter=lambda: 0.0))
            form = await client.request_form("1", "1")

            async def submit(summary: str) -> str:
                validated = validate(form, {"summary": [summary], "description": ["Broken."]})
                assert isinstance(validated, ValidatedRequest)
                return await outbox.submit(submitter, "1", "1", validated, [PNG], max_file_bytes=1000)

            delivered = await submit("Delivered")
            status = await outbox.attempt(delivered)
            assert status is not None and status.state == "done"
            half = await submit("Created, files pending")
            app.faults.update({"server_errors": 1, "path": "/attachTemporaryFile"})
            status = await outbox.attempt(half)
            assert status is not None and status.state == "pending" and status.issue_key
            waiting = await submit("Not tried yet")

            # Housekeeping long after (well beyond the retention period) keeps what is still to deliver.
            clock.now += 3 * MONTH
            await purge_submissions(db, keep=MONTH, now=clock.now)
            rows, files = await rows_and_files(db)
            assert rows == {half, waiting} and files == {half: 1, waiting: 1}

            assert await SubmissionWorker(outbox).run_due_once() == 2
            (issue,) = [i for i in app.store.issues if i.summary == "Created, files pending"]
            assert issue.key == status.issue_key and len(issue.attachments) == 1
            (issue,) = [i for i in app.store.issues if i.summary == "Not tried yet"]
            assert len(issue.attachments) == 1
            assert (await rows_and_files(db))[1] == {}  # delivered: their files went with the delivery
    finally:
        await engine.dispose()


def test_the_retention_is_a_setting_independent_of_the_submission_limit() -> None:
    assert load_settings(secret_key=SECRET_KEY).submission_retention_days == 30
    # The limit keeps its own buckets, so a retention shorter than its window is fine.
    assert load_settings(
        secret_key=SECRET_KEY, submission_retention_days=1, submission_window_minutes=3 * 1440
    )
    with pytest.raises(ConfigError) as zero:
        load_settings(secret_key=SECRET_KEY, submission_retention_days=0, base_url="ftp://x")
    # Every problem at once: the invalid number and the unrelated bad URL.
    assert [p.split(":", 1)[0] for p in zero.value.problems] == ["submission_retention_days", "base_url"]
