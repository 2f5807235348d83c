"""Comments go through the outbox (SQLite and PostgreSQL, Cloud and Data Center): stored after the access
check and before JSM is called, shown as pending with their text during an outage, delivered in the
background exactly once (also after JSM carried one out and answered 5xx), and cancellable with CSRF."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from deskgate.portal.submissions import Submissions, SubmissionWorker
from tests.portal_web.conftest import Customer, Rig

pytestmark = pytest.mark.anyio
WRITTEN = "Alice Adams (alice@example.com) wrote:\n\n"


async def alice(rig: Rig) -> Customer:
    return await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")


async def comment(customer: Customer, text: str, **files: tuple[str, bytes, str]) -> None:
    token = await customer.csrf("/portal/requests/ITH-1")
    answer = await customer.browser.post(
        "/portal/requests/ITH-1/comment",
        data={"csrf_token": token, "body": text},
        files=[("attachment", f) for f in files.values()] or None,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/portal/requests/ITH-1#comments"


async def deliver_later(rig: Rig, hours: float = 1.0) -> None:
    """A background round as it will run later (past every retry delay and the search lag)."""
    later = datetime.now(UTC) + timedelta(hours=hours)
    outbox = Submissions(rig.services.db, await rig.services.jsm_client(), clock=lambda: later)
    await SubmissionWorker(outbox).run_due_once()


def posted(rig: Rig, text: str) -> list[str]:
    issue = rig.jsm.store.issue("ITH-1")
    assert issue is not None
    return [c.body for c in issue.comments if text in c.body]


async def test_a_comment_during_an_outage_is_kept_shown_pending_and_delivered_once(rig: Rig) -> None:
    customer = await alice(rig)
    rig.jsm.faults.update(
        {"server_errors": 5, "server_error_status": 503, "path": "/comment", "method": "POST"}
    )
    await comment(customer, "Still broken after the update.")  # was: an error page, the text lost
    page = (await customer.browser.get("/portal/requests/ITH-1")).text
    assert (
        "Still broken after the update." in page and "pending" in page and posted(rig, "Still broken") == []
    )
    rig.jsm.faults.reset()
    await deliver_later(rig)
    assert posted(rig, "Still broken") == [WRITTEN + "Still broken after the update."]
    page = (await customer.browser.get("/portal/requests/ITH-1")).text
    assert page.count("Still broken after the update.") == 1 and "pending-" not in page
    await deliver_later(rig, 5)
    assert len(posted(rig, "Still broken")) == 1


@pytest.mark.parametrize("status", [500, 504])
async def test_a_comment_jsm_carried_out_before_failing_is_not_posted_twice(rig: Rig, status: int) -> None:
    customer = await alice(rig)
    rig.jsm.faults.update(
        {"fail_after_commit": 1, "fail_after_commit_status": status, "path": "/comment", "method": "POST"}
    )
    await comment(customer, "Posted once only.")
    for hours in (1, 2, 3):
        await deliver_later(rig, hours)
    assert posted(rig, "Posted once only.") == [WRITTEN + "Posted once only."]


async def test_a_comment_with_files_jsm_carried_out_is_not_posted_twice(rig: Rig) -> None:
    customer = await alice(rig)
    rig.jsm.faults.update({"fail_after_commit": 1, "path": "/attachment", "method": "POST"})
    await comment(customer, "Here is the log.", log=("log.txt", b"all good\n", "text/plain"))
    for hours in (1, 2, 3):
        await deliver_later(rig, hours)
    assert len(posted(rig, "Here is the log.")) == 1
    issue = rig.jsm.store.issue("ITH-1")
    assert issue is not None and [a.filename for a in issue.attachments].count("log.txt") == 1


async def test_a_pending_comment_can_be_cancelled_with_csrf_and_is_never_sent(rig: Rig) -> None:
    customer = await alice(rig)
    rig.jsm.faults.update({"rate_limits": 5, "retry_after": "600", "path": "/comment", "method": "POST"})
    await comment(customer, "Never mind.")
    page = (await customer.browser.get("/portal/requests/ITH-1")).text
    found = re.search(r'action="(/portal/outbox/[0-9a-f]+/cancel)"', page)
    assert found is not None
    refused = await customer.browser.post(found.group(1), data={"csrf_token": "forged"})
    assert refused.status_code == 403
    mallory = await rig.sign_in("mallory-sub", "mallory@example.com", "Mallory")
    token = await mallory.csrf("/portal/1/create/1")
    await mallory.browser.post(found.group(1), data={"csrf_token": token})  # not hers: nothing happens
    assert "Never mind." in (await customer.browser.get("/portal/requests/ITH-1")).text
    token = await customer.csrf("/portal/requests/ITH-1")
    answer = await customer.browser.post(found.group(1), data={"csrf_token": token})
    assert answer.status_code == 303 and "notice=cancelled" in answer.headers["location"]
    rig.jsm.faults.reset()
    await deliver_later(rig)
    assert posted(rig, "Never mind.") == []
    assert "Never mind." not in (await customer.browser.get("/portal/requests/ITH-1")).text


async def test_a_comment_jsm_refuses_is_shown_with_its_text_and_can_be_sent_again(rig: Rig) -> None:
    customer = await alice(rig)
    rig.jsm.faults.update(
        {"server_errors": 1, "server_error_status": 400, "path": "/comment", "method": "POST"}
    )
    await comment(customer, "Refused once.")
    mine = (await customer.browser.get("/portal/requests?desk=1")).text
    assert "Comment on" in mine and "Refused once." in mine and "did not accept" in mine
    found = re.search(r'action="(/portal/outbox/[0-9a-f]+/retry)"', mine)
    assert found is not None and posted(rig, "Refused once.") == []
    token = await customer.csrf("/portal/requests/ITH-1")
    answer = await customer.browser.post(found.group(1), data={"csrf_token": token})
    assert answer.status_code == 303 and "notice=retried" in answer.headers["location"]
    await deliver_later(rig)
    assert posted(rig, "Refused once.") == [WRITTEN + "Refused once."]
