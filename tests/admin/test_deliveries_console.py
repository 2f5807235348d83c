"""The console's Deliveries page: every customer's undelivered writes with their content, and the admin's
retry and cancel (CSRF-checked, audited, by the customer's own rules)."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from deskgate.audit import AuditEvent
from deskgate.portal.delivery_policy import REFUSED
from deskgate.portal.forms import ValidatedRequest
from deskgate.portal.outbox import SubmissionOutbox, Submitter, UploadedFile
from deskgate.portal.undelivered import UndeliveredWrites
from deskgate.services import Services
from deskgate.store.models import SubmissionRow
from deskgate.web.security import CookieNames
from tests.support.admin import ADMIN_USER, console_sign_in, csrf_token
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio
ADA = Submitter(idp="corp", subject="ada@corp.test", jsm_user_id="jsm-ada")
BOB = Submitter(idp="okta", subject="bob-7", jsm_user_id="jsm-bob")
SECRET_FILE = b"\x89PNG secret pixels that never reach the page"


async def _request(services: Services, summary: str, *files: UploadedFile) -> str:
    validated = ValidatedRequest(summary, {"summary": summary, "description": "It smokes <b>a lot</b>"}, None)
    return await SubmissionOutbox(services.db).submit(ADA, "7", "42", validated, files, max_file_bytes=10**6)


async def _comment(services: Services, text: str) -> str:
    outbox = SubmissionOutbox(services.db)
    return await outbox.submit_comment(BOB, "HD-9", "7", text, f"Bob: {text}", max_file_bytes=10**6)


async def _set(services: Services, submission_id: str, **values: Any) -> None:
    async with services.db() as session, session.begin():
        await session.execute(update(SubmissionRow).where(SubmissionRow.id == submission_id).values(**values))


async def _created(services: Services, submission_id: str) -> datetime:
    write = await UndeliveredWrites(services.db).get(submission_id)
    assert write is not None
    return write.created_at


def _row(page: str, submission_id: str) -> str:
    found = re.search(rf'<tr class="delivery" id="write-{submission_id}">(.*?)</tr>', page, re.S)
    assert found, f"no row for {submission_id}"
    return html.unescape(found.group(1))


async def _audited(services: Services, event: str) -> list[str | None]:
    return [e.detail for e in await services.audit.query(event=event)]


async def test_the_page_lists_failed_and_pending_writes_with_their_content(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await console_sign_in(client, services)
        failed = await _request(
            services, "Printer on fire", UploadedFile("smoke.png", "image/png", SECRET_FILE)
        )
        await _set(services, failed, state="failed", attempts=1, last_error=f"{REFUSED}e-refused-1")
        await services.audit.record(
            AuditEvent(
                event="portal.submission", outcome="refused", error_id="e-refused-1", detail="no desk 7"
            )
        )
        pending = await _comment(services, "Any news?")
        later = await _created(services, pending) + timedelta(minutes=5)
        await _set(services, pending, attempts=2, outcome_unknown=True, next_attempt_at=later)

        page = await client.get("/admin/deliveries")
        assert page.status_code == 200 and 'aria-current="page">Deliveries' in page.text
        assert "2 writes, newest first." in page.text
        request_row = _row(page.text, failed)
        for shown in (
            "Printer on fire",
            "It smokes <b>a lot</b>",
            "ada@corp.test",
            "corp",
            "jsm-ada",
            "desk 7",
        ):
            assert shown in request_row, shown
        assert "smoke.png" in request_row and "image/png" in request_row and "44 Bytes" in request_row
        assert "failed" in request_row and "1 attempt" in request_row
        assert 'href="/admin/audit?error_id=e-refused-1"' in request_row
        assert "<b>a lot</b>" not in page.text  # escaped, not markup
        assert "secret pixels" not in page.text  # file contents never reach the page
        comment_row = _row(page.text, pending)
        assert "Comment on" in comment_row and "HD-9" in comment_row and "Any news?" in comment_row
        assert "bob-7" in comment_row and "2 attempts" in comment_row and "Outcome unknown" in comment_row
        assert f'<time datetime="{later:%Y-%m-%dT%H:%M:%S}Z"' in comment_row
        assert "Cannot be cancelled" in comment_row and "may have reached JSM" in comment_row
        assert f"/admin/deliveries/{pending}/cancel" not in page.text
        assert f"/admin/deliveries/{failed}/cancel" in page.text

        audit = await client.get("/admin/audit", params={"error_id": "e-refused-1"})
        assert audit.status_code == 200 and "1 event," in audit.text and "no desk 7" in audit.text

        only_failed = await client.get("/admin/deliveries", params={"state": "failed"})
        assert f'id="write-{failed}"' in only_failed.text and f'id="write-{pending}"' not in only_failed.text
        comments = await client.get("/admin/deliveries", params={"kind": "comment", "state": "bogus"})
        assert f'id="write-{pending}"' in comments.text and f'id="write-{failed}"' not in comments.text


async def test_the_page_is_paged(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await console_sign_in(client, services)
        for n in range(51):
            await _comment(services, f"comment {n}")
        first = await client.get("/admin/deliveries", params={"kind": "comment"})
        assert first.text.count('class="delivery"') == 50 and "51 writes" in first.text
        next_link = re.search(r'href="([^"]+)" rel="next"', first.text)
        assert next_link and html.unescape(next_link.group(1)) == "/admin/deliveries?kind=comment&page=2"
        second = await client.get(html.unescape(next_link.group(1)))
        assert second.text.count('class="delivery"') == 1


async def test_retry_makes_a_write_due_now_and_is_audited(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await console_sign_in(client, services)
        failed = await _request(services, "Printer on fire")
        later = await _created(services, failed) + timedelta(hours=1)
        await _set(
            services, failed, state="failed", attempts=1, last_error=f"{REFUSED}e-1", next_attempt_at=later
        )
        form = {"csrf_token": token, "state": "failed", "page": "1"}
        done = await client.post(f"/admin/deliveries/{failed}/retry", data=form)
        assert done.status_code == 303
        assert done.headers["location"] == "/admin/deliveries?state=failed&page=1&done=retried"
        assert await SubmissionOutbox(services.db).due() == [failed]
        write = await UndeliveredWrites(services.db).get(failed)
        assert write is not None and write.state == "pending" and write.attempts == 1
        [detail] = await _audited(services, "admin.deliveries.retry")
        assert detail is not None and failed in detail and "ada@corp.test" in detail
        assert "Printer on fire" in detail and detail.endswith(f"made due now by {ADMIN_USER}")
        [event] = await services.audit.query(event="admin.deliveries.retry")
        assert event.subject == ADMIN_USER and event.idp == "corp"
        assert "due now" in (await client.get(done.headers["location"])).text

        await _set(services, failed, state="sending")
        busy = await client.post(f"/admin/deliveries/{failed}/retry", data=form)
        assert busy.headers["location"].endswith("done=not-retried")
        await _set(services, failed, state="done")
        gone = await client.post(f"/admin/deliveries/{failed}/retry", data=form)
        assert gone.headers["location"].endswith("done=gone")
        assert len(await _audited(services, "admin.deliveries.retry")) == 1


async def test_cancel_removes_a_cancellable_write_and_refuses_an_unclear_one(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await console_sign_in(client, services)
        fresh = await _request(services, "Never mind", UploadedFile("a.txt", "text/plain", b"a"))
        unclear = await _comment(services, "Maybe sent")
        await _set(services, unclear, attempts=1, outcome_unknown=True)
        form = {"csrf_token": token}
        done = await client.post(f"/admin/deliveries/{fresh}/cancel", data=form)
        assert done.status_code == 303 and done.headers["location"].endswith("done=cancelled")
        assert await UndeliveredWrites(services.db).get(fresh) is None
        [detail] = await _audited(services, "admin.deliveries.cancel")
        assert detail is not None and "Never mind" in detail and detail.endswith(f"cancelled by {ADMIN_USER}")

        refused = await client.post(f"/admin/deliveries/{unclear}/cancel", data=form)
        assert refused.headers["location"].endswith("done=not-cancelled")
        assert await UndeliveredWrites(services.db).get(unclear) is not None
        assert "can no longer be cancelled" in (await client.get(refused.headers["location"])).text
        assert len(await _audited(services, "admin.deliveries.cancel")) == 1


async def test_the_forms_need_the_console_csrf_token(db_url: str) -> None:
    # Tokens of another browser or of the customer realm: tests/admin/test_csrf_binding.py, for every form.
    async with running_app(db_url) as (client, services):
        token = await console_sign_in(client, services)
        fresh = await _request(services, "Keep me")
        for action in ("retry", "cancel"):
            for data in ({}, {"csrf_token": "forged"}, {"csrf_token": token[:-2]}):
                refused = await client.post(f"/admin/deliveries/{fresh}/{action}", data=data)
                assert refused.status_code == 403 and "form had expired" in refused.text
        assert await UndeliveredWrites(services.db).get(fresh) is not None
        assert [e for e in await services.audit.query() if e.event.startswith("admin.deliveries")] == []


async def test_a_customer_session_cannot_reach_the_page(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        fresh = await _request(services, "Mine")
        session_id, _ = await services.sessions.start(
            idp=ADA.idp, subject=ADA.subject, email=ADA.subject, display_name="Ada", attributes={}
        )
        client.cookies.set(CookieNames(https=False).session, session_id)
        page = await client.get("/admin/deliveries")
        assert page.status_code == 303 and page.headers["location"].startswith("/admin/login")
        token = csrf_token((await client.get("/logout")).text)  # a valid customer token
        posted = await client.post(f"/admin/deliveries/{fresh}/cancel", data={"csrf_token": token})
        assert posted.status_code == 303 and posted.headers["location"].startswith("/admin/login")
        assert await UndeliveredWrites(services.db).get(fresh) is not None
