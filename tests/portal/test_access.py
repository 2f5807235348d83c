"""The authorization rule with two customers: B never reaches A's request, by key or by id; the reporter
and a participant do. 404, never 403."""

from __future__ import annotations

import pytest

from deskgate.errors import NotFound
from deskgate.jsm.errors import JsmAuthError
from deskgate.portal.access import authorize_request
from deskgate.portal.provisioning import CustomerLink
from tests.portal.conftest import Portal

pytestmark = pytest.mark.anyio


async def customer(portal: Portal, name: str) -> CustomerLink:
    return await portal.services.customers.provision(
        idp="corp", subject=name, email=f"{name}@example.com", display_name=name, desk_id="1"
    )


async def test_only_the_reporter_and_participants_reach_a_request(portal: Portal) -> None:
    client = await portal.client()
    alice, bob, carol = [await customer(portal, n) for n in ("alice", "bob", "carol")]
    created = await client.create_request(
        "1", "1", {"summary": "My screen flickers"}, raise_on_behalf_of=alice.jsm_user_id
    )
    for ref in (created.issue_key, created.issue_id):
        assert (await authorize_request(client, alice, ref)).request.issue_key == created.issue_key
        for stranger in (bob, carol):
            with pytest.raises(NotFound) as caught:
                await authorize_request(client, stranger, ref)
            assert caught.value.status_code == 404

    # ITH-2 was reported by Bob with Alice as a participant (seed data).
    assert (await authorize_request(client, bob, "ITH-2")).request.reporter.user_id == bob.jsm_user_id
    assert (await authorize_request(client, alice, "ITH-2")).request.issue_key == "ITH-2"
    with pytest.raises(NotFound):
        await authorize_request(client, carol, "ITH-2")


@pytest.mark.parametrize("ref", ["ITH-999", "999999", "not a key", "../servicedesk"])
async def test_unknown_or_malformed_references_are_not_found(portal: Portal, ref: str) -> None:
    client = await portal.client()
    alice = await customer(portal, "alice")
    with pytest.raises(NotFound):
        await authorize_request(client, alice, ref)


async def test_a_request_the_service_account_may_not_see_is_not_found(portal: Portal) -> None:
    # JSM answers 403 for a request in a project the service account may not browse: to the customer that
    # must look exactly like a key that does not exist, or the answer would tell which keys exist.
    client = await portal.client()
    alice = await customer(portal, "alice")
    portal.app.faults.update({"server_errors": 2, "server_error_status": 403, "path": "/request/ITH-2"})
    with pytest.raises(NotFound) as caught:
        await authorize_request(client, alice, "ITH-2")
    assert caught.value.status_code == 404 and caught.value.user_message == "We could not find this request."
    assert "HTTP 403" in str(caught.value)  # the operator's log still says what JSM answered


async def test_a_refused_service_account_is_still_reported_as_such(portal: Portal) -> None:
    # 401 is the credentials failing for every call: not something to hide as one missing request.
    client = await portal.client()
    alice = await customer(portal, "alice")
    portal.app.faults.update({"server_errors": 2, "server_error_status": 401, "path": "/request/ITH-2"})
    with pytest.raises(JsmAuthError):
        await authorize_request(client, alice, "ITH-2")
