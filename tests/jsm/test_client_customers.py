"""JsmClient's customers against the in-process emulator, Cloud and Data Center: the exact email lookup,
creating one that exists already, and how each flavour identifies a user."""

from __future__ import annotations

import pytest

from deskgate.jsm import JsmConflict
from tests.jsm.conftest import Rig

pytestmark = pytest.mark.anyio


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
