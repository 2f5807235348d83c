"""Internal files never reach a customer: JSM lists every attachment of a request to Deskgate's agent
account, so the portal shows (and serves) only the files of public comments and the customer's own.

The seed's ITH-1 (Alice's) holds all four kinds: Alice's own beeping.png, an agent's power-guide.txt in a
public comment, an agent's warranty-quote.pdf in an internal comment, and agent-diagnostics.log that an
agent attached to the issue directly."""

from __future__ import annotations

import re

import pytest

from deskgate.jsm.emulator.seed import PIXEL_PNG
from deskgate.jsm.emulator.state import Attachment, Issue
from tests.portal_web.conftest import Customer, Rig

pytestmark = pytest.mark.anyio
SHOWN = ("beeping.png", "power-guide.txt")
HIDDEN = ("warranty-quote.pdf", "agent-diagnostics.log")
_ERROR_ID = re.compile(r'<code class="error-id">[^<]*</code>')


async def alice(rig: Rig) -> Customer:
    return await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")


def laptop(rig: Rig) -> Issue:
    issue = rig.jsm.store.issue("ITH-1")
    assert issue is not None
    return issue


def file_named(issue: Issue, filename: str) -> Attachment:
    return next(a for a in issue.attachments if a.filename == filename)


def link(attachment: Attachment, key: str = "ITH-1") -> str:
    return f"/portal/requests/{key}/attachments/{attachment.id}"


def content_downloads(rig: Rig, attachment: Attachment) -> int:
    """JSM calls for the file's content, at any of the URLs JSM has for it."""
    return sum(
        1
        for _, path in rig.jsm.calls
        if re.search(rf"/attachment/(content/)?{attachment.id}(/|$)", path) and "/servicedeskapi/" not in path
    )


async def test_the_page_lists_public_comment_files_and_the_customers_own_only(rig: Rig) -> None:
    customer, issue = await alice(rig), laptop(rig)
    page = await customer.browser.get("/portal/requests/ITH-1")
    assert page.status_code == 200
    for name in SHOWN:
        assert name in page.text and f'href="{link(file_named(issue, name))}"' in page.text
    for name in HIDDEN:
        assert name not in page.text and link(file_named(issue, name)) not in page.text
    api = await customer.browser.get("/portal/api/requests/ITH-1", headers={"Accept": "application/json"})
    assert [a["filename"] for a in api.json()["attachments"]] == list(SHOWN)


async def test_hidden_files_are_not_found_like_another_requests_and_never_fetched(rig: Rig) -> None:
    customer, issue = await alice(rig), laptop(rig)
    elsewhere = rig.jsm.store.issue("FAC-1")  # Carol's
    assert elsewhere is not None
    carols = rig.jsm.store.new_attachment("floor-plan.png", "image/png", PIXEL_PNG, elsewhere.reporter)
    elsewhere.attachments.append(carols)
    foreign = await customer.browser.get(link(carols))
    assert foreign.status_code == 404
    for name in HIDDEN:
        hidden = file_named(issue, name)
        for ref in ("ITH-1", "ith-1", issue.id):
            answer = await customer.browser.get(link(hidden, ref))
            assert answer.status_code == 404 and hidden.content not in answer.content
            assert _ERROR_ID.sub("", answer.text) == _ERROR_ID.sub("", foreign.text)
        assert content_downloads(rig, hidden) == 0
    assert content_downloads(rig, carols) == 0


async def test_the_files_shown_are_served(rig: Rig) -> None:
    customer, issue = await alice(rig), laptop(rig)
    for name in SHOWN:
        shown = file_named(issue, name)
        answer = await customer.browser.get(link(shown))
        assert answer.status_code == 200 and answer.content == shown.content
        assert content_downloads(rig, shown) == 1


