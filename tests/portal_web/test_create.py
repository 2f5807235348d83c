"""Raising a request through the portal: every kind of field and an attachment end in JSM exactly once,
raised on the customer's behalf; invalid input comes back with what was typed; a JSM outage leaves the
request pending in "my requests"; the per-customer rate limit answers 429 with a clear message."""

from __future__ import annotations

from typing import Any

import pytest

from deskgate.web.portal.common import MAX_FILE_BYTES
from tests.portal_web.conftest import Customer, Rig

pytestmark = pytest.mark.anyio
PNG = b"\x89PNG\r\n\x1a\n not really a picture"


async def alice(rig: Rig) -> Customer:
    return await rig.sign_in("alice-sub", "alice@example.com", "Alice Adams")


def hardware_request(token: str, summary: str = "A second monitor") -> dict[str, Any]:
    return {
        "csrf_token": token,
        "summary": summary,
        "description": "For the Lisbon desk.",
        "customfield_10200": "10101",  # select: Monitor
        "customfield_10201": "2",  # number
        "customfield_10202": "2030-01-31",  # date
        "customfield_10203": "10112",  # radio: Linux
        "customfield_10204": ["10120", "10122"],  # checkboxes
        "customfield_10205": "10140",  # cascading: Lisbon …
        "customfield_10205:child": "10142",  # … Floor 4
    }


async def test_the_form_draws_every_kind_of_field(rig: Rig) -> None:
    customer = await alice(rig)
    page = (await customer.browser.get("/portal/1/create/2")).text
    for needle in (
        'name="summary"',
        "<textarea",
        '<select id="field-customfield_10200"',
        'inputmode="decimal"',
        'type="date"',
        'type="radio"',
        'type="checkbox"',
        'name="customfield_10205:child"',
        '<optgroup label="Lisbon">',
        'type="file" name="attachment"',
        '<label for="field-customfield_10201">Quantity',
    ):
        assert needle in page, needle
    assert 'value="10111" checked' in page  # the request type's default (macOS)
    software = (await customer.browser.get("/portal/1/create/3")).text
    assert 'type="datetime-local"' in software and 'type="url"' in software and "multiple" in software


async def test_a_request_with_an_attachment_reaches_jsm_once_on_the_customers_behalf(rig: Rig) -> None:
    customer = await alice(rig)
    token = await customer.csrf("/portal/1/create/2")
    before = len(rig.jsm.store.issues)
    answer = await customer.browser.post(
        "/portal/1/create/2",
        data=hardware_request(token),
        files={"attachment": ("screen.png", PNG, "image/png")},
    )
    assert answer.status_code == 303, answer.text
    assert len(rig.jsm.store.issues) == before + 1
    issue = rig.jsm.store.issues[-1]
    assert answer.headers["location"] == f"/portal/requests/{issue.key}?created=1"
    assert rig.calls("/rest/servicedeskapi/request", "POST") == 1
    assert rig.jsm.store.user_id(issue.reporter) == customer.jsm_user_id  # raiseOnBehalfOf
    assert issue.summary == "A second monitor"
    assert issue.values["customfield_10205"]["child"]["id"] == "10142"
    assert [(a.filename, a.mime_type, a.content) for a in issue.attachments] == [
        ("screen.png", "image/png", PNG)
    ]
    page = await customer.browser.get(answer.headers["location"])
    assert page.status_code == 200 and "Your request was sent" in page.text and "screen.png" in page.text


async def test_invalid_input_comes_back_with_what_was_typed(rig: Rig) -> None:
    customer = await alice(rig)
    token = await customer.csrf("/portal/1/create/2")
    data = hardware_request(token, summary="")
    data["customfield_10201"] = "two"
    data["customfield_10205:child"] = "10131"  # Berlin's floor under Lisbon
    before = len(rig.jsm.store.issues)
    answer = await customer.browser.post("/portal/1/create/2", data=data)
    assert answer.status_code == 400
    page = answer.text
    assert (
        "Please check the form" in page and "Enter a number" in page and "summary is required" in page.lower()
    )
    assert 'value="two"' in page and "For the Lisbon desk." in page
    assert 'value="10101" selected' in page and 'value="10122" checked' in page
    assert 'aria-invalid="true"' in page
    assert len(rig.jsm.store.issues) == before


async def test_when_jsm_is_down_the_request_is_pending_in_my_requests(rig: Rig) -> None:
    customer = await alice(rig)
    token = await customer.csrf("/portal/1/create/1")
    rig.jsm.faults.update({"server_errors": 5, "path": "/rest/servicedeskapi/request", "method": "POST"})
    before = len(rig.jsm.store.issues)
    answer = await customer.browser.post(
        "/portal/1/create/1", data={"csrf_token": token, "summary": "Printer on fire"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/portal/requests?")
    rig.jsm.faults.update({"server_errors": 50, "path": "/search", "method": None})  # JSM still away
    mine = await customer.browser.get(answer.headers["location"])
    assert mine.status_code == 200
    assert "Your request is saved" in mine.text and "cannot be listed" in mine.text
    assert "Printer on fire" in mine.text and "pending" in mine.text
    rig.jsm.faults.reset()
    later = (await customer.browser.get("/portal/requests?desk=1")).text
    assert "Printer on fire" in later and "ITH-1" in later
    assert len(rig.jsm.store.issues) == before


async def test_the_rate_limit_answers_429_with_a_clear_message(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rig.services.settings, "submission_limit", 1)
    customer = await alice(rig)
    token = await customer.csrf("/portal/1/create/1")
    first = await customer.browser.post("/portal/1/create/1", data={"csrf_token": token, "summary": "One"})
    assert first.status_code == 303
    second = await customer.browser.post("/portal/1/create/1", data={"csrf_token": token, "summary": "Two"})
    assert second.status_code == 429
    assert "You can send at most 1 request within 1 hour. Please try again in 1 hour." in second.text
    assert int(second.headers["retry-after"]) > 0
    assert 'value="Two"' in second.text  # still typed in
    assert rig.calls("/rest/servicedeskapi/request", "POST") == 1


async def test_a_file_over_the_limit_is_refused_before_anything_is_stored(rig: Rig) -> None:
    customer = await alice(rig)
    token = await customer.csrf("/portal/1/create/1")
    huge = b"x" * (MAX_FILE_BYTES + 1)
    answer = await customer.browser.post(
        "/portal/1/create/1",
        data={"csrf_token": token, "summary": "Big log"},
        files={"attachment": ("big.log", huge, "text/plain")},
    )
    assert answer.status_code == 400 and "larger than the limit of 10.0 MB" in answer.text
    assert 'value="Big log"' in answer.text
    assert rig.calls("/rest/servicedeskapi/request", "POST") == 0 and rig.calls("attachTemporaryFile") == 0
    mine = (await customer.browser.get("/portal/requests?desk=1")).text
    assert "Big log" not in mine
