"""The authorization rule with two customers: B never reaches A's request, by key or by id; the reporter
and a participant do. 404, never 403."""

from __future__ import annotations

import pytest

from deskgate.errors import NotFound
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
        assert (await authorize_request(client, alice, ref)).issue_key == created.issue_key
        for stranger in (bob, carol):
            with pytest.raises(NotFound) as caught:
                await authorize_request(client, stranger, ref)
            assert caught.value.status_code == 404

    # ITH-2 was reported by Bob with Alice as a participant (seed data).
    assert (await authorize_request(client, bob, "ITH-2")).reporter.user_id == bob.jsm_user_id
    assert (await authorize_request(client, alice, "ITH-2")).issue_key == "ITH-2"
    with pytest.raises(NotFound):
        await authorize_request(client, carol, "ITH-2")


@pytest.mark.parametrize("ref", ["ITH-999", "999999", "not a key", "../servicedesk"])
async def test_unknown_or_malformed_references_are_not_found(portal: Portal, ref: str) -> None:
    client = await portal.client()
    alice = await customer(portal, "alice")
    with pytest.raises(NotFound):
        await authorize_request(client, alice, ref)
