"""Mallory, a customer of the IT desk, tries every way the portal offers to reach Alice's requests or to act
in her name: every spelling of a key, every route that names a request or a file, forged form fields, desks
and request types the admin closed, and a session that was ended. Each attempt answers like a request that
does not exist (same status, same page), and nothing reaches JSM that should not.

Alice's requests in the seed: ITH-1 (files of all four kinds), ITH-3, and HRS-1 on the HR desk; Bob's ITH-2
is shared with Alice."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from deskgate.identity.provider import ProviderConfig
from deskgate.jsm.emulator.seed import PIXEL_PNG
from deskgate.jsm.emulator.state import Attachment, Issue
from deskgate.portal.desks import DeskSetting
from tests.portal_web.conftest import Customer, Rig

pytestmark = pytest.mark.anyio
_ERROR_ID = re.compile(r'<code class="error-id">[^<]*</code>')
JSON = {"Accept": "application/json"}


async def mallory(rig: Rig) -> Customer:
    return await rig.sign_in("mallory-sub", "mallory@example.com", "Mallory Mole")


def issue(rig: Rig, key: str) -> Issue:
    found = rig.jsm.store.issue(key)
    assert found is not None
    return found


def file_named(found: Issue, filename: str) -> Attachment:
    return next(a for a in found.attachments if a.filename == filename)


async def own_request(rig: Rig, customer: Customer, summary: str = "Mallory's own printer") -> Issue:
    client = await rig.services.jsm_client()
    created = await client.create_request(
        "1", "1", {"summary": summary}, raise_on_behalf_of=customer.jsm_user_id
    )
    return issue(rig, created.issue_key)


def own_upload(rig: Rig, mine: Issue) -> Attachment:
    """A file Mallory attached to her own request."""
    author = rig.jsm.store.user_by_email("mallory@example.com")
    assert author is not None
    upload = rig.jsm.store.new_attachment("mine.png", "image/png", PIXEL_PNG, author)
    mine.attachments.append(upload)
    return upload


def content_downloads(rig: Rig, attachment: Attachment) -> int:
    """JSM calls for the file's content, at any of the URLs JSM has for it."""
    return sum(
        1
        for _, path in rig.jsm.calls
        if re.search(rf"/attachment/(content/)?{attachment.id}(/|$)", path) and "/servicedeskapi/" not in path
    )


def page_shape(answer: httpx.Response) -> tuple[int, str, str]:
    """What a visitor can tell apart: status, content type and the body without its error id."""
    if answer.headers.get("content-type", "").startswith("application/json"):
        body = answer.json()
        body.pop("error_id", None)
        return answer.status_code, "json", repr(sorted(body.items()))
    return answer.status_code, "html", _ERROR_ID.sub("", answer.text)


def spellings(found: Issue) -> list[str]:
    """Every way a request can be named in a URL path segment."""
    key = found.key
    return [key, key.lower(), key.title(), found.id, f"%20{key}%20", f"{key}%09", f"0{found.id}"]


# --- reading ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["ITH-1", "ITH-3", "HRS-1"])
async def test_alices_requests_answer_like_missing_ones_by_every_spelling(rig: Rig, key: str) -> None:
    intruder, target = await mallory(rig), issue(rig, key)
    await intruder.browser.get("/portal/2")  # a customer of Alice's HR desk as well
    missing = {
        "page": page_shape(await intruder.browser.get("/portal/requests/ITH-999")),
        "api": page_shape(await intruder.browser.get("/portal/api/requests/ITH-999", headers=JSON)),
        "file": page_shape(await intruder.browser.get("/portal/requests/ITH-999/attachments/1")),
    }
    assert {shape[0] for shape in missing.values()} == {404}
    file_id = target.attachments[0].id if target.attachments else "1"
    secrets = [target.summary, *(c.body for c in target.comments), *(a.filename for a in target.attachments)]
    for ref in spellings(target):
        answers = {
            "page": await intruder.browser.get(f"/portal/requests/{ref}"),
            "api": await intruder.browser.get(f"/portal/api/requests/{ref}", headers=JSON),
            "file": await intruder.browser.get(f"/portal/requests/{ref}/attachments/{file_id}"),
        }
        for route, answer in answers.items():
            assert page_shape(answer) == missing[route], (ref, route)
            assert not any(secret and secret in answer.text for secret in secrets), (ref, route)
        via_jsm = await intruder.browser.get(
            f"/servicedesk/customer/portal/{target.desk.id}/{ref}", follow_redirects=True
        )
        assert via_jsm.status_code == 404 and target.summary not in via_jsm.text
    assert all(content_downloads(rig, a) == 0 for a in target.attachments)


