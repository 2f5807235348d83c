"""The demo JSM's history: the demo people (`deskgate.demo.people`) as customers of the emulator's three
desks, with a few weeks of requests behind them.

What someone signing in to the demo finds (Ana Costa is the one the README walks through):

- Ana: her own requests on all three desks, in every state (waiting for support, waiting for customer, in
  progress, resolved), agents' public replies, files both ways; the VPN request Ben raised for both of them
  (she is a participant); the shared-folder request Chloé of Harbor Logistics raised and added her to.
- Ben: his VPN and bank-details requests, and nothing of Ana's own.
- Chloé: her facilities request and the shared folder.

Each request also carries an internal comment or file where an agent would leave one, so that the demo
shows what the portal keeps from customers as well as what it shows them. The organizations are the
people's own (Lumen Labs, Harbor Logistics), named exactly as the demo IdP's ``organization`` claim says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from deskgate.demo.people import DEMO_PEOPLE, DemoPerson
from deskgate.jsm.emulator.seed import PIXEL_PNG, seed_desks
from deskgate.jsm.emulator.seed_articles import seed_articles
from deskgate.jsm.emulator.state import (
    Attachment,
    Desk,
    EmulatorStore,
    Issue,
    Organization,
    RequestType,
    User,
    now,
)
from deskgate.jsm.emulator.validation import check_values

__all__ = ["AGENTS", "seed_story"]

# (e-mail, name) of the agents who answer; JSM users, not customers, so not people of the demo IdP.
AGENTS = {
    "it": ("sam.rivera@helpdesk.example", "Sam Rivera"),
    "hr": ("priya.nair@helpdesk.example", "Priya Nair"),
    "facilities": ("tom.berg@helpdesk.example", "Tom Berg"),
}
STORY_DAYS = 21  # the oldest request is three weeks old


@dataclass
class _History:
    """Writes requests and comments at a given day of the story (day 0 is three weeks ago)."""

    store: EmulatorStore
    start: datetime

    def at(self, day: float) -> datetime:
        return self.start + timedelta(days=day)

    def file(self, name: str, mime: str, content: bytes, author: User, day: float) -> Attachment:
        return Attachment(self.store.next_id(), name, mime, content, author, self.at(day))

    def request(
        self,
        desk: Desk,
        request_type: RequestType,
        reporter: User,
        values: dict[str, Any],
        *,
        day: float,
        status: str = "Waiting for support",
        participants: Sequence[User] = (),
        files: Sequence[Attachment] = (),
    ) -> Issue:
        # Stored as JSM stores what a customer sends (options resolved): a story the API itself could write.
        stored = check_values(request_type, values)
        issue = self.store.add_issue(
            desk, request_type, reporter, stored, created=self.at(day), status=status
        )
        issue.participants.extend(participants)
        issue.attachments.extend(files)  # added with the request: the reporter's own
        return issue

    def comment(
        self,
        issue: Issue,
        author: User,
        body: str,
        *,
        day: float,
        internal: bool = False,
        files: Sequence[Attachment] = (),
    ) -> None:
        comment = self.store.add_comment(
            issue, body, public=not internal, author=author, attachments=[*files]
        )
        comment.created = self.at(day)


def seed_story(store: EmulatorStore, people: Sequence[DemoPerson] = DEMO_PEOPLE) -> None:
    """The desks, the agents, the people as customers in their organizations, and their requests."""
    it, hr, fac = seed_desks(store)
    seed_articles(store, it, hr, fac)  # a knowledge base article or two for each request type
    sam, priya, tom = (
        store.add_user(email, name, username=email.split("@")[0], account_type="atlassian")
        for email, name in AGENTS.values()
    )
    users = {p.id: store.add_user(p.email, p.name) for p in people}
    ana, ben, chloe = users["ana"], users["ben"], users["chloe"]
    it.customers |= {u.account_id for u in users.values()}
    hr.customers |= {ana.account_id, ben.account_id}
    fac.customers |= {ana.account_id, chloe.account_id}
    for number, name in enumerate(dict.fromkeys(p.organization for p in people), start=1):
        members = {users[p.id].account_id for p in people if p.organization == name}
        store.organizations.append(Organization(str(number), name, members))

    history = _History(store, now() - timedelta(days=STORY_DAYS))
    get_help, hardware = it.request_types[0], it.request_types[1]

    monitor = history.request(
        it,
        hardware,
        ana,
        {
            "summary": "A second monitor for my desk",
            "description": "I review drawings all day; a second screen would save a lot of window juggling.",
            "customfield_10200": {"id": "10101", "value": "Monitor"},
            "customfield_10201": 1,
            "customfield_10205": {
                "id": "10140",
                "value": "Lisbon",
                "child": {"id": "10141", "value": "Floor 3"},
            },
        },
        day=0,
        status="Resolved",
    )
    history.comment(
        monitor, sam, "Approved by your manager, ordered today. It should arrive within a week.", day=1
    )
    history.comment(monitor, sam, "INTERNAL: 27-inch model, asset tag LS-0412.", day=1, internal=True)
    history.comment(monitor, sam, "Installed on floor 3, desk 12. Enjoy the extra room!", day=6)
    history.comment(monitor, ana, "Working perfectly, thank you Sam.", day=6.2)

    vpn = history.request(
        it,
        get_help,
        ben,
        {
            "summary": "VPN access for the Lisbon office",
            "description": "Ana and I work from the Lisbon office from next month and need VPN access there.",
        },
        day=3,
        status="In progress",
        participants=[ana],
    )
    history.comment(
        vpn, sam, "Your VPN profiles are approved; I am preparing the client configuration.", day=4
    )
    history.comment(vpn, ben, "Great. Ana will try it first, I am travelling this week.", day=4.3)

    holiday = history.request(
        hr,
        hr.request_types[0],
        ana,
        {
            "summary": "Holiday in August",
            "customfield_10300": "2026-08-03",
            "customfield_10301": "2026-08-14",
            "customfield_10302": {"id": "10300", "value": "Holiday"},
        },
        day=8,
        status="Resolved",
    )
    history.comment(holiday, priya, "Approved, and added to the team calendar. Enjoy your holiday!", day=9)

    outlook = history.request(
        it,
        get_help,
        ana,
        {
            "summary": "Outlook keeps asking for my password",
            "description": "Since Monday Outlook asks for my password every few minutes, even right after I type it.",
        },
        day=15,
        status="Waiting for customer",
        files=[history.file("password-prompt.png", "image/png", PIXEL_PNG, ana, 15)],
    )
    history.comment(outlook, sam, "INTERNAL: stale token cache, the known 16.8 issue.", day=16, internal=True)
    steps = history.file(
        "outlook-sign-in-steps.txt",
        "text/plain",
        b"1. Quit Outlook.\n2. Open Settings > Accounts and sign out.\n3. Start Outlook and sign in again.\n",
        sam,
        16,
    )
    history.comment(
        outlook,
        sam,
        "Sorry about that! I cleared your sign-in on our side. Could you follow the attached steps and tell "
        "me whether it still asks?",
        day=16,
        files=[steps],
    )

    bank = history.request(
        hr,
        hr.request_types[1],
        ben,
        {"summary": "New bank account for my salary", "description": "I moved my account to another bank."},
        day=17,
        status="Waiting for customer",
    )
    form = history.file(
        "bank-details-form.txt", "text/plain", b"Account holder:\nIBAN:\nSignature:\n", priya, 18
    )
    history.comment(
        bank, priya, "Please fill in and sign the attached form, then add it here.", day=18, files=[form]
    )

    folder = history.request(
        it,
        it.request_types[2],
        chloe,
        {
            "summary": "Shared folder for the Lumen and Harbor shipping project",
            "customfield_10206": [{"id": "10150", "value": "Office suite"}],
            "customfield_10208": "Ana Costa (Lumen Labs) and I plan the spring shipments together.",
        },
        day=19,
        participants=[ana],
    )
    history.comment(folder, sam, "Happy to set it up. Ana, can you confirm Lumen Labs agrees?", day=19.5)

    tap = history.request(
        fac,
        fac.request_types[0],
        chloe,
        {"summary": "The kitchen tap drips", "description": "Second floor kitchen, since last week."},
        day=12,
        status="In progress",
        files=[history.file("kitchen-tap.png", "image/png", PIXEL_PNG, chloe, 12)],
    )
    history.comment(tap, tom, "A plumber comes on Thursday morning.", day=13)

    history.request(
        fac,
        fac.request_types[0],
        ana,
        {"summary": "Meeting room 3 is too cold", "description": "It is 17 °C in the mornings."},
        day=20,
    )

    # Shared with Lumen Labs, which uses the IT desk: Ana finds it under "My organizations" without
    # being its reporter or a participant; Chloé (Harbor Logistics) never sees it.
    lumen = next(o for o in store.organizations if o.name == "Lumen Labs")
    lumen.desks.add(it.id)
    printer = history.request(
        it,
        get_help,
        ben,
        {
            "summary": "The team printer jams on double-sided jobs",
            "description": "Any double-sided job on the Lisbon team printer jams after the first page.",
        },
        day=21,
        status="In progress",
    )
    printer.organizations.append(lumen.id)
    history.comment(
        printer, sam, "A technician is booked for Friday; single-sided works meanwhile.", day=21.5
    )
    store.settle_index()  # the story happened long before anyone searches
