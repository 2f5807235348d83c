"""The audit log's budget for anonymous failures: per kind and client address, the first `BUDGET` of a
window are recorded, the rest counted and summed up in one row when the window has closed (by the
address's next failure or by housekeeping), shared by concurrent writers, and nothing else is touched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from deskgate.audit import AuditEvent, AuditLog
from deskgate.audit_budget import BUDGET, WINDOW
from deskgate.settings import Settings
from deskgate.store import db

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
MALLORY, ALICE = "203.0.113.7", "198.51.100.9"


@pytest.fixture
async def audit(db_url: str) -> AsyncIterator[AuditLog]:
    engine = db.create_engine(Settings(database_url=db_url, demo=True).sqlalchemy_url)
    await db.migrate(engine)
    try:
        yield AuditLog(db.sessionmaker(engine))
    finally:
        await engine.dispose()


def junk(at: datetime, client_ip: str | None = MALLORY, event: str = "login") -> AuditEvent:
    return AuditEvent(event, "failure", client_ip=client_ip, error_id="E", detail="check=state", at=at)


async def rows(audit: AuditLog, client_ip: str | None = MALLORY) -> list[AuditEvent]:
    return [e for e in await audit.query(limit=1000) if e.client_ip == client_ip]


async def test_the_next_failure_after_the_window_writes_the_summary_first(audit: AuditLog) -> None:
    for second in range(BUDGET + 7):
        await audit.record(junk(T0 + timedelta(seconds=second)))
    assert len(await rows(audit)) == BUDGET

    later = T0 + WINDOW + timedelta(seconds=1)
    await audit.record(junk(later))
    newest, summary, *_ = await rows(audit)
    assert summary.detail is not None and summary.detail.startswith(
        f"7 more failed sign-in callbacks from {MALLORY}"
    )
    assert (summary.event, summary.outcome, summary.at) == ("login", "failure", later)
    assert newest.detail == "check=state"  # a new window: recorded again
    assert len(await rows(audit)) == BUDGET + 2
    assert await audit.settle(later + WINDOW) == 0  # that window spent 1 of its budget: nothing to sum up


async def test_each_address_and_each_kind_has_its_own_budget(audit: AuditLog) -> None:
    for second in range(BUDGET * 2):
        await audit.record(junk(T0 + timedelta(seconds=second)))
    await audit.record(junk(T0 + timedelta(minutes=1), ALICE))
    await audit.record(junk(T0 + timedelta(minutes=1), event="logout.backchannel"))
    assert len(await rows(audit, ALICE)) == 1
    assert len(await audit.query(event="logout.backchannel")) == 1
    assert len(await audit.query(event="login", limit=1000)) == BUDGET + 1


async def test_failures_that_name_someone_and_other_events_are_never_held_back(audit: AuditLog) -> None:
    for second in range(BUDGET + 5):
        at = T0 + timedelta(seconds=second)
        await audit.record(AuditEvent("login", "refused", subject="s-bob", client_ip=MALLORY, at=at))
        await audit.record(AuditEvent("login", "failure", email="bob@x.test", client_ip=MALLORY, at=at))
        await audit.record(AuditEvent("admin.login", "failure", client_ip=MALLORY, at=at))
    assert len(await rows(audit)) == 3 * (BUDGET + 5)


async def test_concurrent_writers_share_one_budget(audit: AuditLog) -> None:
    await asyncio.gather(*(audit.record(junk(T0 + timedelta(milliseconds=i))) for i in range(3 * BUDGET)))
    assert len(await rows(audit)) == BUDGET
    closed = T0 + WINDOW + timedelta(seconds=1)  # whichever writer came first opened the window
    assert await audit.settle(closed) == 1
    assert await audit.settle(closed) == 0  # written once
    summaries = [e for e in await rows(audit) if e.detail and "more failed" in e.detail]
    assert len(summaries) == 1 and summaries[0].detail is not None
    assert summaries[0].detail.startswith(f"{2 * BUDGET} more failed sign-in callbacks")


async def test_an_unknown_address_is_one_more_address(audit: AuditLog) -> None:
    for second in range(BUDGET + 3):
        await audit.record(junk(T0 + timedelta(seconds=second), client_ip=None))
    assert await audit.settle(T0 + WINDOW) == 1
    assert len(await rows(audit, None)) == BUDGET + 1
    assert "3 more failed sign-in callbacks from an unknown address" in str(
        (await rows(audit, None))[0].detail
    )
