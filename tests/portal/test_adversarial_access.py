"""`may_access` against look-alikes: only the JSM user id counts, and a customer without one (a link made
before JSM answered, or a JSM that hides ids) reaches nothing, not even requests whose ids are hidden too."""

from __future__ import annotations

from datetime import UTC, datetime

from deskgate.jsm.models import Customer, CustomerRequest, Status
from deskgate.portal.access import may_access
from deskgate.portal.provisioning import CustomerLink

ALICE = Customer("acc-alice", "alice@example.com", "Alice Adams")


def request(reporter: Customer = ALICE) -> CustomerRequest:
    return CustomerRequest(
        "10001", "ITH-1", "1", "1", "My laptop", Status("Open", "open"), datetime.now(UTC), reporter
    )


def link(jsm_user_id: str, email: str = "mallory@example.com", name: str = "Mallory") -> CustomerLink:
    return CustomerLink("corp", "mallory-sub", jsm_user_id, email, name, "cloud:https://jsm.test")


def test_the_same_name_and_address_under_another_id_are_someone_else() -> None:
    twin = link("acc-mallory", email="alice@example.com", name="Alice Adams")
    assert not may_access(twin, request(), ())
    assert not may_access(twin, request(), (Customer("acc-bob", "alice@example.com", "Alice Adams"),))
    assert may_access(link("acc-alice"), request(), ())


def test_ids_are_compared_exactly() -> None:
    for near in ("ACC-ALICE", "acc-alice ", " acc-alice", "acc-alic", "acc-alice\n"):
        assert not may_access(link(near), request(), ()), near
        assert not may_access(link(near), request(Customer("acc-bob", "", "")), (ALICE,)), near


def test_no_id_reaches_nothing_even_where_jsm_hides_every_id() -> None:
    hidden = Customer("", "", "Former user")
    assert not may_access(link(""), request(hidden), ())
    assert not may_access(link(""), request(), (hidden,))
