"""The demo's two sides read one list of people: the demo IdP's accounts are exactly the demo JSM's customers,
and the story gives them the history the README promises (agents' replies, shared requests, organizations,
every status, files)."""

from __future__ import annotations

from typing import Any

import pytest

from deskgate.cli.demo import DemoJsm, demo_peer, demo_settings
from deskgate.demo.people import DEMO_PEOPLE, DemoPerson, peer_accounts, person
from deskgate.demo.story import AGENTS, seed_story
from deskgate.jsm.emulator import create_emulator
from deskgate.jsm.emulator.state import EmulatorStore, Issue

BASE = "http://127.0.0.1:8080"


@pytest.fixture(scope="module")
def jsm() -> DemoJsm:
    return DemoJsm()  # built, not started: its store is what the demo serves


def _customers(store: EmulatorStore) -> set[tuple[str, str]]:
    return {(u.email, u.display_name) for u in store.users if u.account_type == "customer"}


def _idp_people(config: dict[str, Any]) -> set[tuple[str, str]]:
    return {(a["claims"]["email"], a["claims"]["name"]) for a in config["accounts"].values()}


def test_the_demo_idp_accounts_and_the_demo_jsm_customers_are_the_same_people(jsm: DemoJsm) -> None:
    # What the provider process actually reads (its JSON configuration) against what JSM serves.
    config = demo_peer(BASE, "secret").config
    assert _idp_people(config) == _customers(jsm.app.store) == {(p.email, p.name) for p in DEMO_PEOPLE}
    assert {p.id: p.password for p in DEMO_PEOPLE} == {
        k: a["password"] for k, a in config["accounts"].items()
    }
    # The default emulator seed (the tests') is another cast: the demo does not use it.
    assert _customers(create_emulator("cloud").store).isdisjoint(_customers(jsm.app.store))


def test_a_different_cast_changes_both_sides_together() -> None:
    cast = (DemoPerson("zoe", "Zoë", "Park", "zoe@lumen.example", "pw", "Lumen Labs"), *DEMO_PEOPLE)
    store = create_emulator("cloud", seed=False).store
    seed_story(store, cast)
    accounts = {a.claims["email"] for a in peer_accounts(cast)}
    assert {email for email, _ in _customers(store)} == accounts
    (lumen,) = [o for o in store.organizations if o.name == "Lumen Labs"]
    assert store.user_by_email("zoe@lumen.example").account_id in lumen.members  # type: ignore[union-attr]


def test_organizations_are_the_people_own_and_match_the_idp_claim(jsm: DemoJsm) -> None:
    store = jsm.app.store
    members = {o.name: {store.find_user(m).email for m in o.members} for o in store.organizations}  # type: ignore[union-attr]
    assert members == {
        "Lumen Labs": {person("ana").email, person("ben").email},
        "Harbor Logistics": {person("chloe").email},
    }
    # The demo IdP releases the organization claim, and Deskgate's demo mapping reads it.
    peer = demo_peer(BASE, "secret")
    assert peer.config["accounts"]["ana"]["claims"]["organization"] == "Lumen Labs"
    peer.issuer = "http://127.0.0.1:9"  # as if started: the settings only copy it
    (idp,) = demo_settings(BASE, peer, "secret").idps
    assert idp.mapping.organization == ("organization",) and "organization" in idp.scopes


def _of(store: EmulatorStore, who: str) -> list[Issue]:
    email = person(who).email
    return [
        i for i in store.issues if i.reporter.email == email or email in {p.email for p in i.participants}
    ]


def test_ana_has_a_history_on_several_desks_with_agents_replies_in_every_state(jsm: DemoJsm) -> None:
    store = jsm.app.store
    ana = _of(store, "ana")
    assert {i.desk.project_key for i in ana} == {"ITH", "HRS", "FAC"}
    assert {i.status_category for i in ana} == {"new", "indeterminate", "done"}
    assert {"Waiting for customer", "Resolved"} <= {i.status for i in ana}
    agents = {email for email, _ in AGENTS.values()}
    replied = [i for i in ana if any(c.public and c.author.email in agents for c in i.comments)]
    assert len(replied) >= 3
    # Shared with her: one by a colleague of her organization, one by someone of another organization.
    shared = {i.reporter.email for i in ana if i.reporter.email != person("ana").email}
    assert shared == {person("ben").email, person("chloe").email}
    # Files both ways: her own, and an agent's in a public reply.
    files = {(a.filename, a.author.email) for i in ana for a in i.attachments}
    assert ("password-prompt.png", person("ana").email) in files
    assert any(author in agents for _, author in files)


def test_the_story_keeps_internal_notes_internal_and_dates_in_order(jsm: DemoJsm) -> None:
    store = jsm.app.store
    internal = [c for i in store.issues for c in i.comments if not c.public]
    assert internal and all(c.author.account_type == "atlassian" for c in internal)
    for issue in store.issues:
        times = [issue.created, *(c.created for c in issue.comments)]
        assert times == sorted(times), issue.key
    # Ben's history holds his own requests (one shared with Ana, one with their organization), none of Ana's.
    assert {i.summary for i in _of(store, "ben")} == {
        "VPN access for the Lisbon office",
        "New bank account for my salary",
        "The team printer jams on double-sided jobs",
    }
    shared = [i for i in store.issues if i.organizations]
    lumen = next(o for o in store.organizations if o.name == "Lumen Labs")
    assert [i.organizations for i in shared] == [[lumen.id]] and shared[0].desk.id in lumen.desks


def test_every_person_is_a_customer_of_the_desks_of_their_requests(jsm: DemoJsm) -> None:
    store = jsm.app.store
    for issue in store.issues:
        for user in (issue.reporter, *issue.participants):
            assert user.account_id in issue.desk.customers, (issue.key, user.email)


def test_person_lookup_refuses_an_unknown_id() -> None:
    with pytest.raises(KeyError):
        person("nobody")
