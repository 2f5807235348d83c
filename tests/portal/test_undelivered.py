"""The admin's view of every customer's undelivered writes (`deskgate.portal.undelivered`), on SQLite and
PostgreSQL: listing with content, filters and paging; retry and cancel by id, by the customer's rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.portal.delivery_policy import REFUSED
from deskgate.portal.forms import ValidatedRequest
from deskgate.portal.outbox import SubmissionOutbox, Submitter, UploadedFile
from deskgate.portal.undelivered import StoredFile, UndeliveredWrites
from deskgate.store.models import SubmissionFileRow, SubmissionRow
from tests.support.clock import Clock

pytestmark = pytest.mark.anyio
ADA = Submitter(idp="corp", subject="ada", jsm_user_id="jsm-ada")
BOB = Submitter(idp="okta", subject="bob", jsm_user_id="jsm-bob")
LIMIT = 1_000_000


async def _request(outbox: SubmissionOutbox, who: Submitter, summary: str, *files: UploadedFile) -> str:
    validated = ValidatedRequest(summary, {"summary": summary, "description": f"about {summary}"}, None)
    return await outbox.submit(who, "7", "42", validated, files, max_file_bytes=LIMIT)


async def _set(sessions: async_sessionmaker[AsyncSession], submission_id: str, **values: Any) -> None:
    async with sessions() as session, session.begin():
        await session.execute(update(SubmissionRow).where(SubmissionRow.id == submission_id).values(**values))


async def _exists(sessions: async_sessionmaker[AsyncSession], submission_id: str) -> tuple[bool, int]:
    async with sessions() as session:
        row = await session.get(SubmissionRow, submission_id)
        files = (
            await session.scalars(
                select(SubmissionFileRow.id).where(SubmissionFileRow.submission_id == submission_id)
            )
        ).all()
    return row is not None, len(files)


async def test_the_listing_shows_every_customers_writes_with_their_content(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    outbox = SubmissionOutbox(sessions, clock=clock)
    shot = UploadedFile("screen.png", "image/png", b"\x89PNG" + b"x" * 2044)
    failed = await _request(outbox, ADA, "Printer on fire", shot)
    await _set(sessions, failed, state="failed", attempts=1, last_error=f"{REFUSED}e-77")
    clock.advance(60)
    comment = await outbox.submit_comment(
        BOB, "HD-9", "7", "Any news?", "Bob: Any news?", max_file_bytes=LIMIT
    )
    await _set(sessions, comment, attempts=2, outcome_unknown=True)
    clock.advance(60)
    delivered = await _request(outbox, ADA, "Done already")
    await _set(sessions, delivered, state="done", issue_key="HD-10")

    listing = await UndeliveredWrites(sessions).listing()
    assert listing.total == 2
    newest, oldest = listing.writes
    assert (newest.id, oldest.id) == (comment, failed)  # newest first; the delivered one is not there
    assert (newest.kind, newest.issue_key, newest.summary, newest.fields) == (
        "comment",
        "HD-9",
        "Any news?",
        (),
    )
    assert (newest.idp, newest.subject, newest.attempts, newest.outcome_unknown) == ("okta", "bob", 2, True)
    assert newest.state == "pending" and newest.error_id is None
    assert (oldest.kind, oldest.state, oldest.summary) == ("request", "failed", "Printer on fire")
    assert (oldest.idp, oldest.subject, oldest.jsm_user_id) == ("corp", "ada", "jsm-ada")
    assert (oldest.desk_id, oldest.request_type_id) == ("7", "42")
    assert oldest.fields == (("description", "about Printer on fire"),)  # the summary is shown once
    assert oldest.files == (StoredFile("screen.png", 2048, "image/png"),)
    assert oldest.error_id == "e-77"


async def test_filters_and_paging(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = Clock()
    outbox = SubmissionOutbox(sessions, clock=clock)
    ids = []
    for n in range(5):
        ids.append(await _request(outbox, ADA, f"request {n}"))
        clock.advance(1)
    comment = await outbox.submit_comment(ADA, "HD-1", "7", "hello", "Ada: hello", max_file_bytes=LIMIT)
    await _set(sessions, ids[0], state="failed")
    await _set(sessions, ids[1], state="sending")
    view = UndeliveredWrites(sessions)

    def of(page: Any) -> list[str]:
        return [w.id for w in page.writes]

    assert of(await view.listing(state="failed")) == [ids[0]]
    assert of(await view.listing(state="sending")) == [ids[1]]
    assert of(await view.listing(state="pending")) == [comment, ids[4], ids[3], ids[2]]
    assert of(await view.listing(kind="comment")) == [comment]
    assert of(await view.listing(state="failed", kind="comment")) == []
    first, second = await view.listing(limit=4), await view.listing(offset=4, limit=4)
    assert (first.total, second.total) == (6, 6)
    assert of(first) + of(second) == [comment, *reversed(ids)]


async def test_retry_makes_a_failed_or_waiting_write_due_now_but_never_one_in_flight(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    outbox = SubmissionOutbox(sessions, clock=clock)
    failed, waiting, sending = [await _request(outbox, ADA, name) for name in ("f", "w", "s")]
    later = clock() + timedelta(hours=1)
    await _set(
        sessions, failed, state="failed", attempts=1, last_error=f"{REFUSED}e-1", next_attempt_at=later
    )
    await _set(sessions, waiting, attempts=3, outcome_unknown=True, next_attempt_at=later)
    await _set(sessions, sending, state="sending", attempts=1, next_attempt_at=later)
    clock.advance(600)
    view = UndeliveredWrites(sessions, clock=clock)

    assert await view.retry_now(failed) and await view.retry_now(waiting)
    assert not await view.retry_now(sending) and not await view.retry_now("no-such-write")
    assert set(await outbox.due()) == {failed, waiting}
    again = {w.id: w for w in (await view.listing()).writes}
    assert again[failed].state == "pending" and again[failed].attempts == 1
    assert again[waiting].outcome_unknown and again[waiting].attempts == 3  # what is known is kept
    assert again[sending].state == "sending" and again[sending].next_attempt_at == later


async def test_cancel_deletes_only_what_jsm_surely_does_not_have(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    outbox = SubmissionOutbox(sessions)
    png = UploadedFile("a.png", "image/png", b"png")
    failed, fresh, unclear, sending = [await _request(outbox, BOB, name, png) for name in "fnus"]
    await _set(sessions, failed, state="failed", last_error=f"{REFUSED}e-2")
    await _set(sessions, unclear, attempts=1, outcome_unknown=True)
    await _set(sessions, sending, state="sending", attempts=1)
    view = UndeliveredWrites(sessions)
    shown = {w.id: w for w in (await view.listing()).writes}
    assert [shown[i].cancellable for i in (failed, fresh, unclear, sending)] == [True, True, False, False]
    assert "may have reached JSM" in shown[unclear].not_cancellable_because
    assert "under way" in shown[sending].not_cancellable_because
    assert shown[fresh].not_cancellable_because == ""

    assert await view.cancel(failed) and await view.cancel(fresh)  # whoever's they are
    assert not await view.cancel(unclear) and not await view.cancel(sending) and not await view.cancel(failed)
    assert [await _exists(sessions, i) for i in (failed, fresh, unclear, sending)] == [
        (False, 0),
        (False, 0),
        (True, 1),
        (True, 1),
    ]
    assert await view.get(failed) is None and (await view.get(unclear)) is not None


async def test_a_delivered_write_is_not_the_admins_to_touch(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    outbox = SubmissionOutbox(sessions)
    done = await _request(outbox, ADA, "delivered")
    await _set(sessions, done, state="done", issue_key="HD-3")
    view = UndeliveredWrites(sessions)
    assert await view.get(done) is None
    assert not await view.retry_now(done) and not await view.cancel(done)
    assert await _exists(sessions, done) == (True, 0)
