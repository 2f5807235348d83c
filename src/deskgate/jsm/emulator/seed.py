"""Demo data: three service desks whose request types use every kind of field the portal must draw,
some customers, and a few requests (with an internal comment, and files, that must never reach a customer)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from deskgate.jsm.emulator.state import (
    Attachment,
    Desk,
    EmulatorStore,
    Field,
    Organization,
    RequestType,
    now,
)

CUSTOM = "com.atlassian.jira.plugin.system.customfieldtypes:"
# A 1x1 PNG, so that the demo's attachment is a real picture.
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc000000301010018dd8db00000000049454e44ae426082"
)


def _options(*labels: str, first: int = 10000) -> list[dict[str, Any]]:
    return [{"value": str(first + n), "label": label, "children": []} for n, label in enumerate(labels)]


def summary(name: str = "Summary") -> Field:
    return Field("summary", name, {"type": "string", "system": "summary"}, required=True)


def description(name: str = "Description", *, required: bool = False) -> Field:
    return Field("description", name, {"type": "string", "system": "description"}, required=required)


def custom(
    number: int, name: str, kind: str, schema_type: str, *, items: str | None = None, **extra: Any
) -> Field:
    schema: dict[str, Any] = {"type": schema_type, "custom": CUSTOM + kind, "customId": number}
    if items:
        schema["items"] = items
    return Field(f"customfield_{number}", name, schema, **extra)


def _it_help(desk_id: str) -> list[RequestType]:
    hardware = _options("Laptop", "Monitor", "Keyboard", "Mouse", "Headset", first=10100)
    systems = _options("Windows", "macOS", "Linux", first=10110)
    accessories = _options("Docking station", "Bag", "Charger", first=10120)
    berlin = {"value": "10130", "label": "Berlin", "children": _options("Floor 1", "Floor 2", first=10131)}
    lisbon = {"value": "10140", "label": "Lisbon", "children": _options("Floor 3", "Floor 4", first=10141)}
    software = _options("Office suite", "Design tools", "IDE", "VPN client", first=10150)
    return [
        RequestType(
            "1",
            desk_id,
            "Get IT help",
            "Something is broken or confusing.",
            "Tell us what happened and what you expected.",
            ["1"],
            [summary("What do you need help with?"), description("Tell us more")],
        ),
        RequestType(
            "2",
            desk_id,
            "Request new hardware",
            "Laptops, monitors and accessories.",
            "Your manager approves hardware over 500 EUR.",
            ["1", "2"],
            [
                summary(),
                description(),
                custom(10200, "Hardware type", "select", "option", required=True, valid_values=hardware),
                custom(10201, "Quantity", "float", "number", description="How many you need."),
                custom(10202, "Needed by", "datepicker", "date"),
                custom(
                    10203,
                    "Operating system",
                    "radiobuttons",
                    "option",
                    valid_values=systems,
                    default_values=[systems[1]],
                ),
                custom(
                    10204, "Accessories", "multicheckboxes", "array", items="option", valid_values=accessories
                ),
                custom(
                    10205,
                    "Office location",
                    "cascadingselect",
                    "option-with-child",
                    required=True,
                    valid_values=[berlin, lisbon],
                ),
            ],
        ),
        RequestType(
            "3",
            desk_id,
            "Request software",
            "Licences and installations.",
            "",
            ["2"],
            [
                summary(),
                custom(
                    10206,
                    "Software",
                    "multiselect",
                    "array",
                    items="option",
                    required=True,
                    valid_values=software,
                ),
                custom(10207, "Licence page", "url", "string"),
                custom(10208, "Justification", "textarea", "string", required=True),
                custom(10209, "Install at", "datetime", "datetime"),
                custom(10210, "Cost centre", "textfield", "string", description="For example CC-1234."),
            ],
        ),
        RequestType(
            "4",
            desk_id,
            "Reset my password",
            "Locked out of an account?",
            "",
            ["3"],
            [
                summary(),
                custom(10211, "Account name", "textfield", "string", required=True),
                Field("labels", "Labels", {"type": "array", "items": "string", "system": "labels"}),
            ],
        ),
    ]


def _hr(desk_id: str) -> list[RequestType]:
    leave = _options("Holiday", "Sick leave", "Parental leave", first=10300)
    return [
        RequestType(
            "10",
            desk_id,
            "Request time off",
            "Holidays and other leave.",
            "",
            ["10"],
            [
                summary(),
                custom(10300, "From", "datepicker", "date", required=True),
                custom(10301, "Until", "datepicker", "date", required=True),
                custom(
                    10302,
                    "Type of leave",
                    "radiobuttons",
                    "option",
                    required=True,
                    valid_values=leave,
                    default_values=[leave[0]],
                ),
                description("Anything else we should know?"),
            ],
        ),
        RequestType(
            "11",
            desk_id,
            "Update my personal details",
            "Address, bank account, name.",
            "",
            ["11"],
            [summary(), description(required=True)],
        ),
    ]


def _facilities(desk_id: str) -> list[RequestType]:
    building = {
        "value": "10400",
        "label": "Main building",
        "children": _options("Kitchen", "Lobby", first=10401),
    }
    annex = {"value": "10410", "label": "Annex", "children": _options("Workshop", first=10411)}
    urgency = _options("Low", "Normal", "Urgent", first=10420)
    return [
        RequestType(
            "20",
            desk_id,
            "Report a facilities problem",
            "Heating, lights, doors.",
            "",
            ["20"],
            [
                summary(),
                description(),
                custom(
                    10400, "Location", "cascadingselect", "option-with-child", valid_values=[building, annex]
                ),
                custom(
                    10401, "Urgency", "select", "option", valid_values=urgency, default_values=[urgency[1]]
                ),
            ],
        ),
    ]


def seed(store: EmulatorStore) -> None:
    it = Desk(
        "1",
        "10000",
        "ITH",
        "IT Help",
        groups=[("1", "Common requests"), ("2", "Hardware and software"), ("3", "Accounts and access")],
    )
    hr = Desk("2", "10001", "HRS", "HR Services", groups=[("10", "Employment"), ("11", "Personal details")])
    fac = Desk("3", "10002", "FAC", "Facilities", groups=[("20", "Workplace")])
    it.request_types, hr.request_types, fac.request_types = _it_help(it.id), _hr(hr.id), _facilities(fac.id)
    store.desks += [it, hr, fac]

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
