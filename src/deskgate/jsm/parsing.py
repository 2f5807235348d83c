"""JSM's JSON → `models`. Lenient about what JSM may leave out; strict about what identifies things."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from deskgate.jsm.flavour import Flavour, adf_text
from deskgate.jsm.marker import marker_in_labels, split_description, without_marker_html
from deskgate.jsm.models import (
    Attachment,
    Comment,
    Customer,
    CustomerRequest,
    FieldValue,
    RequestField,
    RequestFieldValue,
    RequestForm,
    RequestType,
    RequestTypeGroup,
    ServiceAccount,
    ServiceDesk,
    Status,
    StatusCategory,
)

Json = Mapping[str, Any]
# An attachment's id: the end of its REST link, else the first id in its content link (whose tail is the
# file name, which may hold anything). The id is all Deskgate keeps: content is fetched by id only.
_REST_ID = re.compile(r"/attachment/([0-9]{1,18})$")
_CONTENT_ID = re.compile(r"/(?:attachment(?:/content)?|secure/attachment)/([0-9]{1,18})(?:/|$)")


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def jira_datetime(value: Any) -> datetime:
    """A DateDTO ({epochMillis, iso8601}) or a platform date-time string, as an aware datetime."""
    if isinstance(value, Mapping):
        if isinstance(value.get("epochMillis"), int):
            return datetime.fromtimestamp(value["epochMillis"] / 1000, UTC)
        value = value.get("iso8601")
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.fromtimestamp(0, UTC)


def service_desk(raw: Json) -> ServiceDesk:
    return ServiceDesk(
        id=_str(raw["id"]),
        project_id=_str(raw.get("projectId")),
        project_key=_str(raw.get("projectKey")),
        project_name=_str(raw.get("projectName")),
    )


def request_type_group(raw: Json) -> RequestTypeGroup:
    return RequestTypeGroup(id=_str(raw["id"]), name=_str(raw.get("name")))


def request_type(raw: Json) -> RequestType:
    return RequestType(
        id=_str(raw["id"]),
        service_desk_id=_str(raw.get("serviceDeskId")),
        name=_str(raw.get("name")),
        description=_str(raw.get("description")),
        help_text=_str(raw.get("helpText")),
        group_ids=tuple(_str(g) for g in raw.get("groupIds") or ()),
    )


def field_value(raw: Json) -> FieldValue:
    return FieldValue(
        value=_str(raw.get("value")),
        label=_str(raw.get("label")),
        children=tuple(field_value(child) for child in raw.get("children") or ()),
    )


def request_field(raw: Json) -> RequestField:
    schema = raw.get("jiraSchema") or {}
    return RequestField(
        field_id=_str(raw["fieldId"]),
        name=_str(raw.get("name")),
        description=_str(raw.get("description")),
        required=bool(raw.get("required")),
        schema_type=_str(schema.get("type")),
        schema_items=schema.get("items"),
        schema_custom=schema.get("custom"),
        schema_system=schema.get("system"),
        valid_values=tuple(field_value(v) for v in raw.get("validValues") or ()),
        default_values=tuple(_str(v.get("value")) for v in raw.get("defaultValues") or ()),
    )


def request_form(raw: Json) -> RequestForm:
    return RequestForm(
        fields=tuple(request_field(f) for f in raw.get("requestTypeFields") or ()),
        can_raise_on_behalf_of=bool(raw.get("canRaiseOnBehalfOf")),
        can_add_request_participants=bool(raw.get("canAddRequestParticipants")),
    )


def customer(raw: Json | None, flavour: Flavour) -> Customer:
    raw = raw or {}
    return Customer(
        user_id=flavour.user_id(raw),
        email=_str(raw.get("emailAddress")),
        display_name=_str(raw.get("displayName")),
    )


def service_account(raw: Json, flavour: Flavour) -> ServiceAccount:
    user = customer(raw, flavour)
    return ServiceAccount(user.user_id, user.email, user.display_name, bool(raw.get("active", True)))


def _category(key: Any) -> StatusCategory:
    return "closed" if str(key).lower() == "done" else "open"


def value_text(value: Any) -> str:
    """A request field value as text: options by their value, cascades as "parent / child", lists joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # a number field holds a double: 2 was entered, JSON says 2.0
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, Sequence):
        return ", ".join(t for t in (value_text(v) for v in value) if t)
    if isinstance(value, Mapping):
        if "type" in value and "content" in value:  # an ADF document
            return adf_text(value)
        own = next((_str(value[k]) for k in ("value", "name", "displayName", "label") if value.get(k)), "")
        child = value.get("child")
        return f"{own} / {value_text(child)}" if isinstance(child, Mapping) else own
    return str(value)


