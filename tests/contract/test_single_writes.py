"""Writes of one statement (`deskgate.store.writes`) and the outbox's claim built on them, on both databases.

`write_one` is atomic, visible at once to every other connection, and on PostgreSQL runs outside any
transaction (one round trip). The claim reads the row, then takes it with a compare-and-set, each its
own statement: whatever another worker or the customer does to the row between the two makes the
compare-and-set match nothing, so no claim is ever taken on a stale read.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.portal import claims
from deskgate.portal.claims import ClaimingOutbox
from deskgate.portal.outbox import Submitter, UploadedFile
from deskgate.portal.undelivered import delete_if_cancellable
from deskgate.store.models import SubmissionFileRow, SubmissionRow
from deskgate.store.reads import engine_of
from deskgate.store.reads import read_first as real_read
from deskgate.store.writes import write_one
from tests.support.clock import Clock

pytestmark = pytest.mark.anyio
ALICE = Submitter("gluu", "alice", "qm:alice")


def row(submission_id: str, clock: Clock, **values: Any) -> Any:
    now = clock()
    fields: dict[str, Any] = {
        "id": submission_id,
        "kind": "comment",
        "marker": uuid.uuid4().hex,
        "idp": "gluu",
        "subject": "alice",
        "jsm_user_id": "qm:alice",
        "desk_id": "1",
        "request_type_id": "",
        "summary": "hello",
        "field_values": {"body": "hello"},
        "state": "pending",
        "attempts": 0,
        "issue_key": "HELP-1",
        "outcome_unknown": False,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }
    return insert(SubmissionRow).values(**(fields | values))


async def stored(sessions: async_sessionmaker[AsyncSession], submission_id: str) -> SubmissionRow | None:
    async with sessions() as session:
        return await session.get(SubmissionRow, submission_id)


async def test_one_statement_is_written_at_once_with_its_count_and_returning_rows(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    assert (await write_one(sessions, row("a", clock))).rowcount == 1
    found = await stored(sessions, "a")  # another connection sees it: committed
    assert found is not None and found.state == "pending"
    changed = await write_one(
        sessions,
        update(SubmissionRow)
        .where(SubmissionRow.id == "a", SubmissionRow.state == "pending")
        .values(state="sending")
        .returning(SubmissionRow.id, SubmissionRow.state),
    )
    assert changed.rowcount == 1 and [tuple(r) for r in changed.rows] == [("a", "sending")]
    unmatched = await write_one(
        sessions, update(SubmissionRow).where(SubmissionRow.id == "a", SubmissionRow.state == "pending")
        .values(state="done")
    )  # fmt: skip
    assert unmatched.rowcount == 0 and unmatched.rows == []
    found = await stored(sessions, "a")
    assert found is not None and found.state == "sending"


async def test_a_refused_statement_raises_and_leaves_nothing_behind(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    await write_one(sessions, row("a", clock, marker="same"))
    with pytest.raises(IntegrityError):
        await write_one(sessions, row("b", clock, marker="same"))  # the marker is unique
    assert await stored(sessions, "b") is None
    await write_one(sessions, row("c", clock))  # and the pool's connection is fine afterwards
    assert await stored(sessions, "c") is not None


async def test_on_postgresql_a_single_write_starts_no_transaction(
    postgresql: async_sessionmaker[AsyncSession], transactions: list[int]
) -> None:
    started = transactions
    clock = Clock()
    await write_one(postgresql, row("a", clock))
    await write_one(postgresql, update(SubmissionRow).where(SubmissionRow.id == "a").values(state="done"))
    assert started == []
    async with postgresql.begin() as session:  # a transaction on the same pool is still one
        await session.execute(update(SubmissionRow).values(attempts=1))
    assert started == [1]


# --- the claim: a read, then a compare-and-set ------------------------------------------------------------


async def test_a_submission_stored_with_files_is_claimed_knowing_it_has_them(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    outbox = ClaimingOutbox(sessions, clock=clock)
    with_files = await outbox.submit_comment(
        ALICE, "HELP-1", "1", "hi", "hi", [UploadedFile("a.txt", "text/plain", b"a")], max_file_bytes=10
    )
    without = await outbox.submit_comment(ALICE, "HELP-1", "1", "hi", "hi", max_file_bytes=10)
    first, second = await outbox._claim(with_files), await outbox._claim(without)
    assert first is not None and first.has_files and first.attempts == 1
    assert second is not None and not second.has_files
    assert first.row.field_values == {"body": "hi"} and first.row.issue_key == "HELP-1"
    assert await outbox._claim(with_files) is None  # held for its lease


async def test_a_submission_and_its_files_are_stored_together_or_not_at_all(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    outbox = ClaimingOutbox(sessions, clock=Clock())
    files = [UploadedFile("a.txt", "text/plain", b"a"), UploadedFile("b.txt", "text/plain", b"b")]
    stored_id = await outbox.submit_comment(ALICE, "HELP-1", "1", "hi", "hi", files, max_file_bytes=10)
    async with sessions() as session:
        names = (await session.scalars(select(SubmissionFileRow.filename))).all()
    assert sorted(names) == ["a.txt", "b.txt"] and await stored(sessions, stored_id) is not None

    class Refused(Exception):
        pass

    def refuse_files(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO submission_files"):  # after the row's insert went through
            raise Refused

    engine = engine_of(sessions).sync_engine
    event.listen(engine, "before_cursor_execute", refuse_files)
    try:
        with pytest.raises(Refused):
            await outbox.submit_comment(ALICE, "HELP-1", "1", "lost", "lost", files, max_file_bytes=10)
    finally:
        event.remove(engine, "before_cursor_execute", refuse_files)
    async with sessions() as session:
        summaries = (await session.scalars(select(SubmissionRow.summary))).all()
    assert summaries == ["hi"]


async def _another_claims(outbox: ClaimingOutbox, submission_id: str, clock: Clock) -> None:
    assert await ClaimingOutbox(outbox._sessions, clock=clock)._claim(submission_id) is not None


async def _cancelled(outbox: ClaimingOutbox, submission_id: str, clock: Clock) -> None:
    async with outbox._sessions.begin() as session:
        assert await delete_if_cancellable(
            session, submission_id, SubmissionRow.idp == "gluu", SubmissionRow.subject == "alice"
        )


async def _holder_renews(outbox: ClaimingOutbox, submission_id: str, clock: Clock) -> None:
    await write_one(
        outbox._sessions,
        update(SubmissionRow)
        .where(SubmissionRow.id == submission_id)
        .values(next_attempt_at=clock() + timedelta(seconds=15)),
    )


async def _holder_finishes(outbox: ClaimingOutbox, submission_id: str, clock: Clock) -> None:
    await write_one(
        outbox._sessions, update(SubmissionRow).where(SubmissionRow.id == submission_id).values(state="done")
    )


async def _holder_reschedules(outbox: ClaimingOutbox, submission_id: str, clock: Clock) -> None:
    await write_one(
        outbox._sessions,
        update(SubmissionRow)
        .where(SubmissionRow.id == submission_id)
        .values(state="pending", next_attempt_at=clock() + timedelta(seconds=30)),
    )


Meanwhile = Callable[[ClaimingOutbox, str, Clock], Awaitable[None]]


@pytest.mark.parametrize(
    ("held", "meanwhile"),
    [
        (False, _another_claims),
        (False, _cancelled),
        (True, _another_claims),  # both saw a lapsed lease: only one takes it over
        (True, _holder_renews),
        (True, _holder_finishes),
        (True, _holder_reschedules),
    ],
    ids=["claimed", "cancelled", "taken-over", "renewed", "finished", "rescheduled"],
)
async def test_a_claim_read_before_a_change_is_not_taken(
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    held: bool,
    meanwhile: Meanwhile,
) -> None:
    clock = Clock()
    outbox = ClaimingOutbox(sessions, clock=clock)
    values: dict[str, Any] = {"state": "sending", "attempts": 1} if held else {}
    await write_one(sessions, row("s", clock, **values))  # pending and due, or held with a lapsed lease
    clock.advance(1)
    before = await stored(sessions, "s")
    changed: list[bool] = []

    async def read_then_change(sessions_: Any, statement: Any) -> Any:
        found = await real_read(sessions_, statement)  # what the claim saw …
        if not changed:
            changed.append(True)
            await meanwhile(outbox, "s", clock)  # … and what happened before its compare-and-set
        return found

    monkeypatch.setattr(claims, "read_first", read_then_change)
    assert await outbox._claim("s") is None
    after = await stored(sessions, "s")
    if meanwhile is _cancelled:
        assert after is None
        return
    assert before is not None and after is not None
    expected_attempts = before.attempts + (1 if meanwhile is _another_claims else 0)
    assert after.attempts == expected_attempts  # nobody's claim counted twice, the stale one not at all


async def test_without_a_change_in_between_the_claim_is_taken_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    outbox = ClaimingOutbox(sessions, clock=clock)
    await write_one(sessions, row("s", clock, state="sending", attempts=3))  # a dead worker's lapsed lease
    clock.advance(1)
    claim = await outbox._claim("s")
    assert claim is not None and claim.attempts == 4 and claim.was_unclear  # it may have sent: unclear
    after = await stored(sessions, "s")
    assert after is not None and after.attempts == 4 and after.outcome_unknown
    assert after.next_attempt_at == clock() + timedelta(seconds=outbox.lease_seconds)


async def test_a_lapsed_holder_saving_its_key_meanwhile_leaves_the_takeover_unclear_and_the_key_kept(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one change the compare-and-set lets through: the old holder, past its lease, saves the key of
    the request it made. The takeover is unclear whatever it read (so it looks in JSM before making
    anything), and the key the old holder saved stays on the row."""
    clock = Clock()
    outbox = ClaimingOutbox(sessions, clock=clock)
    await write_one(sessions, row("s", clock, kind="request", issue_key=None, state="sending", attempts=1))
    clock.advance(20)  # its lease (15 s) has lapsed; the old holder is slow, not dead

    async def read_then_holder_saves(sessions_: Any, statement: Any) -> Any:
        found = await real_read(sessions_, statement)
        await write_one(
            sessions,
            update(SubmissionRow)
            .where(SubmissionRow.id == "s", SubmissionRow.state == "sending", SubmissionRow.attempts == 1)
            .values(issue_key="HELP-9"),
        )
        return found

    monkeypatch.setattr(claims, "read_first", read_then_holder_saves)
    claim = await outbox._claim("s")
    assert claim is not None and claim.attempts == 2 and claim.was_unclear
    after = await stored(sessions, "s")
    assert after is not None and after.issue_key == "HELP-9" and after.outcome_unknown