async def test_a_request_shared_with_alice_stays_hers_and_bobs(rig: Rig) -> None:
    intruder = await mallory(rig)
    for ref in spellings(issue(rig, "ITH-2")):
        assert (await intruder.browser.get(f"/portal/requests/{ref}")).status_code == 404


async def test_references_that_are_no_key_are_not_found(rig: Rig) -> None:
    intruder = await mallory(rig)
    await own_request(rig, intruder)
    for ref in ("ITH-1%2F..%2F..%2Fcustomer", "ITH-", "-1", "ITH--1", "ITH-1.json", "ITH-1%00"):
        answer = await intruder.browser.get(f"/portal/requests/{ref}")
        assert answer.status_code == 404, ref
        assert "My laptop" not in answer.text


async def test_my_requests_never_lists_alices_whatever_is_searched(rig: Rig) -> None:
    intruder = await mallory(rig)
    await own_request(rig, intruder)
    await intruder.browser.get("/portal/2")
    alices = [issue(rig, k).summary for k in ("ITH-1", "ITH-3", "HRS-1")]
    for query in (
        {},
        {"q": 'laptop" OR reporter != "x'},
        {"q": "laptop) OR (project = ITH"},
        {"q": "*"},
        {"desk": "2"},
        {"desk": "2", "q": '" OR "Request participants" is EMPTY OR "'},
        {"desk": "3"},
        {"status": "closed"},
    ):
        answer = await intruder.browser.get("/portal/requests", params=query)
        assert answer.status_code == 200
        assert not any(summary in answer.text for summary in alices), query
    assert "Mallory&#39;s own printer" in (await intruder.browser.get("/portal/requests?desk=1")).text


# --- files --------------------------------------------------------------------------------------------


async def test_a_file_of_another_request_is_not_served_through_mallorys_own(rig: Rig) -> None:
    intruder, laptop = await mallory(rig), issue(rig, "ITH-1")
    mine = await own_request(rig, intruder)
    foreign = [file_named(laptop, name) for name in ("beeping.png", "power-guide.txt", "warranty-quote.pdf")]
    missing = page_shape(await intruder.browser.get(f"/portal/requests/{mine.key}/attachments/424242"))
    for attachment in foreign:
        for ref in (mine.key, mine.id, mine.key.lower()):
            answer = await intruder.browser.get(f"/portal/requests/{ref}/attachments/{attachment.id}")
            assert page_shape(answer) == missing, (ref, attachment.filename)
        assert content_downloads(rig, attachment) == 0
    listed = await intruder.browser.get(f"/portal/api/requests/{mine.key}", headers=JSON)
    assert listed.status_code == 200 and listed.json()["attachments"] == []


async def test_mallorys_own_file_is_not_a_key_to_alices_request(rig: Rig) -> None:
    intruder = await mallory(rig)
    mine = await own_request(rig, intruder)
    upload = own_upload(rig, mine)
    laptop = issue(rig, "ITH-1")
    laptop.attachments.append(upload)  # the same file id on Alice's request too
    assert (
        await intruder.browser.get(f"/portal/requests/{mine.key}/attachments/{upload.id}")
    ).status_code == 200
    answer = await intruder.browser.get(f"/portal/requests/ITH-1/attachments/{upload.id}")
    assert answer.status_code == 404 and answer.content != PIXEL_PNG


async def test_a_hidden_file_of_mallorys_own_request_stays_hidden(rig: Rig) -> None:
    intruder = await mallory(rig)
    mine = await own_request(rig, intruder)
    agent = rig.jsm.store.user_by_email("sam.agent@example.com")
    assert agent is not None
    note = rig.jsm.store.new_attachment("customer-history.txt", "text/plain", b"Alice also asked", agent)
    rig.jsm.store.add_comment(mine, "internal", public=False, author=agent, attachments=[note])
    direct = rig.jsm.store.new_attachment("agent.log", "text/plain", b"agent only", agent)
    mine.attachments.append(direct)
    for hidden in (note, direct):
        answer = await intruder.browser.get(f"/portal/requests/{mine.key}/attachments/{hidden.id}")
        assert answer.status_code == 404 and hidden.content not in answer.content
        assert content_downloads(rig, hidden) == 0
    page = (await intruder.browser.get(f"/portal/requests/{mine.key}")).text
    assert "customer-history.txt" not in page and "agent.log" not in page and "internal" not in page


# --- writing ----------------------------------------------------------------------------------------


