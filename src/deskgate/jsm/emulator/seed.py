"""Seed data: three service desks whose request types (`seed_request_types`) use every kind of field the
portal must draw (`seed_desks`), and the tests' default set (`seed`): some customers and organizations, and
a few requests (with an internal comment, and files, that must never reach a customer). The demo's own
customers and their history are `deskgate.demo.story`, on the same desks."""

from __future__ import annotations

from datetime import timedelta

from deskgate.jsm.emulator.seed_articles import seed_articles
from deskgate.jsm.emulator.seed_request_types import facilities_types, hr_types, it_help_types
from deskgate.jsm.emulator.state import (
    Attachment,
    Desk,
    EmulatorStore,
    Organization,
    now,
)

# A 1x1 PNG, so that the demo's attachment is a real picture.
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc000000301010018dd8db00000000049454e44ae426082"
)


def seed_desks(store: EmulatorStore) -> tuple[Desk, Desk, Desk]:
    """The three demo desks (IT Help, HR Services, Facilities) with their request types, no customers yet."""
    it = Desk(
        "1",
        "10000",
        "ITH",
        "IT Help",
        groups=[("1", "Common requests"), ("2", "Hardware and software"), ("3", "Accounts and access")],
    )
    hr = Desk("2", "10001", "HRS", "HR Services", groups=[("10", "Employment"), ("11", "Personal details")])
    fac = Desk("3", "10002", "FAC", "Facilities", groups=[("20", "Workplace")])
    it.request_types, hr.request_types, fac.request_types = (
        it_help_types(it.id),
        hr_types(hr.id),
        facilities_types(fac.id),
    )
    store.desks += [it, hr, fac]
    return it, hr, fac


def seed(store: EmulatorStore) -> None:
    it, hr, fac = seed_desks(store)
    seed_articles(store, it, hr, fac)
    agent = store.add_user("sam.agent@example.com", "Sam Agent", username="sam", account_type="atlassian")
    alice = store.add_user("alice@example.com", "Alice Adams")
    bob = store.add_user("bob@example.com", "Bob Brown")
    carol = store.add_user("carol@example.com", "Carol Chen")
    it.customers |= {alice.account_id, bob.account_id}
    hr.customers |= {alice.account_id}
    fac.customers |= {carol.account_id}
    # Customer organizations (provisioning adds a customer to the one its IdP mapping names).
    store.organizations += [
        Organization("1", "Acme Corp", {alice.account_id}),
        Organization("2", "Globex"),
        Organization("3", "Initech"),
    ]

    start = now() - timedelta(days=10)
    help_type, hardware = it.request_types[0], it.request_types[1]
    laptop = store.add_issue(
        it,
        help_type,
        alice,
        {"summary": "My laptop does not start", "description": "It beeps three times and stays dark."},
        created=start,
    )
    # Alice's own screenshot (added with her request), a guide an agent shared in a public comment, a
    # quote an agent filed with an internal comment, and a log an agent attached to the issue directly:
    # JSM lists all four to the service account; a customer may only ever see the first two.
    laptop.attachments.append(
        Attachment(store.next_id(), "beeping.png", "image/png", PIXEL_PNG, alice, start)
    )
    guide = store.new_attachment("power-guide.txt", "text/plain", b"Hold the power button 10 s.\n", agent)
    store.add_comment(
        laptop,
        "Does it start when plugged in? Please try that.",
        public=True,
        author=agent,
        attachments=[guide],
    )
    quote = store.new_attachment("warranty-quote.pdf", "application/pdf", b"%PDF-1.4 spare: 900 EUR", agent)
    store.add_comment(
        laptop,
        "INTERNAL: warranty ends next month, order a spare.",
        public=False,
        author=agent,
        attachments=[quote],
    )
    store.add_comment(laptop, "Plugged in it starts. Thanks!", public=True, author=alice)
    laptop.attachments.append(
        store.new_attachment("agent-diagnostics.log", "text/plain", b"battery cell 3: failed\n", agent)
    )
    vpn = store.add_issue(
        it,
        help_type,
        bob,
        {"summary": "VPN access for the Lisbon office", "description": "Alice and I need VPN access."},
        created=start + timedelta(days=1),
        status="In progress",
    )
    vpn.participants.append(alice)
    store.add_issue(
        it,
        hardware,
        alice,
        {
            "summary": "A second monitor",
            "customfield_10200": {"id": "10101", "value": "Monitor"},
            "customfield_10205": {
                "id": "10130",
                "value": "Berlin",
                "child": {"id": "10131", "value": "Floor 1"},
            },
        },
        created=start + timedelta(days=2),
        status="Resolved",
    )
    store.add_issue(
        hr,
        hr.request_types[0],
        alice,
        {
            "summary": "Holiday in August",
            "customfield_10300": "2026-08-03",
            "customfield_10301": "2026-08-14",
            "customfield_10302": {"id": "10300", "value": "Holiday"},
        },
        created=start + timedelta(days=3),
    )
    store.add_issue(
        fac,
        fac.request_types[0],
        carol,
        {"summary": "The kitchen tap drips"},
        created=start + timedelta(days=4),
    )
    store.settle_index()  # the demo data was indexed long ago, whatever the search lag
