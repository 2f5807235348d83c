"""My requests as JSM's portal lists them: every desk at once, filtered by desk, status, request type and
ownership (mine, shared with me, my organizations'), sorted by updated, paged, the filters kept in the URL;
requests shared with an organization readable only by its members on a desk associated with it; a pending
submission opened and cancelled. On Cloud and Data Center, SQLite and PostgreSQL (the `rig`)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from deskgate.jsm.emulator.state import Issue, now
from deskgate.web.portal import my_requests
from tests.portal_web.conftest import BASE_URL, Customer, Rig

pytestmark = pytest.mark.anyio
_ROW = re.compile(r'<td data-label="Reference"><a href="/portal/requests/([A-Z]+-\d+)">')


async def sign_in(rig: Rig, subject: str, email: str, name: str, organization: str | None = None) -> Customer:
    session_id, _ = await rig.services.sessions.start(
        idp="corp", subject=subject, email=email, display_name=name, attributes={}
    )
    link = await rig.services.customers.provision(
        idp="corp", subject=subject, email=email, display_name=name, desk_id="1", organization=organization
    )
    browser = rig.anonymous.__class__(transport=rig.transport, base_url=BASE_URL)
    browser.cookies.set("deskgate_session", session_id)
    return Customer(browser, link.jsm_user_id, email, name)


async def alice(rig: Rig) -> Customer:
    return await sign_in(rig, "alice-sub", "alice@example.com", "Alice Adams", "Acme Corp")


def shared_with_acme(rig: Rig) -> Issue:
    """Bob's request on the IT desk, shared with Acme Corp (Alice's organization), which uses that desk."""
    store = rig.jsm.store
    it, bob = store.desks[0], store.user_by_email("bob@example.com")
    assert bob is not None
    acme = next(o for o in store.organizations if o.name == "Acme Corp")
    acme.desks.add(it.id)
    issue = store.add_issue(it, it.request_types[0], bob, {"summary": "The shared printer jams"})
    issue.organizations.append(acme.id)
    store.reindex(issue)
    return issue


def keys(page: str) -> list[str]:
    return _ROW.findall(page)


async def test_one_list_across_desks_with_desk_type_and_columns(rig: Rig) -> None:
    customer = await alice(rig)
    page = await customer.browser.get("/portal/requests")
    assert page.status_code == 200
    found = keys(page.text)
    # Every desk at once (IT and HR), newest first; Carol's facilities request never.
    assert {"ITH-1", "ITH-2", "ITH-3", "HRS-1"} <= set(found) and not any(k.startswith("FAC") for k in found)
    assert found.index("HRS-1") < found.index("ITH-1")
    assert ">IT Help<" in page.text and ">HR Services<" in page.text  # the desk column
    assert ">Get IT help<" in page.text  # the request type column
    assert "In progress</span>" in page.text and '<span class="status closed">Resolved</span>' in page.text
    it_only = keys((await customer.browser.get("/portal/requests?desk=1")).text)
    assert "HRS-1" not in it_only and "ITH-1" in it_only
    hardware = rig.jsm.store.desks[0].request_types[1]
    typed = (await customer.browser.get(f"/portal/requests?desk=1&type={hardware.id}")).text
    assert keys(typed) == ["ITH-3"]
    assert f'<option value="{hardware.id}" selected>' in typed  # the filter shown as chosen
    # A request type of another desk (or none at all) is no filter: the desk's whole list.
    other = rig.jsm.store.desks[1].request_types[0].id
    assert set(keys((await customer.browser.get(f"/portal/requests?desk=1&type={other}")).text)) == set(
        it_only
    )


async def test_ownership_and_status_filters(rig: Rig) -> None:
    shared_with_acme(rig)
    customer = await alice(rig)

    async def listed(query: str) -> set[str]:
        return set(keys((await customer.browser.get("/portal/requests?desk=1&" + query)).text))

    assert await listed("owner=mine") == {"ITH-1", "ITH-3"}
    assert await listed("owner=shared") == {"ITH-2"}
    assert await listed("owner=organization") == {"ITH-4"}
    assert await listed("owner=all") == {"ITH-1", "ITH-2", "ITH-3", "ITH-4"}
    assert await listed("status=closed") == {"ITH-3"}
    assert await listed("status=open&owner=mine") == {"ITH-1"}
    assert await listed("q=printer") == {"ITH-4"}


async def test_a_customer_without_the_organization_sees_none_of_its_requests(rig: Rig) -> None:
    shared = shared_with_acme(rig)
    member = await alice(rig)
    assert (await member.browser.get(f"/portal/requests/{shared.key}")).status_code == 200
    assert (await member.browser.get(f"/portal/api/requests/{shared.key}")).status_code == 200
    rig.jsm.store.desks[0].customers.add(rig.jsm.store.user_by_email("carol@example.com").account_id)  # type: ignore[union-attr]
    for stranger in (
        await sign_in(rig, "carol-sub", "carol@example.com", "Carol Chen"),
        await sign_in(rig, "gina-sub", "gina@example.com", "Gina Globex", "Globex"),
    ):
        assert (await stranger.browser.get(f"/portal/requests/{shared.key}")).status_code == 404
        assert (await stranger.browser.get(f"/portal/api/requests/{shared.key}")).status_code == 404
        for owner in ("all", "organization"):
            listed = (await stranger.browser.get(f"/portal/requests?owner={owner}")).text
            assert shared.key not in listed and "shared printer" not in listed
        # Nor anything of Alice's own.
        assert (await stranger.browser.get("/portal/requests/ITH-1")).status_code == 404


async def test_an_organization_request_on_a_desk_the_organization_does_not_use_is_not_found(rig: Rig) -> None:
    shared = shared_with_acme(rig)
    member = await alice(rig)
    next(o for o in rig.jsm.store.organizations if o.name == "Acme Corp").desks.clear()
    assert (await member.browser.get(f"/portal/requests/{shared.key}")).status_code == 404


async def test_filters_survive_in_the_url_and_the_pager_keeps_them(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(my_requests, "PAGE_SIZE", 1)
    customer = await alice(rig)
    first = (await customer.browser.get("/portal/requests?desk=1&owner=mine&status=all&sort=updated")).text
    assert keys(first) and 'rel="prev"' not in first
    nxt = re.search(r'rel="next" href="([^"]+)"', first)
    assert nxt is not None
    link = nxt.group(1).replace("&amp;", "&")
    assert "desk=1" in link and "owner=mine" in link and "sort=updated" in link and "start=1" in link
    second = (await customer.browser.get(link)).text
    assert 'rel="prev"' in second and keys(second) != keys(first)
    assert '<option value="mine" selected>' in second and '<option value="updated" selected>' in second
    # Unknown values fall back to the defaults instead of failing.
    odd = await customer.browser.get("/portal/requests?desk=99&owner=everyone&sort=x&start=-4&status=1")
    assert odd.status_code == 200 and keys(odd.text) == keys(
        (await customer.browser.get("/portal/requests")).text
    )


async def test_sorting_by_updated(rig: Rig) -> None:
    customer = await alice(rig)
    store = rig.jsm.store
    oldest = store.issue("ITH-1")
    assert oldest is not None
    comment = store.add_comment(oldest, "Any news?", public=True)
    comment.created = now() + timedelta(minutes=5)
    store.reindex(oldest)
    created = keys((await customer.browser.get("/portal/requests?desk=1")).text)
    updated = keys((await customer.browser.get("/portal/requests?desk=1&sort=updated")).text)
    least = keys((await customer.browser.get("/portal/requests?desk=1&sort=updated-asc")).text)
    assert created[-1] == "ITH-1" and updated[0] == "ITH-1" and least[-1] == "ITH-1"
    page = (await customer.browser.get("/portal/requests?desk=1&sort=updated")).text
    assert 'aria-sort="descending"' in page


async def test_a_pending_submission_opens_and_is_cancelled_by_its_owner_only(rig: Rig) -> None:
    customer = await alice(rig)
    token = await customer.csrf("/portal/1/create/1")
    # A 429 tells that JSM did not take it: the submission waits, and can still be cancelled.
    rig.jsm.faults.update(
        {"rate_limits": 5, "retry_after": "600", "path": "/rest/servicedeskapi/request", "method": "POST"}
    )
    sent = await customer.browser.post(
        "/portal/1/create/1", data={"csrf_token": token, "summary": "Printer on fire"}
    )
    assert sent.status_code == 303
    rig.jsm.faults.reset()
    listed = (await customer.browser.get("/portal/requests")).text
    found = re.search(r'href="/portal/outbox/([^"/]+)"', listed)
    assert found is not None
    path = f"/portal/outbox/{found.group(1)}"
    stranger = await sign_in(rig, "bob-sub", "bob@example.com", "Bob Brown")
    assert (await stranger.browser.get(path)).status_code == 404
    opened = await customer.browser.get(path)
    assert opened.status_code == 200 and "Printer on fire" in opened.text and "A new request" in opened.text
    token = await customer.csrf(path)
    cancelled = await customer.browser.post(path + "/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 303 and "notice=cancelled" in cancelled.headers["location"]
    assert (await customer.browser.get(path)).status_code == 404
    assert "Printer on fire" not in (await customer.browser.get("/portal/requests")).text