async def test_the_request_page_asks_nothing_of_the_request_before_the_access_check(rig: Rig) -> None:
    customer = await alice(rig)
    assert (await customer.browser.get("/portal/requests/ITH-1")).status_code == 200  # learns the account
    rig.jsm.calls.clear()
    assert (await customer.browser.get("/portal/requests/ITH-1")).status_code == 200
    request = "/rest/servicedeskapi/request/ITH-1"
    check, then = rig.jsm.calls[:2], rig.jsm.calls[2:]
    # The access check (whose participants are also the page's "shared with"), then the page's data.
    assert sorted(check) == [("GET", request), ("GET", f"{request}/participant")]
    assert sorted(then) == [
        ("GET", f"{request}/approval"),  # its approvals, read only
        ("GET", f"{request}/attachment"),  # every file, to find the customer's own
        ("GET", f"{request}/comment"),  # public comments, with their files
        ("GET", f"{request}/transition"),  # what the customer may do to it
    ]


async def test_files_agents_add_later_stay_internal_unless_their_comment_is_public(rig: Rig) -> None:
    customer, issue = await alice(rig), laptop(rig)
    agent = rig.jsm.store.user_by_email("sam.agent@example.com")
    assert agent is not None
    note = rig.jsm.store.new_attachment("internal-note.txt", "text/plain", b"do not share", agent)
    answer = rig.jsm.store.new_attachment("answer.txt", "text/plain", b"here you go", agent)
    rig.jsm.store.add_comment(issue, "Internal only", public=False, author=agent, attachments=[note])
    rig.jsm.store.add_comment(issue, "Here is the answer", public=True, author=agent, attachments=[answer])
    page = (await customer.browser.get("/portal/requests/ITH-1")).text
    assert "answer.txt" in page and "Here is the answer" in page
    assert "internal-note.txt" not in page and "Internal only" not in page
    assert (await customer.browser.get(link(note))).status_code == 404
    assert (await customer.browser.get(link(answer))).content == b"here you go"


async def test_a_comment_with_files_is_one_public_comment_and_its_files_are_shown(rig: Rig) -> None:
    customer, issue = await alice(rig), laptop(rig)
    comments_before = len(issue.comments)
    token = await customer.csrf("/portal/requests/ITH-1")
    posted = await customer.browser.post(
        "/portal/requests/ITH-1/comment",
        data={"csrf_token": token, "body": "The log you asked for"},
        files={"attachment": ("boot.log", b"beep beep beep\n", "text/plain")},
    )
    assert posted.status_code == 303
    assert len(issue.comments) == comments_before + 1
    comment = issue.comments[-1]
    # JSM appends its wiki markup for the file to the text; the page lists the file, not the markup.
    assert comment.public and comment.body.endswith("The log you asked for [^boot.log] _(1 kB)_")
    assert [a.filename for a in comment.attachments] == ["boot.log"]
    page = (await customer.browser.get("/portal/requests/ITH-1")).text
    assert "boot.log" in page and link(comment.attachments[0]) in page
    assert "The log you asked for" in page and "[^boot.log]" not in page


async def test_a_participant_does_not_see_the_reporters_files_outside_public_comments(rig: Rig) -> None:
    # Bob's ITH-2, shared with Alice: a file Bob added himself is his, not Alice's, and no comment made
    # it public, so only Bob sees it.
    vpn = rig.jsm.store.issue("ITH-2")
    assert vpn is not None
    bobs = rig.jsm.store.new_attachment("vpn-error.png", "image/png", PIXEL_PNG, vpn.reporter)
    vpn.attachments.append(bobs)
    bob = await rig.sign_in("bob-sub", "bob@example.com", "Bob Brown")
    assert "vpn-error.png" in (await bob.browser.get("/portal/requests/ITH-2")).text
    participant = await alice(rig)
    assert "vpn-error.png" not in (await participant.browser.get("/portal/requests/ITH-2")).text
    assert (await participant.browser.get(link(bobs, "ITH-2"))).status_code == 404
    assert (await bob.browser.get(link(bobs, "ITH-2"))).status_code == 200
