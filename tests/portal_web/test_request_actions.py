"""Sharing, customer transitions and approvals on a request's page, on Cloud and Data Center: sharing by
exact e-mail that never tells whether the address exists, leaving, a transition with a comment in the
customer's name (and in the audit log), approvals read only; a second customer gets 404 for every one of
them, every new form needs its CSRF token, and the actions are rate-limited like comments."""

from __future__ import annotations

import pytest

from deskgate.audit import AuditFilter
from deskgate.jsm.emulator.request_actions import ApprovalRecord, approvals_of
from tests.portal_web.conftest import Customer, Rig

pytestmark = pytest.mark.anyio


async def alice_and_bob(rig: Rig) -> tuple[Customer, Customer]:
    alice = await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")
    bob = await rig.sign_in("bob-sub", "bob@example.com", "Bob Brown")
    return alice, bob


async def share(customer: Customer, key: str, email: str) -> str:
    token = await customer.csrf(f"/portal/requests/{key}")
    answer = await customer.browser.post(
        f"/portal/requests/{key}/share", data={"csrf_token": token, "email": email}
    )
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


async def test_sharing_answers_the_same_whether_or_not_the_address_is_a_customer(rig: Rig) -> None:
    alice, bob = await alice_and_bob(rig)
    rig.jsm.store.add_user("dave@example.com", "Dave Diaz")  # in JSM, but no customer of the IT desk
    assert (await bob.browser.get("/portal/requests/ITH-1")).status_code == 404
    answers = {
        await share(alice, "ITH-1", address)
        for address in ("nobody@example.com", "dave@example.com", "BOB@example.com", "bob@example")
    }
    assert answers == {"/portal/requests/ITH-1?notice=shared#sharing"}
    page = await alice.browser.get("/portal/requests/ITH-1?notice=shared")
    assert (
        "If this address belongs to a customer of this help desk, they can now see this request." in page.text
    )
    assert "Bob Brown" in page.text and "Dave Diaz" not in page.text
    assert (await bob.browser.get("/portal/requests/ITH-1")).status_code == 200
    issue = rig.jsm.store.issue("ITH-1")
    assert issue is not None and [u.display_name for u in issue.participants] == ["Bob Brown"]
    # A prefix or part of an address finds nobody: only the exact address shares.
    await share(alice, "ITH-3", "bob@example.co")
    await share(alice, "ITH-3", "bob")
    assert (await bob.browser.get("/portal/requests/ITH-3")).status_code == 404


async def test_a_participant_leaves_and_the_reporter_cannot(rig: Rig) -> None:
    alice, bob = await alice_and_bob(rig)
    token = await alice.csrf("/portal/requests/ITH-2")  # Bob's request; Alice takes part
    page = await alice.browser.get("/portal/requests/ITH-2")
    assert "Stop following this request" in page.text
    left = await alice.browser.post("/portal/requests/ITH-2/leave", data={"csrf_token": token})
    assert left.status_code == 303 and left.headers["location"] == "/portal/requests?notice=left"
    assert (await alice.browser.get("/portal/requests/ITH-2")).status_code == 404
    token = await bob.csrf("/portal/requests/ITH-2")
    assert "Stop following this request" not in (await bob.browser.get("/portal/requests/ITH-2")).text
    kept = await bob.browser.post("/portal/requests/ITH-2/leave", data={"csrf_token": token})
    assert kept.headers["location"].startswith("/portal/requests/ITH-2?notice=not-participant")
    assert rig.calls("/participant", "DELETE") == 1


