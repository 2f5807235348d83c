"""`authorize_and_read`: a page's reads leave together with the check only for a request this customer
was granted lately, and their answers are used only when the fresh check passes again."""

from __future__ import annotations

import pytest

from deskgate.errors import NotFound
from deskgate.jsm import request_actions as actions
from deskgate.jsm.endpoints import IssueRef
from deskgate.portal.access import RecentGrants, RequestReads, authorize_and_read
from deskgate.portal.provisioning import CustomerLink
from tests.portal.conftest import Portal

pytestmark = pytest.mark.anyio


async def customer(portal: Portal, name: str) -> CustomerLink:
    return await portal.services.customers.provision(
        idp="corp", subject=name, email=f"{name}@example.com", display_name=name, desk_id="1"
    )


class Reader:
    """A page's reads that remember whether the check had already been asked of JSM when they began."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.began_after_check: list[bool] = []

    async def __call__(self, of: RequestReads) -> int:
        self.began_after_check.append(self.portal.calls(f"/request/{of.key}", "GET") > self.checks)
        comments, _ = await of.comments_and_files()
        return len(comments)

    def before(self) -> None:
        self.checks = self.portal.calls("/request/ITH-2", "GET")


async def test_a_first_visit_reads_after_the_check_and_a_second_with_it(portal: Portal) -> None:
    client, grants, read = await portal.client(), RecentGrants(), Reader(portal)
    alice = await customer(portal, "alice")  # a participant of Bob's ITH-2 (seed data)
    for _ in range(2):
        read.before()
        granted, count = await authorize_and_read(client, alice, "ith-2", read, grants)
        assert granted.request.issue_key == "ITH-2" and count == len((await granted.comments_and_files())[0])
    assert read.began_after_check == [True, False]


async def test_a_customer_who_lost_access_gets_nothing_of_the_reads_that_left_early(portal: Portal) -> None:
    client, grants, read = await portal.client(), RecentGrants(), Reader(portal)
    alice = await customer(portal, "alice")
    read.before()
    await authorize_and_read(client, alice, "ITH-2", read, grants)
    await actions.remove_participants(client, IssueRef("ITH-2"), [alice.jsm_user_id])

    read.before()
    with pytest.raises(NotFound) as caught:
        await authorize_and_read(client, alice, "ITH-2", read, grants)
    assert caught.value.status_code == 404
    assert read.began_after_check == [True, False]  # it left early, and its answer was dropped
    assert not grants.recent(alice, IssueRef("ITH-2"))

    read.before()
    with pytest.raises(NotFound):
        await authorize_and_read(client, alice, "ITH-2", read, grants)
    assert read.began_after_check == [True, False]  # the hint is gone: no read before a check again


async def test_a_request_never_granted_is_never_read(portal: Portal) -> None:
    client, grants, read = await portal.client(), RecentGrants(), Reader(portal)
    carol = await customer(portal, "carol")
    for ref in ("ITH-2", "ITH-2", "ith-1", "../x"):
        with pytest.raises(NotFound):
            await authorize_and_read(client, carol, ref, read, grants)
    assert read.began_after_check == []


async def test_grants_are_per_customer_and_expire(portal: Portal) -> None:
    alice, bob = await customer(portal, "alice"), await customer(portal, "bob")
    grants = RecentGrants(seconds=0.0)
    grants.note(alice, IssueRef("ITH-2"))
    assert not grants.recent(alice, IssueRef("ITH-2"))  # expired at once
    grants = RecentGrants(size=2)
    grants.note(alice, IssueRef("ITH-1"), IssueRef("ITH-2"))
    assert grants.recent(alice, IssueRef("ith-2")) and not grants.recent(bob, IssueRef("ITH-2"))
    grants.note(alice, IssueRef("ITH-3"))
    assert not grants.recent(alice, IssueRef("ITH-1"))  # the oldest made room
