"""The per-customer limits through the portal: thirty simultaneous creates with eight slots left make at
most eight requests in JSM, forty rapid comments post only as many as the comment limit allows, files
count across requests and comments; every refusal is a 429 page saying when to retry, stores and sends
nothing, and leaves other customers alone. On SQLite and PostgreSQL (one JSM flavour: the limit is
Deskgate's, not JSM's)."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from tests.portal_web.conftest import Customer, Rig

pytestmark = pytest.mark.anyio


@pytest.fixture
def flavour() -> str:
    return "cloud"


async def alice(rig: Rig) -> Customer:
    return await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")


async def bob(rig: Rig) -> Customer:
    return await rig.sign_in("bob-sub", "bob@example.com", "Bob Brown")


async def test_thirty_simultaneous_creates_with_eight_slots_left_make_at_most_eight(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rig.services.settings, "submission_limit", 10)
    customer = await alice(rig)
    token = await customer.csrf("/portal/1/create/1")
    for n in range(2):  # 8 of 10 left
        first = await customer.browser.post("/portal/1/create/1", data={"csrf_token": token, "summary": n})
        assert first.status_code == 303
    before = len(rig.jsm.store.issues)
    answers = await asyncio.gather(
        *(
            customer.browser.post("/portal/1/create/1", data={"csrf_token": token, "summary": f"Spam {n}"})
            for n in range(30)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [303] * 8 + [429] * 22
    assert len(rig.jsm.store.issues) - before == 8
    refused = next(a for a in answers if a.status_code == 429)
    assert "You can send at most 10 requests within 1 hour. Please try again in 6 minutes." in refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert 'value="Spam' in refused.text  # what was typed comes back
    other = await bob(rig)  # another customer is not affected
    token = await other.csrf("/portal/1/create/1")
    mine = await other.browser.post("/portal/1/create/1", data={"csrf_token": token, "summary": "Bob's"})
    assert mine.status_code == 303


async def test_forty_rapid_comments_post_only_as_many_as_the_limit(rig: Rig) -> None:
    customer = await alice(rig)
    issue = rig.jsm.store.issue("ITH-1")
    assert issue is not None
    before = len(issue.comments)
    token = await customer.csrf("/portal/requests/ITH-1")
    started = time.monotonic()
    answers = await asyncio.gather(
        *(
            customer.browser.post(
                "/portal/requests/ITH-1/comment", data={"csrf_token": token, "body": f"Hello? {n}"}
            )
            for n in range(40)
        )
    )
    assert sorted(a.status_code for a in answers) == [303] * 30 + [429] * 10  # 30 per 10 minutes
    assert len(issue.comments) - before == 30
    assert rig.calls("/comment", "POST") == 30
    refused = next(a for a in answers if a.status_code == 429)
    assert "You can post at most 30 comments within 10 minutes. Please try again in 1 minute." in refused.text
    # One comment comes back every 20 s; the bucket has refilled for as long as the burst took.
    took = time.monotonic() - started
    assert 20 - math.ceil(took) - 1 <= int(refused.headers["retry-after"]) <= 20, took
    assert "Hello?" in refused.text  # the comment is still typed in
    other = await bob(rig)
    token = await other.csrf("/portal/requests/ITH-2")
    answer = await other.browser.post(
        "/portal/requests/ITH-2/comment", data={"csrf_token": token, "body": "Still mine to say"}
    )
    assert answer.status_code == 303


async def test_files_count_across_requests_and_comments(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rig.services.settings, "upload_limit", 3)
    customer = await alice(rig)
    log = ("log.txt", b"all good\n", "text/plain")
    token = await customer.csrf("/portal/1/create/1")
    created = await customer.browser.post(
        "/portal/1/create/1",
        data={"csrf_token": token, "summary": "With two files"},
        files=[("attachment", log), ("attachment", log)],
    )
    assert created.status_code == 303  # 1 of 3 files left
    issue = rig.jsm.store.issue("ITH-1")
    assert issue is not None
    comments, files = len(issue.comments), len(issue.attachments)
    token = await customer.csrf("/portal/requests/ITH-1")
    refused = await customer.browser.post(
        "/portal/requests/ITH-1/comment",
        data={"csrf_token": token, "body": "Two more logs"},
        files=[("attachment", log), ("attachment", log)],
    )
    assert refused.status_code == 429
    assert "You can attach at most 3 files within 1 hour. Please try again in" in refused.text
    assert (len(issue.comments), len(issue.attachments)) == (comments, files)  # nothing reached JSM
    before = len(rig.jsm.store.issues)
    again = await customer.browser.post(
        "/portal/1/create/1",
        data={"csrf_token": await customer.csrf("/portal/1/create/1"), "summary": "Two more"},
        files=[("attachment", log), ("attachment", log)],
    )
    assert again.status_code == 429 and len(rig.jsm.store.issues) == before  # nothing stored or sent
    one = await customer.browser.post(
        "/portal/requests/ITH-1/comment",
        data={"csrf_token": token, "body": "Just one log"},
        files=[("attachment", log)],
    )
    assert one.status_code == 303 and len(issue.attachments) == files + 1
