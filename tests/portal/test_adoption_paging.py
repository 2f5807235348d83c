"""Adoption reads as far back as the write's window reaches, not one page: a customer with more requests
since the unclear attempt than one search page holds still has the earlier attempt found (else: sent again,
a duplicate)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from deskgate.jsm import JsmClient
from deskgate.jsm.emulator import create_emulator
from deskgate.portal.adoption import SEARCH_DEPTH, find_earlier_request

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
async def test_the_earlier_attempt_is_found_behind_a_full_page_of_newer_requests(flavour: str) -> None:
    app = create_emulator(flavour)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        client = JsmClient(http, app.connection("https://jsm.test"))
        alice = await client.find_customer_by_email("1", "alice@example.com")
        assert alice is not None
        values = {
            "summary": "The first one",
            "customfield_10206": [{"id": "10150"}],
            "customfield_10208": "x",
        }
        first = await client.create_request("1", "3", values, raise_on_behalf_of=alice.user_id)
        for n in range(SEARCH_DEPTH + 10):  # newer requests of hers, more than one page
            await client.create_request("1", "1", {"summary": f"later {n}"}, raise_on_behalf_of=alice.user_id)
        since = first.created - timedelta(minutes=5)
        found = await find_earlier_request(
            client,
            "ITH",
            user_id=alice.user_id,
            request_type_id="3",
            summary="The first one",
            field_values=values,
            marker="not-in-this-request",
            since=since,
            taken=(),
        )
    assert found is not None and found.issue_key == first.issue_key
