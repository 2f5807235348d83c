"""JsmClient's requests against the in-process emulator, Cloud and Data Center: every kind of field, comments
(never an internal one), JQL escaping of what a customer types, and the idempotency markers that find a
request whose creation timed out."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from deskgate.jsm import JsmBadRequest, JsmClient, JsmConnection, JsmUnavailable
from deskgate.jsm import jql as client_jql
from deskgate.jsm.marker import apply_marker, split_description
from tests.jsm.conftest import SITE, Rig, user_id

pytestmark = pytest.mark.anyio
MARKER = "0123456789abcdef0123"


# --- requests and comments ------------------------------------------------------------------------------


async def test_request_with_every_kind_of_field(rig: Rig) -> None:
    bob = await user_id(rig, "bob@example.com")
    values = {
        "summary": "Two monitors",
        "description": "For the new desk.",
        "customfield_10200": {"id": "10101"},
        "customfield_10201": 2,
        "customfield_10202": "2026-12-01",
        "customfield_10203": {"value": "Linux"},
        "customfield_10204": [{"id": "10120"}, {"id": "10122"}],
        "customfield_10205": {"id": "10140", "child": {"id": "10142"}},
    }
    created = await rig.client.create_request("1", "2", values, raise_on_behalf_of=bob)
    shown = {
        v.field_id: (v.label, v.value_text)
        for v in (await rig.client.get_request(created.issue_key)).field_values
    }
    assert shown["customfield_10200"] == ("Hardware type", "Monitor")
    assert shown["customfield_10204"] == ("Accessories", "Docking station, Charger")
    assert shown["customfield_10205"] == ("Office location", "Lisbon / Floor 4")
    assert shown["customfield_10201"][1] == "2" and shown["customfield_10203"][1] == "Linux"
    with pytest.raises(JsmBadRequest) as caught:
        await rig.client.create_request("1", "2", {"summary": "No hardware type"}, raise_on_behalf_of=bob)
    assert caught.value.error_message == "Hardware type is required."


async def test_comments_never_include_internal_ones(rig: Rig) -> None:
    comments = await rig.client.comments("ITH-1")
    assert [c.body for c in comments] == [
        "Does it start when plugged in? Please try that.",
        "Plugged in it starts. Thanks!",
    ]
    assert all(c.public for c in comments)
    # JSM itself would have sent the internal one to an agent asking without internal=false:
    headers = rig.app.connection(SITE).auth_headers()
    everything = (
        await rig.http.get(f"{SITE}/rest/servicedeskapi/request/ITH-1/comment", headers=headers)
    ).json()
    assert any(c["body"].startswith("INTERNAL") for c in everything["values"])
    added = await rig.client.add_comment("ITH-1", "Alice Adams wrote: it works again")
    assert added.public and added.author_name == "Deskgate service account"
    assert (await rig.client.comments("ITH-1"))[-1].id == added.id


async def test_an_internal_comment_sent_anyway_is_dropped() -> None:
    def jsm(request: httpx.Request) -> httpx.Response:
        assert request.url.params["internal"] == "false"
        assert request.url.params["expand"] == "attachment,renderedBody"  # files and HTML in the same call
        values = [
            {"id": "1", "body": "secret", "public": False},
            {"id": "2", "body": "hello", "public": True},
        ]
        return httpx.Response(
            200, json={"size": 2, "start": 0, "limit": 50, "isLastPage": True, "values": values}
        )

    connection = JsmConnection(site_url=SITE, email="bot@example.com", api_token=SecretStr("t"))
    async with httpx.AsyncClient(transport=httpx.MockTransport(jsm)) as http:
        assert [c.body for c in await JsmClient(http, connection).comments("ITH-1")] == ["hello"]


# --- JQL escaping ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ['" OR reporter != "x', '\\" OR reporter != \\"x', "') OR (project = HRS", "laptop OR bob*"]
)
async def test_search_text_cannot_widen_the_search(rig: Rig, text: str) -> None:
    bob = await user_id(rig, "bob@example.com")
    page = await rig.client.search_customer_requests("ITH", bob, "all", text)
    assert {r.reporter.user_id for r in page.values} <= {bob}
    assert all(r.issue_key.startswith("ITH-") for r in page.values)


@pytest.mark.parametrize(
    "evil", ['x" OR reporter != "x', 'x\\" OR project = HRS OR reporter = \\"x', "x\nOR 1=1"]
)
async def test_a_hostile_user_id_matches_nobody(rig: Rig, evil: str) -> None:
    page = await rig.client.search_customer_requests("ITH", evil, "all")
    assert page.values == () and page.is_last


def test_jql_quoting() -> None:
    assert client_jql.quote('a "b" \\ c') == '"a \\"b\\" \\\\ c"'
    assert client_jql.search_words('laptop" OR (x) AND y*') == "laptop OR x AND y"
    query = client_jql.customer_requests("ITH", 'u"1', "open", "x")
    assert query == (
        'project = "ITH" AND (reporter = "u\\"1" OR "Request participants" = "u\\"1") '
        'AND statusCategory != Done AND text ~ "x" ORDER BY created DESC'
    )
    with pytest.raises(ValueError, match="project key"):
        client_jql.project_clause('ITH" OR project = "HRS')


# --- idempotency markers --------------------------------------------------------------------------------


async def test_after_fail_after_commit_the_marker_finds_the_one_request(rig: Rig) -> None:
    alice = await user_id(rig, "alice@example.com")
    before = len(rig.app.store.issues)
    rig.app.faults.update({"fail_after_commit": 1, "path": "/rest/servicedeskapi/request"})
    with pytest.raises(JsmUnavailable) as caught:
        await rig.client.create_request(
            "1", "1", {"summary": "Printer"}, raise_on_behalf_of=alice, marker=MARKER
        )
    assert caught.value.outcome_unknown and caught.value.status == 504
    assert rig.calls_to("/rest/servicedeskapi/request", "POST") == 1  # never retried blindly
    assert len(rig.app.store.issues) == before + 1
    found = await rig.client.get_request(rig.app.store.issues[-1].key)  # read back, as adoption does
    assert found.summary == "Printer" and found.marker == MARKER
    assert found.reporter.user_id == alice
    shown = await rig.client.get_request(found.issue_key)
    assert ("description", "") in [(v.field_id, v.value_text) for v in shown.field_values]  # marker hidden


async def test_markers_on_a_request_type_without_description_go_into_labels(rig: Rig) -> None:
    form = await rig.client.request_form("1", "4")
    assert form.marker_field == "labels"
    alice = await user_id(rig, "alice@example.com")
    created = await rig.client.create_request(
        "1",
        "4",
        {"summary": "Locked out", "customfield_10211": "alice"},
        raise_on_behalf_of=alice,
        marker=MARKER,
        marker_field="labels",
    )
    assert (await rig.client.get_request(created.issue_key)).marker == MARKER


async def test_server_errors_on_writes_are_not_retried_but_429_is(rig: Rig) -> None:
    alice = await user_id(rig, "alice@example.com")
    rig.app.faults.update({"server_errors": 1, "path": "/rest/servicedeskapi/request", "method": "POST"})
    with pytest.raises(JsmUnavailable) as caught:
        await rig.client.create_request("1", "1", {"summary": "A"}, raise_on_behalf_of=alice)
    assert caught.value.outcome_unknown
    rig.app.faults.update({"rate_limits": 1, "retry_after": "1"})
    assert (
        await rig.client.create_request("1", "1", {"summary": "B"}, raise_on_behalf_of=alice)
    ).summary == "B"
    assert rig.sleep.waits == [1.0]


def test_markers_are_appended_and_split_off() -> None:
    values = apply_marker({"summary": "s", "description": "Hello\n"}, MARKER, "description")
    assert values["description"] == f"Hello\n\n[deskgate:{MARKER}]"
    assert split_description(values["description"]) == ("Hello", MARKER)
    assert split_description(f"quoting [deskgate:{MARKER}] inline") == (
        f"quoting [deskgate:{MARKER}] inline",
        None,
    )
    with pytest.raises(ValueError, match="marker"):
        apply_marker({}, "NOT A MARKER", "description")