async def test_mallory_cannot_comment_on_alices_request(rig: Rig) -> None:
    intruder = await mallory(rig)
    mine = await own_request(rig, intruder)
    token = await intruder.csrf(f"/portal/requests/{mine.key}")
    targets = [issue(rig, k) for k in ("ITH-1", "ITH-2", "ITH-3", "HRS-1")]
    before = {t.key: (len(t.comments), len(t.attachments)) for t in targets}
    for target in targets:
        for ref in spellings(target):
            answer = await intruder.browser.post(
                f"/portal/requests/{ref}/comment",
                data={"csrf_token": token, "body": "Please send the invoice to mallory@example.com"},
                files={"attachment": ("evil.html", b"<script>1</script>", "text/html")},
            )
            assert answer.status_code == 404, (ref, answer.status_code)
    assert {t.key: (len(t.comments), len(t.attachments)) for t in targets} == before
    assert rig.calls("/comment", "POST") == 0 and rig.calls("attachTemporaryFile") == 0


async def test_a_comment_on_her_own_request_lands_there_and_nowhere_else(rig: Rig) -> None:
    intruder = await mallory(rig)
    mine = await own_request(rig, intruder)
    laptop = issue(rig, "ITH-1")
    comments = len(laptop.comments)
    token = await intruder.csrf(f"/portal/requests/{mine.key}")
    answer = await intruder.browser.post(
        f"/portal/requests/{mine.id}/comment", data={"csrf_token": token, "body": "Alice Adams wrote: hi"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/portal/requests/{mine.key}#comments"
    assert len(laptop.comments) == comments
    posted = mine.comments[-1]
    assert posted.public and posted.body.startswith("Mallory Mole (mallory@example.com) wrote:\n\n")
    page = (await intruder.browser.get(f"/portal/requests/{mine.key}")).text
    assert "Mallory Mole" in page


def _form(token: str, **extra: Any) -> dict[str, Any]:
    return {"csrf_token": token, "summary": "Refund to my account", **extra}


async def test_forged_form_fields_do_not_change_who_raised_the_request_or_what_it_holds(rig: Rig) -> None:
    intruder = await mallory(rig)
    alice = rig.jsm.store.user_by_email("alice@example.com")
    assert alice is not None
    alice_id = rig.jsm.store.user_id(alice)
    token = await intruder.csrf("/portal/1/create/1")
    before = len(rig.jsm.store.issues)
    forged = {
        "raiseOnBehalfOf": alice_id,
        "reporter": alice_id,
        "requestParticipants": alice_id,
        "requestTypeId": "2",
        "serviceDeskId": "2",
        "customfield_10200": "10100",  # a field of another request type (hardware)
        "labels": "urgent",  # a field this request type does not show
        "duedate": "2020-01-01",
        "priority": "1",
    }
    answer = await intruder.browser.post("/portal/1/create/1", data=_form(token, **forged))
    assert answer.status_code == 303, answer.text
    assert len(rig.jsm.store.issues) == before + 1
    created = rig.jsm.store.issues[-1]
    assert created.reporter.email == "mallory@example.com"
    assert created.participants == []
    assert created.desk.id == "1" and created.request_type.id == "1"
    assert set(created.values) <= {"summary", "description"}
    assert created.summary == "Refund to my account"
    hers = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    assert "Refund to my account" not in (await hers.browser.get("/portal/requests?desk=1")).text


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/portal/1/create/10", "a request type of the HR desk"),
        ("/portal/2/create/1", "an IT request type on the HR desk"),
        ("/portal/1/create/999", "no such request type"),
        ("/portal/99/create/1", "no such desk"),
        ("/portal/1/create/01", "a request type id with a leading zero"),
        ("/portal/01/create/1", "a desk id with a leading zero"),
        ("/portal/1/create/1%20", "trailing space"),
        ("/portal/%201/create/1", "leading space"),
    ],
)
async def test_request_types_of_another_desk_or_none_are_not_raised(rig: Rig, path: str, why: str) -> None:
    intruder = await mallory(rig)
    token = await intruder.csrf("/portal/1/create/1")
    before = len(rig.jsm.store.issues)
    assert (await intruder.browser.get(path)).status_code == 404, why
    assert (await intruder.browser.post(path, data=_form(token))).status_code == 404, why
    assert len(rig.jsm.store.issues) == before
    assert rig.calls("/rest/servicedeskapi/request", "POST") == 0


async def test_what_the_admin_closed_cannot_be_raised_with_a_form_opened_before(rig: Rig) -> None:
    intruder = await mallory(rig)
    token = await intruder.csrf("/portal/1/create/2")  # the forms were open before the admin acted
    await intruder.csrf("/portal/2/create/10")
    before = len(rig.jsm.store.issues)
    await rig.services.desks.save(DeskSetting("1", visible_request_types=("1",)))  # hardware hidden
    await rig.services.desks.save(DeskSetting("2", sso_enabled=False))
    for path in ("/portal/1/create/2", "/portal/2/create/10"):
        assert (await intruder.browser.get(path)).status_code == 404, path
        answer = await intruder.browser.post(path, data=_form(token, customfield_10200="10101"))
        assert answer.status_code == 404, path
    assert (await intruder.browser.post("/portal/1/create/1", data=_form(token))).status_code == 303
    assert len(rig.jsm.store.issues) == before + 1
    assert rig.jsm.store.issues[-1].request_type.id == "1"


