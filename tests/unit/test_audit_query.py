"""Reading the audit log: each filter narrows, pages are newest first, the export sees every row once."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from deskgate.audit import AuditEvent, AuditFilter, AuditLog, csv_cell, csv_lines
from deskgate.settings import Settings
from deskgate.store import db

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
async def audit(db_url: str) -> AsyncIterator[AuditLog]:
    engine = db.create_engine(Settings(database_url=db_url, demo=True).sqlalchemy_url)
    await db.migrate(engine)
    try:
        yield AuditLog(db.sessionmaker(engine))
    finally:
        await engine.dispose()


async def _sample(audit: AuditLog) -> None:
    for minute, event in enumerate(
        [
            AuditEvent("login", "success", idp="gluu", subject="s-ada", email="Ada@Corp.test"),
            AuditEvent("login", "refused", idp="okta", subject="s-bob", email="bob@x.test", error_id="E1"),
            AuditEvent("logout.rp", "success", idp="gluu", subject="s-ada"),
            AuditEvent("login", "failure", idp="gluu", error_id="E2", detail="check=state"),
            AuditEvent("admin.login", "refused", subject="root"),
        ]
    ):
        await audit.record(dataclasses.replace(event, at=T0 + timedelta(minutes=minute)))


async def _subjects(audit: AuditLog, where: AuditFilter) -> list[str]:
    found = await audit.search(where)
    assert await audit.count(where) == len(found)
    return [f"{e.event}/{e.outcome}/{e.subject}" for e in found]


async def test_each_filter_narrows(audit: AuditLog) -> None:
    await _sample(audit)
    assert await audit.count(AuditFilter()) == 5
    assert await _subjects(audit, AuditFilter(event="login")) == [
        "login/failure/None",
        "login/refused/s-bob",
        "login/success/s-ada",
    ]
    assert await _subjects(audit, AuditFilter(outcome="refused")) == [
        "admin.login/refused/root",
        "login/refused/s-bob",
    ]
    assert await _subjects(audit, AuditFilter(idp="okta")) == ["login/refused/s-bob"]
    assert await _subjects(audit, AuditFilter(user="corp.TEST")) == ["login/success/s-ada"]  # email
    assert await _subjects(audit, AuditFilter(user="S-ADA")) == [
        "logout.rp/success/s-ada",
        "login/success/s-ada",
    ]
    assert await _subjects(audit, AuditFilter(user="%")) == []  # not a wildcard
    window = AuditFilter(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3))
    assert await _subjects(audit, window) == ["logout.rp/success/s-ada", "login/refused/s-bob"]
    both = AuditFilter(event="login", idp="gluu", outcome="success")
    assert await _subjects(audit, both) == ["login/success/s-ada"]
    assert await audit.events() == ["admin.login", "login", "logout.rp"]


async def test_pages_are_newest_first_and_the_export_reads_every_row_once(audit: AuditLog) -> None:
    for n in range(120):
        await audit.record(AuditEvent("login", "success", subject=f"u{n:03}", at=T0 + timedelta(seconds=n)))
    second = await audit.search(AuditFilter(), offset=50, limit=50)
    assert [e.subject for e in second] == [f"u{n:03}" for n in range(69, 19, -1)]
    exported = [e.subject async for e in audit.export(AuditFilter(user="u0"), batch=7)]
    assert exported == [f"u{n:03}" for n in range(99, -1, -1)]
    assert [e.subject async for e in audit.export(AuditFilter(user="nobody"))] == []


async def test_recent_errors_are_customer_refusals_and_failures_with_their_ids(audit: AuditLog) -> None:
    await _sample(audit)
    errors = await audit.recent_errors()
    assert [(e.event, e.error_id) for e in errors] == [("login", "E2"), ("login", "E1")]
    assert len(await audit.recent_errors(limit=1)) == 1


def test_formula_cells_get_a_leading_quote() -> None:
    for risky in ("=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert csv_cell(risky) == "'" + risky
    assert csv_cell("ada@corp.test") == "ada@corp.test"
    assert csv_cell(None) == ""
    assert csv_cell(T0) == "2026-11-27T09:00:00+00:00"


async def test_csv_lines_parse_back_with_the_escape_kept() -> None:
    async def events() -> AsyncIterator[AuditEvent]:
        yield AuditEvent("login", "refused", subject='=HYPERLINK("x"), "quoted"', detail="line\nbreak", at=T0)

    text = "".join([line async for line in csv_lines(events())])
    header, row = list(csv.reader(io.StringIO(text)))
    assert header[:3] == ["at", "event", "outcome"]
    assert row[header.index("subject")] == '\'=HYPERLINK("x"), "quoted"'
    assert row[header.index("detail")] == "line\nbreak"
    assert row[header.index("idp")] == ""


async def test_an_entry_keeps_the_request_id_its_page_showed_and_is_found_by_it(audit: AuditLog) -> None:
    from deskgate.observability import context

    token = context.enter(context.RequestContext("req-0123456789abcdef"))
    try:
        await audit.record(AuditEvent("login", "refused", idp="gluu", subject="s-eve", at=T0))
    finally:
        context.leave(token)
    await audit.record(AuditEvent("login", "success", idp="gluu", subject="s-ada", at=T0))  # no request
    (found,) = await audit.search(AuditFilter(error_id="req-0123456789abcdef"))
    assert (found.subject, found.request_id) == ("s-eve", "req-0123456789abcdef")
    assert [e.request_id for e in await audit.search(AuditFilter(user="s-ada"))] == [None]
    exported = "".join([line async for line in csv_lines(audit.export(AuditFilter(user="s-eve")))])
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [row["request_id"] for row in rows] == ["req-0123456789abcdef"]
