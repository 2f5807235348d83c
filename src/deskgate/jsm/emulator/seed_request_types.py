"""The demo's request types: forms for the IT Help, HR Services and Facilities desks that together use every
kind of field the portal must draw (text, number, date, date-time, URL, labels, and single, multiple and
cascading choices), with descriptions, help texts, defaults and required fields."""

from __future__ import annotations

from typing import Any

from deskgate.jsm.emulator.state import Field, RequestType

CUSTOM = "com.atlassian.jira.plugin.system.customfieldtypes:"


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


def it_help_types(desk_id: str) -> list[RequestType]:
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


def hr_types(desk_id: str) -> list[RequestType]:
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


def facilities_types(desk_id: str) -> list[RequestType]:
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
