"""The Jira platform API of the emulator: myself, serverInfo, my permissions (`permissions`), user search,
JQL search, attachment content.

Cloud serves `/rest/api/3/...` with the enhanced search `/search/jql` (page tokens); Data Center serves
`/rest/api/2/...` with `/search` (startAt/total) and `/user/search?username=`.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from deskgate.jsm.emulator import render
from deskgate.jsm.emulator.analysis import ascii_words, words
from deskgate.jsm.emulator.context import Refused, body_json, context, found
from deskgate.jsm.emulator.faults import FaultPlan
from deskgate.jsm.emulator.jql import JqlError, search
from deskgate.jsm.emulator.permissions import my_permissions
from deskgate.jsm.emulator.state import User, now

SEARCH_CAP = 50  # like Jira, more than this per page is capped silently
MEDIA = "/__media__/file"  # where Cloud's attachment redirect points (a media host in real JSM)


async def myself(request: Request) -> Response:
    store, base = context(request)
    return JSONResponse(render.platform_user(store, store.service_account, base))


async def server_info(request: Request) -> Response:
    store, base = context(request)
    cloud = store.flavour == "cloud"
    return JSONResponse(
        {
            "baseUrl": base,
            "version": "1001.0.0-SNAPSHOT" if cloud else "9.12.4",
            "versionNumbers": [1001, 0, 0] if cloud else [9, 12, 4],
            "deploymentType": "Cloud" if cloud else "Server",
            "buildNumber": 100200,
            "buildDate": "2026-01-15T00:00:00.000+00:00",
            "serverTime": now().isoformat(timespec="milliseconds"),
            "scmInfo": "emulator",
            "serverTitle": "Deskgate JSM emulator",
        }
    )


async def user_search(request: Request) -> Response:
    store, base = context(request)
    param = "query" if store.flavour == "cloud" else "username"
    query = request.query_params.get(param, "").strip().casefold()
    if not query:
        return render.platform_error(400, f"The '{param}' query parameter is required.")
    try:
        max_results = min(int(request.query_params.get("maxResults", "50")), 1000)
    except ValueError:
        return render.platform_error(400, "maxResults must be a number.")

    # Jira matches the start of the name, the e-mail address (unless hidden) and, on Data Center, the
    # username (Cloud has none).
    def texts(u: User) -> tuple[str, ...]:
        shown = (u.shown_email(store.flavour) or "", u.display_name)
        return shown if store.flavour == "cloud" else (*shown, u.username)

    found = [u for u in store.users if any(t.casefold().startswith(query) for t in texts(u))]
    return JSONResponse([render.platform_user(store, u, base) for u in found[:max_results]])


async def _search_input(request: Request) -> dict[str, Any]:
    if request.method == "POST":
        body = await body_json(request)
        if not isinstance(body, dict):
            raise Refused(render.platform_error(400, "The body must be a JSON object."))
        return body
    params = request.query_params
    values: dict[str, Any] = {
        k: params[k] for k in ("jql", "nextPageToken", "startAt", "maxResults") if k in params
    }
    if "fields" in params:
        values["fields"] = [f for item in params.getlist("fields") for f in item.split(",")]
    return values


def _paging(value: Any, default: int) -> int:
    try:
        return int(value if value is not None else default)
    except (TypeError, ValueError):
        raise Refused(render.platform_error(400, "startAt and maxResults must be numbers.")) from None


async def issue_search(request: Request) -> Response:
    store, base = context(request)
    body = await _search_input(request)
    fields = body.get("fields") or []
    try:
        plan: FaultPlan = request.app.state.faults
        analyse = words if plan.unicode_word_breaks else ascii_words
        issues = search(store, str(body.get("jql") or ""), lag=plan.search_lag_seconds, analyse=analyse)
    except JqlError as exc:
        return render.platform_error(400, str(exc))
    cap = min(SEARCH_CAP, request.app.state.page_cap)
    max_results = max(1, min(_paging(body.get("maxResults"), 50), cap))
    if store.flavour == "cloud":
        # The enhanced search pages with an opaque token; the emulator's token is the next start.
        token = body.get("nextPageToken")
        try:
            start = json.loads(base64.urlsafe_b64decode(token))["s"] if token else 0
        except (ValueError, KeyError, TypeError):
            return render.platform_error(400, "The nextPageToken is not valid.")
        window = issues[start : start + max_results]
        answer: dict[str, Any] = {
            "issues": [render.issue_bean(store, i, fields, base) for i in window],
            "isLast": start + len(window) >= len(issues),
        }
        if not answer["isLast"]:
            next_start = json.dumps({"s": start + len(window)}).encode()
            answer["nextPageToken"] = base64.urlsafe_b64encode(next_start).decode()
        return JSONResponse(answer)
    start = max(0, _paging(body.get("startAt"), 0))
    window = issues[start : start + max_results]
    return JSONResponse(
        {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": max_results,
            "total": len(issues),
            "issues": [render.issue_bean(store, i, fields, base) for i in window],
        }
    )


async def attachment_content(request: Request) -> Response:
    """The bytes of an attachment. Cloud's "Get attachment content" (`GET /rest/api/3/attachment/content/
    {id}`, Jira Cloud platform REST API v3, "Issue attachments") answers 303 to a media-service URL
    unless asked `redirect=false`; Data Center's attachment servlet sends the bytes."""
    store, base = context(request)
    _, attachment = found(store.attachment(request.path_params["id"]), "attachment")
    if request.url.path.startswith("/rest/api/3/") and request.query_params.get("redirect") != "false":
        return Response(status_code=303, headers={"Location": f"{base}{MEDIA}/{attachment.id}/binary"})
    return Response(
        attachment.content,
        headers={
            "Content-Type": attachment.mime_type,
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(attachment.filename)}",
        },
    )


def routes(flavour: str) -> list[Route]:
    api = "/rest/api/3" if flavour == "cloud" else "/rest/api/2"
    search_path = f"{api}/search/jql" if flavour == "cloud" else f"{api}/search"
    content = (
        Route(f"{api}/attachment/content/{{id}}", attachment_content)
        if flavour == "cloud"
        else Route("/secure/attachment/{id}/{name:path}", attachment_content)
    )
    return [
        Route(f"{api}/myself", myself),
        Route(f"{api}/serverInfo", server_info),
        Route(f"{api}/mypermissions", my_permissions),
        Route(f"{api}/user/search", user_search),
        Route(search_path, issue_search, methods=["GET", "POST"]),
        Route("/servicedesk/customershim/secure/attachment/{id}/{name:path}", attachment_content),
        Route(MEDIA + "/{id}/binary", attachment_content),
        content,
    ]
