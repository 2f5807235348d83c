"""Participants, customer transitions and approvals held to the vendored service desk spec, client and
emulator together, on both flavours; and the one thing the service account may not do: answer an
approval for an approver (JSM refuses it with 403, so Deskgate never offers it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from deskgate.jsm import JsmBadRequest, JsmClient, RetryPolicy
from deskgate.jsm import request_actions as actions
from deskgate.jsm.client_base import allowed_endpoints
from deskgate.jsm.emulator import create_emulator
from deskgate.jsm.emulator.request_actions import ApprovalRecord, approvals_of
from deskgate.jsm.endpoints import IssueRef, JsmId
from tests.contract.test_jsm_emulator_contract import SITE, Contract, Rig, ValidatingTransport

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["cloud", "datacenter"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    """A client over the emulator through a transport that holds every call to the vendored spec."""
    app = create_emulator(request.param, page_cap=2)
    contract = Contract(request.param)
    transport = ValidatingTransport(httpx.ASGITransport(app=app), contract)
    async with httpx.AsyncClient(transport=transport) as http:
        yield Rig(app, JsmClient(http, app.connection(SITE), retry=RetryPolicy(max_attempts=1)), contract)


async def test_participants_transitions_and_approvals_keep_their_contracts(rig: Rig) -> None:
    client, store = rig.client, rig.app.store
    key = IssueRef("ITH-1")
    issue, bob, carol = (
        store.issue("ITH-1"),
        store.user_by_email("bob@example.com"),
        store.user_by_email("carol@example.com"),
    )
    assert issue is not None and bob is not None and carol is not None
    await actions.add_participants(client, key, [store.user_id(bob)])
    assert [p.display_name for p in await client.request_participants(key)] == ["Bob Brown"]
    with pytest.raises(JsmBadRequest):  # Carol is no customer of the IT desk: JSM refuses her
        await actions.add_participants(client, key, [store.user_id(carol)])
    await actions.remove_participants(client, key, [store.user_id(bob)])
    assert await client.request_participants(key) == ()

    offered = await actions.transitions(client, key)
    assert [t.name for t in offered] == ["Resolve this issue", "Cancel request"]
    await actions.perform_transition(
        client, key, JsmId(offered[0].id), "Alice Adams (alice@example.com) wrote:\n\nFixed"
    )
    assert (
        issue.status == "Resolved" and issue.comments[-1].body.endswith("Fixed") and issue.comments[-1].public
    )
    assert [t.name for t in await actions.transitions(client, key)] == ["Reopen"]
    with pytest.raises(JsmBadRequest):  # a transition the workflow does not offer now
        await actions.perform_transition(client, key, JsmId(offered[1].id), "")

    agent = store.user_by_email("sam.agent@example.com")
    assert agent is not None
    approvals_of(store, issue).append(
        ApprovalRecord("7", "Manager approval", [(agent, "approved"), (bob, "pending")])
    )
    (approval,) = await actions.approvals(client, key)
    assert (approval.name, approval.decision) == ("Manager approval", "pending")
    assert [(a.who.display_name, a.decision) for a in approval.approvers] == [
        ("Sam Agent", "approved"),
        ("Bob Brown", "pending"),
    ]
    path = "/rest/servicedeskapi/request/ITH-1"
    wanted = [
        ("participant", "post"),
        ("participant", "delete"),
        ("transition", "get"),
        ("transition", "post"),
    ]
    operations = {
        rig.contract.operation_id(f"{path}/{tail}", m) for tail, m in [*wanted, ("approval", "get")]
    }
    assert len(operations) == 5 and operations <= rig.contract.validated


async def test_only_an_approver_answers_an_approval(rig: Rig) -> None:
    store = rig.app.store
    issue, bob = store.issue("ITH-1"), store.user_by_email("bob@example.com")
    assert issue is not None and bob is not None
    approvals_of(store, issue).append(ApprovalRecord("7", "Manager approval", [(bob, "pending")]))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=rig.app))
    headers = dict(rig.client.transport.headers())
    async with http:
        answer = await http.post(
            "https://jsm.test/rest/servicedeskapi/request/ITH-1/approval/7",
            json={"decision": "approve"},
            headers=headers,
        )
    assert answer.status_code == 403
    assert approvals_of(store, issue)[0].approvers == [(bob, "pending")]
    # The client has no call for it: answering an approval is not on the closed list of endpoints.
    assert not any("/approval/" in e.template for e in allowed_endpoints(rig.client.flavour))
