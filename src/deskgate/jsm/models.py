"""What the portal needs from JSM, as frozen values. Nothing here knows HTTP, JSON or the deployment type.

User identifiers (`user_id`) are opaque strings chosen by the deployment type: the accountId on Cloud,
the username on Data Center. Store them as they come and hand them back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, TypeVar

T = TypeVar("T")

StatusCategory = Literal["open", "closed"]
StatusFilter = Literal["open", "closed", "all"]
# Whose requests a customer lists, as JSM's portal offers them: created by me, shared with me (participant),
# my organizations', or all of these.
Ownership = Literal["all", "mine", "shared", "organization"]
RequestOrder = Literal["created", "updated", "updated-asc"]  # newest first, recently updated, least recently
MarkerField = Literal["description", "labels"]

# jiraSchema.custom → the kind of form control the portal draws for it.
_CUSTOM_KINDS = {
    "textfield": "text",
    "textarea": "paragraph",
    "float": "number",
    "datepicker": "date",
    "datetime": "datetime",
    "url": "url",
    "select": "select",
    "multiselect": "multiselect",
    "radiobuttons": "radio",
    "multicheckboxes": "checkboxes",
    "cascadingselect": "cascading",
    "labels": "labels",
}
_SYSTEM_KINDS = {
    "summary": "text",
    "description": "paragraph",
    "environment": "paragraph",
    "duedate": "date",
    "labels": "labels",
    "priority": "select",
    "components": "multiselect",
    "attachment": "attachment",
}
_TYPE_KINDS = {
    "string": "text",
    "number": "number",
    "date": "date",
    "datetime": "datetime",
    "option": "select",
    "option-with-child": "cascading",
    "user": "user",
    "priority": "select",
}


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """The user Deskgate calls JSM as (`GET /myself`)."""

    user_id: str
    email: str
    display_name: str
    active: bool


@dataclass(frozen=True, slots=True)
class ServerInfo:
    base_url: str
    version: str
    deployment_type: str
    title: str


@dataclass(frozen=True, slots=True)
class ServiceDesk:
    id: str
    project_id: str
    project_key: str
    project_name: str


@dataclass(frozen=True, slots=True)
class RequestTypeGroup:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class RequestType:
    id: str
    service_desk_id: str
    name: str
    description: str
    help_text: str
    group_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FieldValue:
    """One allowed (or default) value of a field: `value` is what JSM takes back (an option id)."""

    value: str
    label: str
    children: tuple[FieldValue, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestField:
    field_id: str
    name: str
    description: str
    required: bool
    schema_type: str  # jiraSchema.type: string, number, date, datetime, option, array, …
    schema_items: str | None = None  # jiraSchema.items, for arrays
    schema_custom: str | None = None  # e.g. com.atlassian.jira.plugin.system.customfieldtypes:select
    schema_system: str | None = None  # e.g. summary, description, duedate
    valid_values: tuple[FieldValue, ...] = ()
    default_values: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """The form control this field needs: text, paragraph, number, date, datetime, url, select,
        multiselect, radio, checkboxes, cascading, labels, user, attachment, or unknown."""
        if self.schema_custom:
            kind = _CUSTOM_KINDS.get(self.schema_custom.rsplit(":", 1)[-1])
            if kind:
                return kind
        if self.schema_system and self.schema_system in _SYSTEM_KINDS:
            return _SYSTEM_KINDS[self.schema_system]
        if self.schema_type == "array":
            return {"option": "multiselect", "string": "labels", "attachment": "attachment"}.get(
                self.schema_items or "", "unknown"
            )
        return _TYPE_KINDS.get(self.schema_type, "unknown")


@dataclass(frozen=True, slots=True)
class RequestForm:
    """The fields of one request type, and what the service account may do when raising it."""

    fields: tuple[RequestField, ...]
    can_raise_on_behalf_of: bool
    can_add_request_participants: bool

    def field(self, field_id: str) -> RequestField | None:
        return next((f for f in self.fields if f.field_id == field_id), None)

    @property
    def marker_field(self) -> MarkerField | None:
        """Where `JsmClient.create_request` can put an idempotency marker for this request type."""
        if self.field("description") is not None:
            return "description"
        if self.field("labels") is not None:
            return "labels"
        return None


@dataclass(frozen=True, slots=True)
class Customer:
    user_id: str  # accountId (Cloud) or username (Data Center)
    email: str  # "" when JSM hides it
    display_name: str


@dataclass(frozen=True, slots=True)
class Status:
    name: str
    category: StatusCategory
    # JSM's status category as it colours the lozenge: "new" (grey), "indeterminate" (blue), "done"
    # (green); "" when the answer named none (then `colour` falls back on `category`).
    jsm_category: str = ""

    @property
    def colour(self) -> str:
        if self.jsm_category in ("new", "indeterminate", "done"):
            return self.jsm_category
        return "done" if self.category == "closed" else "indeterminate"


@dataclass(frozen=True, slots=True)
class RequestFieldValue:
    """A field of an existing request, as the customer should read it."""

    field_id: str
    label: str
    value_text: str
    rendered_html: str = ""  # JSM's own HTML of the value (`renderedValue.html`), unsanitised; "" if none


@dataclass(frozen=True, slots=True)
class CustomerRequest:
    issue_id: str
    issue_key: str
    # None in search results when the site's "Customer Request Type" field is not the one configured
    # (`JsmConnection.request_type_field`) or the issue was not raised through JSM.
    service_desk_id: str | None
    request_type_id: str | None
    summary: str
    status: Status
    created: datetime
    reporter: Customer
    # Filled by get_request; search results carry none (JSM gives labels only per request).
    field_values: tuple[RequestFieldValue, ...] = ()
    marker: str | None = None  # the Deskgate marker found on the request, if any
    updated: datetime | None = None  # search results asked for `updated` carry it


@dataclass(frozen=True, slots=True)
class Attachment:
    id: str  # read from its URLs: JSM's AttachmentDTO has no id of its own; "" when none was found
    filename: str
    size: int
    mime_type: str
    author_name: str
    created: datetime
    content_url: str = ""
    author_id: str = ""


@dataclass(frozen=True, slots=True)
class Comment:
    id: str
    body: str
    public: bool
    author_name: str
    author_id: str
    created: datetime
    # The files this comment carries. JSM lists every attachment of a request to an agent, internal ones
    # included; whether a file is public is only known from the comment it came with.
    attachments: tuple[Attachment, ...] = ()
    rendered_body: str = ""  # JSM's HTML of the body (`expand=renderedBody`), unsanitised; "" if none


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    values: tuple[T, ...]
    start: int
    limit: int
    is_last: bool

    @property
    def next_start(self) -> int | None:
        return None if self.is_last else self.start + len(self.values)
