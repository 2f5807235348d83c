"""The small values JSM's DTOs embed: dates (DateDTO and Jira's timestamp), a request's current status and
its category, request field values, and Cloud's rich text (ADF). `render` builds the DTOs around them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from deskgate.jsm.emulator.state import Field, Issue

# Per status category: the service desk API's key, and the platform API's id, colour and name.
STATUS_CATEGORIES = {
    "new": ("NEW", 2, "blue-gray", "To Do"),
    "indeterminate": ("INDETERMINATE", 4, "yellow", "In Progress"),
    "done": ("DONE", 3, "green", "Done"),
}


def date_dto(moment: datetime) -> dict[str, Any]:
    return {
        "iso8601": moment.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "jira": moment.strftime("%Y-%m-%dT%H:%M:%S.000%z"),
        "friendly": moment.strftime("%d/%b/%y %I:%M %p"),
        "epochMillis": int(moment.timestamp() * 1000),
    }


def jira_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000%z")


def status_dto(issue: Issue) -> dict[str, Any]:
    return {
        "status": issue.status,
        "statusCategory": STATUS_CATEGORIES[issue.status_category][0],
        "statusDate": date_dto(issue.created),
    }


def field_value(field: Field | None, value: Any) -> Any:
    if isinstance(value, dict) and "id" in value:
        rendered = {"self": "", "value": value.get("value", ""), "id": value["id"]}
        if isinstance(value.get("child"), dict):
            rendered["child"] = field_value(field, value["child"])
        return rendered
    if isinstance(value, list):
        return [field_value(field, item) for item in value]
    return value


def adf(text: str) -> dict[str, Any]:
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
        for line in text.split("\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}
