"""The demo's JSM history, read through the real client over a transport that holds every request and answer
to Atlassian's OpenAPI contract (the same check as `test_jsm_emulator_contract`): what the demo shows a
customer is what a real JSM could have answered."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from deskgate.demo.people import DEMO_PEOPLE
from deskgate.demo.story import seed_story
from deskgate.jsm import JsmClient, RetryPolicy, organizations
from deskgate.jsm.emulator import create_emulator
from deskgate.jsm.endpoints import IssueRef
from deskgate.jsm.jql import RequestSearch
from tests.contract.test_jsm_emulator_contract import SITE, Contract, Rig, ValidatingTransport

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["cloud", "datacenter"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    app = create_emulator(request.param, seed=False, page_cap=2)
    seed_story(app.store)
    contract = Contract(request.param)
    transport = ValidatingTransport(httpx.ASGITransport(app=app), contract)
    async with httpx.AsyncClient(transport=transport) as http:
        yield Rig(app, JsmClient(http, app.connection(SITE), retry=RetryPolicy(max_attempts=1)), contract)


async def test_every_person_history_reads_within_the_contract(rig: Rig) -> None:
    client = rig.client
    desks = await client.service_desks()
    assert [d.project_name for d in desks] == ["IT Help", "HR Services", "Facilities"]
    seen: dict[str, set[str]] = {}
    for person in DEMO_PEOPLE:
        customer = await client.find_customer_by_email(desks[0].id, person.email)
        assert customer is not None and customer.display_name == person.name
        for desk in desks:
            page = await client.search_customer_requests(
                desk.project_key, customer.user_id, "all", None, 0, 50
            )
            for found in page.values:
                seen.setdefault(person.id, set()).add(found.issue_key)
                request = await client.get_request(found.issue_key)
                assert request.summary == found.summary
                await client.request_participants(found.issue_key)
                comments = await client.comments(found.issue_key)
                assert all(c.public for c in comments)  # internal notes are never asked for
                for attachment in await client.attachments(found.issue_key):
                    async with await client.download_attachment(attachment) as download:
                        assert await download.read()
    assert len(seen["ana"]) == 6 and len(seen["ben"]) == 3 and len(seen["chloe"]) == 2
    # Ana's organization's request: found by the Organizations JQL on a desk associated with Lumen Labs.
    lumen = next(o for o in await organizations.organizations(client) if o.name == "Lumen Labs")
    assert lumen.id in {o.id for o in await organizations.desk_organizations(client, desks[0].id)}
    ana = await client.find_customer_by_email(desks[0].id, DEMO_PEOPLE[0].email)
    assert ana is not None
    search = RequestSearch([d.project_key for d in desks], ana.user_id, [lumen.id], ownership="organization")
    shared = (await client.search_requests(search, 0, 50)).values
    assert [r.summary for r in shared] == ["The team printer jams on double-sided jobs"]
    assert await client.shared_with_organizations(IssueRef(shared[0].issue_key), [lumen.id])
    names = {o.name for o in await organizations.organizations(client)}
    assert names == {p.organization for p in DEMO_PEOPLE}
    assert {"searchForIssuesUsingJqlEnhancedPost", "searchForIssuesUsingJqlPost"} & rig.contract.validated
    assert {"getRequestComments", "getAttachmentsForRequest", "getOrganizations"} <= rig.contract.validated
