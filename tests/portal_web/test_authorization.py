"""Two customers: Bob never reaches Alice's request — page, comments, comment form, attachments, API — by
key, by id and through JSM's own path shapes; always 404, never 403. Signed-out visitors go to sign-in with
the URL kept (pages) or get a 401 (API); a desk with SSO off does not exist in the portal."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from deskgate.portal.desks import DeskSetting
from tests.portal_web.conftest import Customer, Rig

pytestmark = pytest.mark.anyio


async def alice_and_bob(rig: Rig) -> tuple[Customer, Customer]:
    alice = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    bob = await rig.sign_in("bob-sub", "bob@example.com", "Bob Brown")
    return alice, bob


async def test_another_customers_request_is_not_found_everywhere(rig: Rig) -> None:
    alice, bob = await alice_and_bob(rig)
    issue = rig.jsm.store.issue("ITH-1")  # Alice's, with a public attachment and comments (seed)
    assert issue is not None
    attachment = issue.attachments[0].id
    comments_before = len(issue.comments)

    for ref in ("ITH-1", "ith-1", issue.id):
        assert (await alice.browser.get(f"/portal/requests/{ref}")).status_code == 200
        page = await bob.browser.get(f"/portal/requests/{ref}")
        assert page.status_code == 404
        assert "My laptop" not in page.text and "beeping" not in page.text
        download = await bob.browser.get(f"/portal/requests/{ref}/attachments/{attachment}")
        assert download.status_code == 404 and download.content != issue.attachments[0].content
        api = await bob.browser.get(f"/portal/api/requests/{ref}", headers={"Accept": "application/json"})
        assert api.status_code == 404 and "error_id" in api.json()
        token = await bob.csrf("/portal/requests/ITH-2")  # a valid token from a page Bob may see
        posted = await bob.browser.post(
            f"/portal/requests/{ref}/comment", data={"csrf_token": token, "body": "let me in"}
        )
        assert posted.status_code == 404
        via_jsm = await bob.browser.get(f"/servicedesk/customer/portal/1/{ref}", follow_redirects=True)
        assert via_jsm.status_code == 404

    assert (
        await alice.browser.get("/servicedesk/customer/portal/1/ITH-1", follow_redirects=True)
    ).status_code == 200
    assert len(issue.comments) == comments_before
    assert (await alice.browser.get(f"/portal/requests/ITH-1/attachments/{attachment}")).status_code == 200


async def test_a_participant_reaches_the_request_and_unknown_references_are_not_found(rig: Rig) -> None:
    alice, _ = await alice_and_bob(rig)
    assert (await alice.browser.get("/portal/requests/ITH-2")).status_code == 200  # Bob's; Alice takes part
    for ref in ("ITH-999", "99999999", "..%2Fservicedesk", "not-a-key"):
        assert (await alice.browser.get(f"/portal/requests/{ref}")).status_code == 404
    assert (await alice.browser.get("/portal/requests/ITH-1/attachments/424242")).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/portal",
        "/portal/1?q=laptop",
        "/portal/1/create/2",
        "/portal/requests?status=open",
        "/portal/requests/ITH-1",
        "/portal/requests/ITH-1/attachments/1",
        "/servicedesk/customer/portal/1",
    ],
)
async def test_signed_out_visitors_go_to_sign_in_with_the_url_kept(rig: Rig, path: str) -> None:
    answer = await rig.anonymous.get(path)
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == [path]


async def test_signed_out_posts_and_api_calls_are_refused(rig: Rig) -> None:
    api = await rig.anonymous.get("/portal/api/requests/ITH-1")
    assert api.status_code == 401 and api.json() == {"error": "not signed in"}
    before = len(rig.jsm.store.issues)
    for path in ("/portal/1/create/1", "/portal/requests/ITH-1/comment"):
        answer = await rig.anonymous.post(path, data={"summary": "spam", "body": "spam"})
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?")
    assert len(rig.jsm.store.issues) == before
    assert rig.calls("/comment", "POST") == 0


async def test_a_desk_with_sso_off_does_not_exist_in_the_portal(rig: Rig) -> None:
    alice, _ = await alice_and_bob(rig)
    await rig.services.desks.save(DeskSetting("1", sso_enabled=False))
    for path in (
        "/portal/1",
        "/portal/1/create/1",
        "/portal/requests/ITH-1",
        "/servicedesk/customer/portal/1",
    ):
        assert (await alice.browser.get(path, follow_redirects=True)).status_code == 404, path
    center = await alice.browser.get("/portal")
    assert "IT Help" not in center.text and "HR Services" in center.text


async def test_csrf_missing_or_wrong_is_refused_and_nothing_reaches_jsm(rig: Rig) -> None:
    alice, _ = await alice_and_bob(rig)
    issue = rig.jsm.store.issue("ITH-1")
    assert issue is not None
    comments, issues = len(issue.comments), len(rig.jsm.store.issues)
    await alice.csrf("/portal/requests/ITH-1")  # the browser holds a CSRF cookie
    for data in ({"body": "hello"}, {"body": "hello", "csrf_token": "forged"}):
        answer = await alice.browser.post("/portal/requests/ITH-1/comment", data=data)
        assert answer.status_code == 403
        assert "expired" in answer.text and 'href="/portal/requests/ITH-1"' in answer.text
    for data in ({"summary": "hello"}, {"summary": "hello", "csrf_token": "forged"}):
        answer = await alice.browser.post("/portal/1/create/1", data=data)
        assert answer.status_code == 403
    assert len(issue.comments) == comments and len(rig.jsm.store.issues) == issues
