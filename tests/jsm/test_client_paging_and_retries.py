"""JsmClient against the in-process emulator, Cloud and Data Center: lists read to the last page, retries
after 429 and server errors, timeouts, JSM's errors, the experimental-API header, and the connection settings
and fault plan behind them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from pydantic import SecretStr, ValidationError

from deskgate.jsm import (
    JsmAuthError,
    JsmBadRequest,
    JsmConnection,
    JsmError,
    JsmNotFound,
    JsmRateLimited,
    JsmUnavailable,
)
from deskgate.jsm.transport import parse_retry_after
from tests.jsm.conftest import SITE, Rig, user_id

pytestmark = pytest.mark.anyio


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


# --- small pieces ---------------------------------------------------------------------------------------


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


async def test_the_call_count_over_http_counts_every_call_but_its_own(rig: Rig) -> None:
    before = (await rig.http.get(f"{SITE}/__emulator__/calls")).json()["count"]
    assert before == len(rig.app.calls)
    await rig.http.get(f"{SITE}/rest/servicedeskapi/info")
    await rig.http.get(f"{SITE}/rest/servicedeskapi/request/NOPE-1")  # refused calls count too
    after = (await rig.http.get(f"{SITE}/__emulator__/calls")).json()["count"]
    assert after == before + 2 == len(rig.app.calls)