async def test_a_transition_with_a_comment_is_the_customers_and_audited(rig: Rig) -> None:
    alice, _ = await alice_and_bob(rig)
    page = await alice.browser.get("/portal/requests/ITH-1")
    assert "Resolve this issue" in page.text and "Cancel request" in page.text
    token = await alice.csrf("/portal/requests/ITH-1")
    moved = await alice.browser.post(
        "/portal/requests/ITH-1/transition",
        data={"csrf_token": token, "transition": "851", "comment": "Works again, thank you."},
    )
    assert moved.status_code == 303
    issue = rig.jsm.store.issue("ITH-1")
    assert issue is not None and issue.status == "Resolved"
    assert issue.comments[-1].body == "Alice Adams (alice@example.com) wrote:\n\nWorks again, thank you."
    page = await alice.browser.get("/portal/requests/ITH-1")
    assert "Reopen" in page.text and "Resolve this issue" not in page.text
    assert "Works again, thank you." in page.text and "wrote:" not in page.text
    events = await rig.services.audit.search(AuditFilter(event="portal.transition"))
    assert [(e.subject, e.email, e.detail) for e in events] == [
        ("alice-sub", "alice@example.com", "ITH-1: Resolve this issue (transition 851)")
    ]
    # A transition the workflow does not offer now (Resolve, again) is not found; nothing moves.
    again = await alice.browser.post(
        "/portal/requests/ITH-1/transition", data={"csrf_token": token, "transition": "851"}
    )
    assert again.status_code == 404 and issue.status == "Resolved"


async def test_approvals_are_shown_with_approvers_and_decisions(rig: Rig) -> None:
    alice, _ = await alice_and_bob(rig)
    store = rig.jsm.store
    issue, agent, bob = (
        store.issue("ITH-1"),
        store.user_by_email("sam.agent@example.com"),
        store.user_by_email("bob@example.com"),
    )
    assert issue is not None and agent is not None and bob is not None
    approvals_of(store, issue).append(
        ApprovalRecord("7", "Budget approval", [(agent, "approved"), (bob, "pending")])
    )
    page = await alice.browser.get("/portal/requests/ITH-1")
    assert "Budget approval" in page.text
    assert "Sam Agent: approved" in page.text and "Bob Brown: pending" in page.text
    assert "Approvers answer in the help desk" in page.text


async def test_another_customer_gets_404_for_every_action_and_nothing_reaches_jsm(rig: Rig) -> None:
    _, bob = await alice_and_bob(rig)
    issue = rig.jsm.store.issue("ITH-1")  # Alice's
    assert issue is not None
    token = await bob.csrf("/portal/requests/ITH-2")
    rig.jsm.calls.clear()
    for path, data in (
        ("share", {"email": "bob@example.com"}),
        ("leave", {}),
        ("transition", {"transition": "851", "comment": "closing it"}),
    ):
        for ref in ("ITH-1", issue.id):
            answer = await bob.browser.post(
                f"/portal/requests/{ref}/{path}", data={"csrf_token": token, **data}
            )
            assert answer.status_code == 404, path
            assert "Resolve this issue" not in answer.text
    assert [m for m, _ in rig.jsm.calls if m != "GET"] == []
    assert not any(p.endswith(("/transition", "/approval")) for _, p in rig.jsm.calls)
    assert issue.status == "Waiting for support" and issue.participants == []


async def test_every_new_form_needs_its_csrf_token(rig: Rig) -> None:
    alice, _ = await alice_and_bob(rig)
    rig.jsm.calls.clear()
    for path, data in (
        ("share", {"email": "bob@example.com"}),
        ("leave", {}),
        ("transition", {"transition": "851"}),
    ):
        for token in (None, "forged"):
            form = data if token is None else {"csrf_token": token, **data}
            answer = await alice.browser.post(f"/portal/requests/ITH-2/{path}", data=form)
            assert answer.status_code == 403, path
    assert [m for m, _ in rig.jsm.calls if m != "GET"] == []


async def test_actions_are_rate_limited_like_comments(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    alice, _ = await alice_and_bob(rig)
    monkeypatch.setattr(rig.services.settings, "comment_limit", 2)
    token = await alice.csrf("/portal/requests/ITH-1")
    for _ in range(2):
        await share(alice, "ITH-1", "nobody@example.com")
    refused = await alice.browser.post(
        "/portal/requests/ITH-1/transition", data={"csrf_token": token, "transition": "851"}
    )
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    issue = rig.jsm.store.issue("ITH-1")
    assert issue is not None and issue.status == "Waiting for support"