def customer_request(raw: Json, flavour: Flavour) -> CustomerRequest:
    """From the service desk API's CustomerRequestDTO."""
    values: list[RequestFieldValue] = []
    summary = ""
    marker = None
    for item in raw.get("requestFieldValues") or ():
        field_id = _str(item.get("fieldId"))
        text = value_text(item.get("value"))
        if field_id == "summary":
            summary = text
        if field_id == "description":
            text, marker = split_description(text)
        if field_id == "labels" and isinstance(item.get("value"), list):
            marker = marker or marker_in_labels(item["value"])
        rendered = item.get("renderedValue")
        html = _str(rendered.get("html")) if isinstance(rendered, Mapping) else ""
        if field_id == "description" and marker is not None:
            html = without_marker_html(html, marker)  # never shown to a customer, rendered or not
        values.append(RequestFieldValue(field_id, _str(item.get("label")), text, html))
    current = raw.get("currentStatus") or {}
    return CustomerRequest(
        issue_id=_str(raw.get("issueId")),
        issue_key=_str(raw.get("issueKey")),
        service_desk_id=_str(raw.get("serviceDeskId")) or None,
        request_type_id=_str(raw.get("requestTypeId")) or None,
        summary=summary,
        status=Status(
            _str(current.get("status")),
            _category(current.get("statusCategory")),
            _str(current.get("statusCategory")).lower(),
        ),
        created=jira_datetime(raw.get("createdDate")),
        reporter=customer(raw.get("reporter"), flavour),
        field_values=tuple(values),
        marker=marker,
    )


def issue(raw: Json, flavour: Flavour, request_type_field: str) -> CustomerRequest:
    """From a platform issue search result (IssueBean) with the fields `SEARCH_FIELDS` asks for."""
    fields = raw.get("fields") or {}
    status = fields.get("status") or {}
    origin = fields.get(request_type_field) or {}
    request_type = origin.get("requestType") or {} if isinstance(origin, Mapping) else {}
    _, marker = split_description(flavour.text(fields.get("description")))
    return CustomerRequest(
        issue_id=_str(raw.get("id")),
        issue_key=_str(raw.get("key")),
        service_desk_id=_str(request_type.get("serviceDeskId")) or None,
        request_type_id=_str(request_type.get("id")) or None,
        summary=_str(fields.get("summary")),
        status=Status(
            _str(status.get("name")),
            _category((status.get("statusCategory") or {}).get("key")),
            _str((status.get("statusCategory") or {}).get("key")).lower(),
        ),
        created=jira_datetime(fields.get("created")),
        reporter=customer(fields.get("reporter"), flavour),
        marker=marker or marker_in_labels(fields.get("labels") or ()),
        updated=jira_datetime(fields["updated"]) if fields.get("updated") else None,
    )


def comment(raw: Json, flavour: Flavour) -> Comment:
    """A CommentDTO; its `attachments` page is read when the comment list was asked with
    `expand=attachment` (see `comment_attachments_complete` for a page that did not hold them all)."""
    author = raw.get("author") or {}
    files = (raw.get("attachments") or {}).get("values") or ()
    return Comment(
        id=_str(raw.get("id")),
        body=_str(raw.get("body")),
        public=bool(raw.get("public")),
        author_name=_str(author.get("displayName")),
        author_id=flavour.user_id(author),
        created=jira_datetime(raw.get("created")),
        attachments=tuple(attachment(a, flavour) for a in files),
        rendered_body=_str((raw.get("renderedBody") or {}).get("html")),
    )


def comment_attachments_complete(raw: Json) -> bool:
    """Whether an expanded comment holds all of its attachments (its page of them is the last)."""
    files = raw.get("attachments")
    return not isinstance(files, Mapping) or bool(files.get("isLastPage", True))


def attachment(raw: Json, flavour: Flavour) -> Attachment:
    links = raw.get("_links") or {}
    content = _str(links.get("content"))
    found = _REST_ID.search(urlsplit(_str(links.get("jiraRest"))).path) or _CONTENT_ID.search(
        urlsplit(content).path
    )
    author = raw.get("author") or {}
    return Attachment(
        id=found.group(1) if found else "",
        filename=_str(raw.get("filename")),
        size=int(raw.get("size") or 0),
        mime_type=_str(raw.get("mimeType")) or "application/octet-stream",
        author_name=_str(author.get("displayName")),
        created=jira_datetime(raw.get("created")),
        content_url=content,
        author_id=flavour.user_id(author),
    )
