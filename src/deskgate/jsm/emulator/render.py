"""The emulator's records as JSM's JSON (the DTOs of the contract, per flavour), and its error bodies.

The small values these DTOs embed (dates, status, field values, rich text) are built in `values`.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Iterable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from starlette.responses import JSONResponse

from deskgate.jsm.emulator import wiki
from deskgate.jsm.emulator.state import (
    Attachment,
    Comment,
    Desk,
    EmulatorStore,
    Field,
    Issue,
    RequestType,
    User,
)
from deskgate.jsm.emulator.values import STATUS_CATEGORIES, adf, date_dto, field_value, jira_time, status_dto

SD = "/rest/servicedeskapi"


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"errorMessage": message, "i18nErrorMessage": {"i18nKey": "sd.emulator.error", "parameters": []}}
    return JSONResponse(body, status_code=status, headers=headers)


def platform_error(status: int, *messages: str, errors: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errorMessages": list(messages), "errors": errors or {}}, status_code=status)


def _user_ref(store: EmulatorStore, user: User, base: str) -> str:
    key = "accountId" if store.flavour == "cloud" else "username"
    return f"{base}/rest/api/2/user?{urlencode({key: store.user_id(user)})}"


def _avatars(user: User) -> dict[str, str]:
    return {
        size: f"https://avatars.example.invalid/{size}/{quote(user.username)}"
        for size in ("16x16", "24x24", "32x32", "48x48")
    }


def user_dto(store: EmulatorStore, user: User, base: str) -> dict[str, Any]:
    """The service desk API's UserDTO."""
    dto: dict[str, Any] = {
        "emailAddress": user.shown_email(store.flavour),
        "displayName": user.display_name,
        "active": user.active,
        "timeZone": "Europe/Berlin",
    }
    if dto["emailAddress"] is None:
        del dto["emailAddress"]
    if store.flavour == "cloud":
        dto["accountId"] = user.account_id
    else:
        dto["name"] = user.username
        dto["key"] = "JIRAUSER" + str(zlib.crc32(user.username.encode()) % 100000)
    ref = _user_ref(store, user, base)
    dto["_links"] = {"self": ref, "jiraRest": ref, "avatarUrls": _avatars(user)}
    return dto


def platform_user(store: EmulatorStore, user: User, base: str) -> dict[str, Any]:
    """The platform API's User."""
    dto: dict[str, Any] = {
        "self": _user_ref(store, user, base),
        "emailAddress": user.shown_email(store.flavour),
        "avatarUrls": _avatars(user),
        "displayName": user.display_name,
        "active": user.active,
        "timeZone": "Europe/Berlin",
        "locale": "en_US",
    }
    if dto["emailAddress"] is None:
        del dto["emailAddress"]
    if store.flavour == "cloud":
        dto |= {"accountId": user.account_id, "accountType": user.account_type}
    else:
        dto |= {"name": user.username, "key": "JIRAUSER" + str(zlib.crc32(user.username.encode()) % 100000)}
    return dto


def paged(values: Sequence[Any], start: int, limit: int, base: str, path: str) -> dict[str, Any]:
    """One page of `values` in JSM's PagedDTO shape."""
    window = list(values[start : start + limit])
    is_last = start + len(window) >= len(values)
    links: dict[str, Any] = {
        "base": base + SD,
        "context": "",
        "self": f"{base}{path}?start={start}&limit={limit}",
    }
    if not is_last:
        links["next"] = f"{base}{path}?start={start + limit}&limit={limit}"
    if start > 0:
        links["prev"] = f"{base}{path}?start={max(0, start - limit)}&limit={limit}"
    return {
        "size": len(window),
        "start": start,
        "limit": limit,
        "isLastPage": is_last,
        "values": window,
        "_expands": [],
        "_links": links,
    }


def desk_dto(desk: Desk, base: str) -> dict[str, Any]:
    return {
        "id": desk.id,
        "projectId": desk.project_id,
        "projectName": desk.project_name,
        "projectKey": desk.project_key,
        "_links": {"self": f"{base}{SD}/servicedesk/{desk.id}"},
    }


def request_type_dto(rt: RequestType, base: str) -> dict[str, Any]:
    return {
        "id": rt.id,
        "name": rt.name,
        "description": rt.description,
        "helpText": rt.help_text,
        "issueTypeId": rt.issue_type_id,
        "serviceDeskId": rt.desk_id,
        "groupIds": list(rt.group_ids),
        "_expands": [],
        "_links": {"self": f"{base}{SD}/servicedesk/{rt.desk_id}/requesttype/{rt.id}"},
    }


def field_dto(field: Field) -> dict[str, Any]:
    dto: dict[str, Any] = {
        "fieldId": field.field_id,
        "name": field.name,
        "description": field.description,
        "required": field.required,
        "validValues": field.valid_values,
        "defaultValues": field.default_values,
        "jiraSchema": field.schema,
    }
    return dto


