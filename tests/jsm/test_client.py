"""JsmClient against the in-process emulator, Cloud and Data Center: paging, retries, errors, customers,
requests, comments, attachments, JQL escaping and idempotency markers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from deskgate.jsm import (
    JsmAuthError,
    JsmBadRequest,
    JsmClient,
    JsmConflict,
    JsmConnection,
    JsmError,
    JsmNotFound,
    JsmRateLimited,
    JsmUnavailable,
    RetryPolicy,
)
from deskgate.jsm import jql as client_jql
from deskgate.jsm.emulator import EmulatorApp, create_emulator
from deskgate.jsm.marker import apply_marker, split_description
from deskgate.jsm.transport import parse_retry_after

pytestmark = pytest.mark.anyio
SITE = "https://jsm.test"
MARKER = "0123456789abcdef0123"


@dataclass
class FakeSleep:
    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass
class Rig:
    app: EmulatorApp
    client: JsmClient
    sleep: FakeSleep
    http: httpx.AsyncClient

    def client_with(self, **overrides: Any) -> JsmClient:
        retry = RetryPolicy(sleep=self.sleep, jitter=lambda: 0.5, max_attempts=overrides.pop("attempts", 4))
        return JsmClient(self.http, self.app.connection(SITE, **overrides), retry=retry)

    def calls_to(self, suffix: str, method: str = "GET") -> int:
        return sum(1 for m, path in self.app.calls if m == method and path.endswith(suffix))


@pytest.fixture(params=["cloud", "datacenter"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    app = create_emulator(request.param, page_cap=2)
    sleep = FakeSleep()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        retry = RetryPolicy(sleep=sleep, jitter=lambda: 0.5)
        yield Rig(app, JsmClient(http, app.connection(SITE), retry=retry), sleep, http)


async def user_id(rig: Rig, email: str) -> str:
    customer = await rig.client.find_customer_by_email("1", email)
    assert customer is not None
    return customer.user_id


# --- paging ---------------------------------------------------------------------------------------------


async def test_lists_are_read_to_the_last_page_although_the_server_caps_limit(rig: Rig) -> None:
    desks = await rig.client.service_desks()
    assert [d.project_key for d in desks] == ["ITH", "HRS", "FAC"]
    assert rig.calls_to("/servicedesk") == 2  # the client asked for 100; the server gave 2 per page
    types = await rig.client.request_types("1")
    assert [t.id for t in types] == ["1", "2", "3", "4"]
    assert types[1].description == "Laptops, monitors and accessories." and types[1].group_ids == ("1", "2")


async def test_search_pages_across_the_cap_and_fetches_each_page_in_few_calls(rig: Rig) -> None:
    alice = await user_id(rig, "alice@example.com")
    for n in range(5):
        await rig.client.create_request("1", "1", {"summary": f"Ticket {n}"}, raise_on_behalf_of=alice)
    keys = []
    for start in (0, 3, 6):
        page = await rig.client.search_customer_requests("ITH", alice, "all", None, start, 3)
        keys += [r.issue_key for r in page.values]
        assert page.is_last == (start == 6)
    # Alice reported ITH-1, ITH-3 and ITH-4..8 and participates in ITH-2: all of them, newest first.
    assert keys == ["ITH-8", "ITH-7", "ITH-6", "ITH-5", "ITH-4", "ITH-3", "ITH-2", "ITH-1"]
    first = (await rig.client.search_customer_requests("ITH", alice, "all", None, 0, 3)).values[0]
    assert first.summary == "Ticket 4" and first.service_desk_id == "1" and first.request_type_id == "1"
    assert first.reporter.email == "alice@example.com" and first.status.category == "open"


async def test_status_filter_open_and_closed(rig: Rig) -> None:
    alice = await user_id(rig, "alice@example.com")
    closed = await rig.client.search_customer_requests("ITH", alice, "closed")
    assert [(r.issue_key, r.status.name, r.status.category) for r in closed.values] == [
        ("ITH-3", "Resolved", "closed")
    ]
    opened = await rig.client.search_customer_requests("ITH", alice, "open")
    assert [r.issue_key for r in opened.values] == ["ITH-2", "ITH-1"]


# --- retries, timeouts, errors --------------------------------------------------------------------------


async def test_429_is_retried_after_the_seconds_retry_after_names(rig: Rig) -> None:
    rig.app.faults.update({"rate_limits": 2, "retry_after": "3"})
    assert len(await rig.client.service_desks()) == 3
    assert rig.sleep.waits == [3.0, 3.0]


async def test_retry_after_as_an_http_date(rig: Rig) -> None:
    rig.app.faults.update(
        {
            "rate_limits": 1,
            "retry_after": format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True),
        }
    )
    await rig.client.myself()
    assert len(rig.sleep.waits) == 1 and 3.0 <= rig.sleep.waits[0] <= 5.0


async def test_a_retry_after_beyond_the_cap_fails_at_once(rig: Rig) -> None:
    rig.app.faults.update({"rate_limits": 1, "retry_after": "3600"})
    with pytest.raises(JsmRateLimited) as caught:
        await rig.client.myself()
    assert caught.value.retry_after == 3600 and rig.sleep.waits == []


async def test_server_errors_then_success_back_off_exponentially(rig: Rig) -> None:
    rig.app.faults.update({"server_errors": 2, "server_error_status": 502})
    await rig.client.service_desks()
    assert rig.sleep.waits == [0.375, 0.75]  # half fixed + half jitter (0.5) of 0.5 s, then 1 s


async def test_exhausted_retries(rig: Rig) -> None:
    rig.app.faults.update({"server_errors": 10})
    with pytest.raises(JsmUnavailable) as unavailable:
        await rig.client.myself()
    assert unavailable.value.status == 503 and "injected" in (unavailable.value.error_message or "")
    assert len(rig.sleep.waits) == 3 and rig.calls_to("/myself") == 4
    rig.app.faults.reset()
    rig.app.faults.update({"rate_limits": 10, "retry_after": "2"})
    with pytest.raises(JsmRateLimited) as limited:
        await rig.client.myself()
    assert limited.value.retry_after == 2.0 and isinstance(limited.value, JsmUnavailable)


async def test_timeouts_are_retried_then_reported(rig: Rig) -> None:
    rig.app.faults.update({"timeouts": 1, "timeout_seconds": 5})
    client = rig.client_with(timeout_seconds=0.05)
    assert (await client.myself()).email == "deskgate-bot@example.com"
    assert len(rig.sleep.waits) == 1
    rig.app.faults.update({"timeouts": 5})
    with pytest.raises(JsmUnavailable, match="no answer"):
        await rig.client_with(timeout_seconds=0.05, attempts=2).myself()


async def test_wrong_credentials_are_an_auth_error_with_jsms_message(rig: Rig) -> None:
    if rig.app.flavour == "cloud":
        client = rig.client_with(api_token=SecretStr("not-the-token"))
    else:
        client = rig.client_with(personal_access_token=SecretStr("not-the-token"))
    with pytest.raises(JsmAuthError) as caught:
        await client.service_desks()
    assert caught.value.status == 401
    assert "must be authenticated" in (caught.value.error_message or "")
    assert "not-the-token" not in str(caught.value)
    assert rig.sleep.waits == []  # a 401 is not retried


async def test_unknown_things_are_not_found(rig: Rig) -> None:
    with pytest.raises(JsmNotFound) as caught:
        await rig.client.get_request("ITH-999")
    assert caught.value.error_message == "The request does not exist."
    with pytest.raises(JsmNotFound):
        await rig.client.request_form("1", "99")
    with pytest.raises(JsmBadRequest):
        await rig.client.get_request("../servicedesk")  # never reaches JSM


async def test_experimental_operations_need_the_header_which_the_client_sends(rig: Rig) -> None:
    headers = rig.app.connection(SITE).auth_headers()
    plain = await rig.http.get(f"{SITE}/rest/servicedeskapi/servicedesk/1/customer", headers=headers)
    assert plain.status_code == 412 and "X-ExperimentalApi" in plain.json()["errorMessage"]
    assert await rig.client.find_customer_by_email("1", "bob@example.com") is not None
    # Each flavour wants its own value: Cloud "opt-in", Data Center "true".
    other = "true" if rig.app.flavour == "cloud" else "opt-in"
    wrong = await rig.http.get(
        f"{SITE}/rest/servicedeskapi/servicedesk/1/customer", headers={**headers, "X-ExperimentalApi": other}
    )
    assert wrong.status_code == 412


# --- customers ------------------------------------------------------------------------------------------


async def test_email_lookup_is_exact_never_a_prefix_or_substring(rig: Rig) -> None:
    client = rig.client
    lookalikes = [
        await client.create_customer(e, "Look Alike")
        for e in ("malice@example.com", "alice@example.com.evil")
    ]
    await client.add_customers("1", [c.user_id for c in lookalikes])
    alice = await client.find_customer_by_email("1", "alice@example.com")
    assert alice is not None and (alice.email, alice.display_name) == ("alice@example.com", "Alice Adams")
    assert await client.find_customer_by_email("1", " ALICE@Example.COM ") == alice
    assert await client.find_customer_by_email("1", "lice@example.com") is None
    assert await client.find_customer_by_email("1", "alice@example") is None
    assert await client.find_customer_by_email("1", "") is None
    malice = await client.find_customer_by_email("1", "malice@example.com")
    assert malice is not None and malice.user_id == lookalikes[0].user_id
    # Carol is a customer of another desk only: the platform user search finds her.
    carol = await client.find_customer_by_email("1", "carol@example.com")
    assert carol is not None and carol.display_name == "Carol Chen"


async def test_creating_an_existing_customer_is_a_conflict(rig: Rig) -> None:
    with pytest.raises(JsmConflict) as caught:
        await rig.client.create_customer("Alice@example.com", "Alice Again")
    assert caught.value.status == (409 if rig.app.flavour == "cloud" else 400)
    assert "already exists" in (caught.value.error_message or "")


async def test_cloud_and_data_center_identify_users_differently(rig: Rig) -> None:
    created = await rig.client.create_customer("erin@example.com", "Erin Example")
    service_account = await rig.client.myself()
    if rig.app.flavour == "cloud":
        assert created.user_id.startswith("qm:") and service_account.user_id.startswith("557058:")
    else:  # the username; POST /customer took fullName (the emulator refuses displayName there)
        assert created.user_id == "erin@example.com" and service_account.user_id == "deskgate-bot"
    assert created.display_name == "Erin Example"
    await rig.client.add_customers("2", [created.user_id])
    request = await rig.client.create_request(
        "2", "11", {"summary": "New address", "description": "Elm St"}, raise_on_behalf_of=created.user_id
    )
    assert request.reporter.user_id == created.user_id and request.issue_key == "HRS-2"


# --- requests, comments, attachments --------------------------------------------------------------------


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
    assert shown["customfield_10201"][1] == "2.0" and shown["customfield_10203"][1] == "Linux"
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
        assert request.url.params["expand"] == "attachment"  # the files come with the same call
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


async def _chunks() -> AsyncIterator[bytes]:
    yield b"%PDF-1.4 "
    yield b"streamed"


async def test_attachments_round_trip_with_their_content_type(rig: Rig) -> None:
    png = bytes(range(256)) * 10
    first = await rig.client.attach_temporary_file("1", "screen shot ü.png", png, "image/png")
    second = await rig.client.attach_temporary_file("1", 'quote".pdf', _chunks(), "application/pdf")
    attached = await rig.client.attach_to_request("ITH-1", [first, second])
    assert [(a.filename, a.mime_type, a.size) for a in attached] == [
        ("screen shot ü.png", "image/png", len(png)),
        ('quote".pdf', "application/pdf", 17),
    ]
    listed = await rig.client.attachments("ITH-1")
    assert [a.filename for a in listed[-2:]] == ["screen shot ü.png", 'quote".pdf']
    async with await rig.client.download_attachment(listed[-2]) as download:
        assert download.content_type == "image/png" and download.size == len(png)
        assert b"".join([chunk async for chunk in download.iter_bytes(1000)]) == png
    download = await rig.client.download_attachment(listed[-1].id)  # by id: the flavour's content path
    assert (download.content_type, await download.read()) == ("application/pdf", b"%PDF-1.4 streamed")
    with pytest.raises(JsmBadRequest):  # a temporary id is used once
        await rig.client.attach_to_request("ITH-1", [first])
    with pytest.raises(ValueError, match="outside the JSM site"):
        await rig.client.download_attachment("https://elsewhere.example/secure/attachment/1/x.png")


async def test_the_attachment_list_holds_internal_files_and_only_comments_tell_them_apart(rig: Rig) -> None:
    store = rig.app.store
    alice, agent = store.user_by_email("alice@example.com"), store.user_by_email("sam.agent@example.com")
    assert alice is not None and agent is not None
    listed = await rig.client.attachments("ITH-1")
    # To an agent, JSM lists every file of the request, without a visibility flag.
    assert [(a.filename, a.author_id) for a in listed] == [
        ("beeping.png", store.user_id(alice)),
        ("power-guide.txt", store.user_id(agent)),
        ("warranty-quote.pdf", store.user_id(agent)),
        ("agent-diagnostics.log", store.user_id(agent)),
    ]
    comments = await rig.client.comments("ITH-1")
    assert [[a.filename for a in c.attachments] for c in comments] == [["power-guide.txt"], []]
    assert comments[0].attachments[0].id == listed[1].id  # the same file, told by the same id
    assert all(c.public for c in comments)


async def test_files_are_filed_under_a_comment_public_or_internal_as_asked(rig: Rig) -> None:
    files = [await rig.client.attach_temporary_file("1", f"f{n}.txt", b"x", "text/plain") for n in range(3)]
    await rig.client.attach_to_request("ITH-1", files, comment="Three files")
    hidden = await rig.client.attach_temporary_file("1", "secret.txt", b"s", "text/plain")
    await rig.client.attach_to_request("ITH-1", [hidden], public=False)
    last = (await rig.client.comments("ITH-1"))[-1]
    # Three files under one comment, more than the emulator's page of two: the rest is read page by page.
    assert (last.body, [a.filename for a in last.attachments]) == (
        "Three files",
        ["f0.txt", "f1.txt", "f2.txt"],
    )
    assert rig.calls_to(f"/comment/{last.id}/attachment") == 2
    issue = rig.app.store.issue("ITH-1")
    assert issue is not None and not issue.comments[-1].public
    assert [a.filename for a in issue.comments[-1].attachments] == ["secret.txt"]


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
    found = await rig.client.find_request_by_marker("ITH", MARKER)
    assert found is not None and found.summary == "Printer" and found.marker == MARKER
    assert found.reporter.user_id == alice
    assert await rig.client.find_request_by_marker("ITH", "f" * 20) is None
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
    found = await rig.client.find_request_by_marker("ITH", MARKER)
    assert found is not None and found.issue_key == created.issue_key


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


# --- small pieces ---------------------------------------------------------------------------------------


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


def test_retry_after_parsing() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 - 10) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_connection_validation_names_every_problem() -> None:
    with pytest.raises(ValidationError) as caught:
        JsmConnection(
            site_url="https://x.atlassian.net", deployment="cloud", personal_access_token=SecretStr("p")
        )
    text = str(caught.value)
    assert "email: required for Jira Cloud" in text and "personal_access_token is for Data Center" in text
    with pytest.raises(ValidationError, match="must use https"):
        JsmConnection(
            site_url="http://jira.example.com", deployment="datacenter", personal_access_token=SecretStr("p")
        )
    local = JsmConnection(
        site_url="http://127.0.0.1:8081/", deployment="datacenter", personal_access_token=SecretStr("p")
    )
    assert local.site_url == "http://127.0.0.1:8081" and local.auth_headers() == {"Authorization": "Bearer p"}
    cloud = JsmConnection(site_url="https://x.atlassian.net", email="a@b.co", api_token=SecretStr("t"))
    assert cloud.auth_headers() == {"Authorization": "Basic YUBiLmNvOnQ="}


async def test_fault_plan_over_http(rig: Rig) -> None:
    answer = await rig.http.put(f"{SITE}/__emulator__/faults", content=json.dumps({"latency_ms": 1}))
    assert answer.json()["latency_ms"] == 1 and rig.app.faults.latency_ms == 1
    bad = await rig.http.put(f"{SITE}/__emulator__/faults", content=json.dumps({"nonsense": 1}))
    assert bad.status_code == 400 and "unknown fault setting" in bad.json()["error"]
    assert (await rig.http.delete(f"{SITE}/__emulator__/faults")).json()["latency_ms"] == 0


async def test_errors_render_through_deskgates_error_boundary() -> None:
    error = JsmUnavailable("no answer", operation="create request", outcome_unknown=True)
    assert isinstance(error, JsmError) and error.status_code == 503
    assert "create request" in error.detail and "help desk" in error.user_message