async def test_a_desk_with_sso_off_hides_even_her_own_requests_there(rig: Rig) -> None:
    intruder = await mallory(rig)
    mine = await own_request(rig, intruder)
    upload = own_upload(rig, mine)
    token = await intruder.csrf(f"/portal/requests/{mine.key}")
    comments = len(mine.comments)
    await rig.services.desks.save(DeskSetting("1", sso_enabled=False))
    for path in (
        f"/portal/requests/{mine.key}",
        f"/portal/api/requests/{mine.key}",
        f"/portal/requests/{mine.key}/attachments/{upload.id}",
    ):
        assert (await intruder.browser.get(path, headers=JSON)).status_code == 404, path
    posted = await intruder.browser.post(
        f"/portal/requests/{mine.key}/comment", data={"csrf_token": token, "body": "still here?"}
    )
    assert posted.status_code == 404 and len(mine.comments) == comments
    assert content_downloads(rig, upload) == 0


# --- the session behind it ------------------------------------------------------------------------------


async def test_an_ended_session_reaches_nothing_at_once(rig: Rig) -> None:
    intruder = await mallory(rig)
    mine = await own_request(rig, intruder)
    token = await intruder.csrf(f"/portal/requests/{mine.key}")
    assert (await intruder.browser.get(f"/portal/api/requests/{mine.key}", headers=JSON)).status_code == 200
    ended = await rig.services.sessions.end_matching(idp="corp", subject="mallory-sub")
    assert len(ended) == 1
    api = await intruder.browser.get(f"/portal/api/requests/{mine.key}", headers=JSON)
    assert api.status_code == 401
    for path in (f"/portal/requests/{mine.key}", "/portal/requests", "/portal/1/create/1"):
        answer = await intruder.browser.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?"), path
    posted = await intruder.browser.post(
        f"/portal/requests/{mine.key}/comment", data={"csrf_token": token, "body": "after sign-out"}
    )
    assert posted.status_code == 303 and not mine.comments


async def test_an_idp_address_change_does_not_make_mallory_alice(rig: Rig) -> None:
    # Mallory's IdP now says she is alice@example.com: her link (by IdP subject) keeps her JSM account.
    await mallory(rig)
    session_id, _ = await rig.services.sessions.start(
        idp="corp",
        subject="mallory-sub",
        email="alice@example.com",
        display_name="Alice Adams",
        attributes={},
    )
    browser = httpx.AsyncClient(transport=rig.transport, base_url="http://127.0.0.1:8080")
    browser.cookies.set("deskgate_session", session_id)
    for key in ("ITH-1", "ITH-3"):
        assert (await browser.get(f"/portal/requests/{key}")).status_code == 404
    listed = (await browser.get("/portal/requests?desk=1")).text
    assert "My laptop does not start" not in listed


async def test_a_session_of_an_idp_the_admin_disabled_reaches_nothing(rig: Rig) -> None:
    providers = rig.services.providers
    corp = ProviderConfig(
        name="corp",
        title="Corp",
        issuer="https://idp.test",
        client_id="deskgate",
        client_secret=SecretStr("s"),
    )
    await providers.save(corp)
    intruder = await mallory(rig)
    mine = await own_request(rig, intruder)
    token = await intruder.csrf(f"/portal/requests/{mine.key}")
    assert (await intruder.browser.get(f"/portal/api/requests/{mine.key}", headers=JSON)).status_code == 200
    await providers.save(corp.model_copy(update={"enabled": False}))
    assert (await intruder.browser.get(f"/portal/api/requests/{mine.key}", headers=JSON)).status_code == 401
    for path in (
        f"/portal/requests/{mine.key}",
        "/portal/requests",
        "/portal",
        "/portal/1",
        "/portal/1/create/1",
        f"/servicedesk/customer/portal/1/{mine.key}",
    ):
        answer = await intruder.browser.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?"), path
    before = len(rig.jsm.store.issues)
    for path, data in (
        (f"/portal/requests/{mine.key}/comment", {"csrf_token": token, "body": "still signed in?"}),
        ("/portal/1/create/1", {"csrf_token": token, "summary": "still signed in?"}),
    ):
        assert (await intruder.browser.post(path, data=data)).status_code == 303, path
    assert not mine.comments and len(rig.jsm.store.issues) == before