def request_dto(store: EmulatorStore, issue: Issue, base: str) -> dict[str, Any]:
    values = []
    for field_id, value in issue.values.items():
        field = issue.request_type.field(field_id)
        dto = {
            "fieldId": field_id,
            "label": field.name if field else field_id,
            "value": field_value(field, value),
        }
        if isinstance(value, str) and field_id != "summary":  # text fields carry Jira's HTML of the value
            dto["renderedValue"] = {"html": wiki.render(value)}
        values.append(dto)
    return {
        "_expands": [
            "participant",
            "status",
            "sla",
            "requestType",
            "serviceDesk",
            "attachment",
            "action",
            "comment",
        ],
        "issueId": issue.id,
        "issueKey": issue.key,
        "requestTypeId": issue.request_type.id,
        "serviceDeskId": issue.desk.id,
        "createdDate": date_dto(issue.created),
        "reporter": user_dto(store, issue.reporter, base),
        "requestFieldValues": values,
        "currentStatus": status_dto(issue),
        "_links": {
            "self": f"{base}{SD}/request/{issue.id}",
            "jiraRest": f"{base}/rest/api/2/issue/{issue.id}",
            "web": f"{base}/servicedesk/customer/portal/{issue.desk.id}/{issue.key}",
        },
    }


def comment_dto(
    store: EmulatorStore,
    issue: Issue,
    comment: Comment,
    base: str,
    *,
    expand: Collection[str] = (),
    attachment_limit: int = 50,
) -> dict[str, Any]:
    """A CommentDTO; with `expand` holding "attachment", the first page of the files it carries."""
    dto: dict[str, Any] = {
        "id": comment.id,
        "body": comment.body,
        "public": comment.public,
        "author": user_dto(store, comment.author, base),
        "created": date_dto(comment.created),
        "_expands": ["attachment", "renderedBody"],
        "_links": {"self": f"{base}{SD}/request/{issue.id}/comment/{comment.id}"},
    }
    if "renderedBody" in expand:
        dto["renderedBody"] = {"html": wiki.render(comment.body)}
    if "attachment" in expand:
        files = [attachment_dto(store, a, base) for a in comment.attachments]
        path = f"{SD}/request/{issue.id}/comment/{comment.id}/attachment"
        dto["attachments"] = paged(files, 0, attachment_limit, base, path)
    return dto


def attachment_dto(store: EmulatorStore, attachment: Attachment, base: str) -> dict[str, Any]:
    name = quote(attachment.filename)
    return {
        "filename": attachment.filename,
        "author": user_dto(store, attachment.author, base),
        "created": date_dto(attachment.created),
        "size": len(attachment.content),
        "mimeType": attachment.mime_type,
        "_links": {
            "jiraRest": f"{base}/rest/api/2/attachment/{attachment.id}",
            "content": f"{base}/servicedesk/customershim/secure/attachment/{attachment.id}/{name}",
        },
    }


def issue_bean(store: EmulatorStore, issue: Issue, fields: Iterable[str], base: str) -> dict[str, Any]:
    """A platform search result with only the fields asked for (as Jira does)."""
    category = STATUS_CATEGORIES[issue.status_category]
    origin = {
        "_links": {
            "jiraRest": f"{base}/rest/api/2/issue/{issue.id}",
            "web": f"{base}/servicedesk/customer/portal/{issue.desk.id}/{issue.key}",
            "self": f"{base}{SD}/request/{issue.id}",
        },
        "requestType": request_type_dto(issue.request_type, base),
        "currentStatus": status_dto(issue),
    }
    description = issue.description or None
    available = {
        "summary": issue.summary,
        "status": {
            "self": f"{base}/rest/api/2/status/1",
            "name": issue.status,
            "id": "1",
            "statusCategory": {
                "self": f"{base}/rest/api/2/statuscategory/{category[1]}",
                "id": category[1],
                "key": issue.status_category,
                "colorName": category[2],
                "name": category[3],
            },
        },
        "created": jira_time(issue.created),
        "updated": jira_time(issue.updated),
        "reporter": platform_user(store, issue.reporter, base),
        store.request_type_field: origin,
        "description": (adf(description) if store.flavour == "cloud" else description)
        if description
        else None,
        "labels": issue.labels,
        "project": {
            "id": issue.desk.project_id,
            "key": issue.desk.project_key,
            "name": issue.desk.project_name,
        },
    }
    wanted = set(fields) or {"summary", "status", "created", "reporter"}
    if "*all" in wanted or "*navigable" in wanted:
        wanted = set(available)
    return {
        "id": issue.id,
        "key": issue.key,
        "self": f"{base}/rest/api/2/issue/{issue.id}",
        "fields": {name: available[name] for name in wanted if name in available},
    }
