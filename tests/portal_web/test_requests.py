"""A request's page (public comments only),
comments attributed to the customer in JSM and shown as theirs, and streamed downloads."""

from __future__ import annotations

import pytest

from deskgate.jsm.emulator.seed import PIXEL_PNG
from deskgate.web.portal.common import unattributed
from deskgate.web.portal.requests import content_disposition
from tests.portal_web.conftest import Customer, Rig

pytestmark = pytest.mark.anyio


async def alice(rig: Rig) -> Customer:
    return await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")


async def test_the_request_page_shows_public_comments_attachments_and_participants(rig: Rig) -> None:
    customer = await alice(rig)
    page = await customer.browser.get("/portal/requests/ITH-1")
    assert page.status_code == 200
    assert "Does it start when plugged in" in page.text and "Plugged in it starts" in page.text
    assert "INTERNAL" not in page.text and "warranty" not in page.text
    assert "beeping.png" in page.text and "Waiting for support" in page.text
    shared = (await customer.browser.get("/portal/requests/ITH-2")).text
    assert "Shared with" in shared and "Alice Adams" in shared
    assert page.headers["cache-control"].startswith("no-store")


async def test_a_comment_is_attributed_in_jsm_and_shown_as_the_customers(rig: Rig) -> None:
    customer = await alice(rig)
    issue = rig.jsm.store.issue("ITH-1")
    assert issue is not None
    token = await customer.csrf("/portal/requests/ITH-1")
    answer = await customer.browser.post(
        "/portal/requests/ITH-1/comment",
        data={"csrf_token": token, "body": "It works again, thank you!"},
        files={"attachment": ("log.txt", b"all good\n", "text/plain")},
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/portal/requests/ITH-1#comments"
    assert issue.comments[-1].public
    # JSM appends its wiki markup for the file (the contract's example); the portal lists the file instead.
    written = "Alice Adams (alice@example.com) wrote:\n\nIt works again, thank you!"
    assert issue.comments[-1].body == written + " [^log.txt] _(1 kB)_"
    assert (issue.attachments[-1].filename, issue.attachments[-1].mime_type) == ("log.txt", "text/plain")
    page = (await customer.browser.get("/portal/requests/ITH-1")).text
    assert "It works again, thank you!" in page and "wrote:" not in page and "[^log.txt]" not in page
    assert '<h3 class="author">Alice Adams</h3>' in page


async def test_an_empty_comment_comes_back_with_a_message(rig: Rig) -> None:
    customer = await alice(rig)
    token = await customer.csrf("/portal/requests/ITH-1")
    answer = await customer.browser.post(
        "/portal/requests/ITH-1/comment", data={"csrf_token": token, "body": " "}
    )
    assert answer.status_code == 400 and "Write a comment first." in answer.text
    assert rig.calls("/comment", "POST") == 0


async def test_a_download_is_streamed_as_an_attachment(rig: Rig) -> None:
    customer = await alice(rig)
    issue = rig.jsm.store.issue("ITH-1")
    assert issue is not None
    answer = await customer.browser.get(f"/portal/requests/ITH-1/attachments/{issue.attachments[0].id}")
    assert answer.status_code == 200
    assert answer.content == PIXEL_PNG
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["content-disposition"].startswith('attachment; filename="beeping.png"')
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_attribution_round_trips_and_filenames_are_made_safe() -> None:
    assert unattributed("Ada (ada@example.com) wrote:\n\nHi") == ("Ada", "Hi")
    assert unattributed("Hi (there) wrote: no") == (None, "Hi (there) wrote: no")
    header = content_disposition('evil"\r\nX-Header: 1.html')
    assert "\r" not in header and "\n" not in header and header.count('"') == 2
    assert "filename*=UTF-8''evil%22%0D%0AX-Header%3A%201.html" in header


async def test_only_deskgates_own_comments_lose_their_attribution(rig: Rig) -> None:
    customer = await alice(rig)
    issue = rig.jsm.store.issue("ITH-1")
    agent = rig.jsm.store.user_by_email("sam.agent@example.com")
    assert issue is not None and agent is not None
    rig.jsm.store.add_comment(
        issue, "Bob Brown (bob@example.com) wrote:\n\nnot really", public=True, author=agent
    )
    page = (await customer.browser.get("/portal/requests/ITH-1")).text
    assert '<h3 class="author">Sam Agent</h3>' in page
    assert "Bob Brown (bob@example.com) wrote:" in page
    assert '<h3 class="author">Bob Brown</h3>' not in page
