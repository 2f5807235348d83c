"""My requests, one request's page, adding a comment, and attachment downloads.

Every route that names a request gets an `AuthorizedRequest` from `authorize_request` first (reporter or
participant, else 404), checks that the request's desk has SSO on, and then reads and writes only through
that capability: nothing about a request is asked of JSM before the check passed. Attachments: a customer
is shown and served only what `visible_attachments` allows; any other file id answers 404 like a
stranger's, and content is fetched by attachment id, never by a URL from JSM's answer.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from deskgate.errors import NotFound
from deskgate.jsm import JsmUnavailable
from deskgate.jsm.models import Attachment, Comment, Customer, CustomerRequest, Page, StatusFilter
from deskgate.portal.access import AuthorizedRequest, authorize_request
from deskgate.portal.page_budget import within_share
from deskgate.portal.ratelimit import CustomerLimits, RateLimited
from deskgate.portal.submissions import Submissions, Submitter
from deskgate.web.portal.common import (
    MAX_FILE_BYTES,
    PAGE_SIZE,
    Visitor,
    attributed,
    check_csrf,
    guarded,
    open_desk,
    render_with_csrf,
    unattributed,
    visitor,
)
from deskgate.web.portal.pending import pending_comments, pending_views
from deskgate.web.portal.uploads import read_uploads
from deskgate.web.security import NO_STORE

MAX_COMMENT = 32_767
_STATUSES: tuple[StatusFilter, ...] = ("open", "closed", "all")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._ ()-]")


async def _usable_desks(who: Visitor) -> list[Any]:
    services = who.ctx.services
    desks, settings = await asyncio.gather(services.catalogue.service_desks(), services.desks.all())
    return [d for d in desks if settings.get(d.id) is None or settings[d.id].sso_enabled]


async def _nothing() -> None:
    return None


def _start(request: Request) -> int:
    raw = request.query_params.get("start", "0")
    return min(int(raw), 10_000) if raw.isdigit() else 0


@guarded()
async def my_requests(request: Request) -> Response:
    who = await visitor(request)
    desks = await _usable_desks(who)
    wanted = request.query_params.get("desk")
    desk = next((d for d in desks if d.id == wanted), None)
    desk = desk or next((d for d in desks if d.id in who.link.desks), None) or (desks[0] if desks else None)
    status_param = request.query_params.get("status", "all")
    status: StatusFilter = next((s for s in _STATUSES if s == status_param), "all")
    text = " ".join(request.query_params.get("q", "").split())[:200]
    start = _start(request)
    client = await who.client()
    outbox = Submissions(who.ctx.services.db, client)
    page: Page[CustomerRequest] | None = None
    jsm_down = False
    searching = within_share(  # a slow search must leave time to show the pending submissions
        client.search_customer_requests(
            desk.project_key, who.link.jsm_user_id, status, text or None, start, PAGE_SIZE
        )
        if desk is not None
        else _nothing()
    )
    found, pending = await asyncio.gather(
        searching, outbox.pending_for(who.session.idp, who.session.subject), return_exceptions=True
    )
    if isinstance(pending, BaseException):
        raise pending
    if isinstance(found, JsmUnavailable):
        # JSM is away: the pending submissions (kept by Deskgate) are still worth showing.
        jsm_down = True
    elif isinstance(found, BaseException):
        raise found
    else:
        page = found
    return render_with_csrf(
        who.ctx,
        request,
        "portal/requests.html",
        {
            "user": who.session,
            "desks": desks,
            "desk": desk,
            "page": page,
            "pending": pending if start == 0 else [],
            "pending_views": pending_views(pending if start == 0 else []),
            "status": status,
            "q": text,
            "start": start,
            "page_size": PAGE_SIZE,
            "notice": request.query_params.get("notice"),
            "jsm_down": jsm_down,
        },
    )


async def _authorized(
    request: Request, who: Visitor, ref: str
) -> tuple[CustomerRequest, list[dict[str, Any]], tuple[Attachment, ...], tuple[Customer, ...]]:
    """The request and what its page shows; NotFound unless this customer may see it. The attachments
    are those the customer may see (`visible_attachments`), told apart with the comments' own files."""
    granted = await _granted(who, ref)
    (comments, shown), account = await asyncio.gather(
        granted.comments_and_files(), _service_account_id(request, who)
    )
    # A comment JSM made only to carry files has no text: its files are listed with the others.
    views = [_comment_view(c, account) for c in comments if c.body.strip()]
    return granted.request, views, shown, granted.participants


async def _granted(who: Visitor, ref: str) -> AuthorizedRequest:
    """The capability for `ref`, once the customer's right to it and its desk's SSO were checked."""
    granted = await authorize_request(await who.client(), who.link, ref)
    await _desk_open(who, granted.request)
    return granted


async def _service_account_id(request: Request, who: Visitor) -> str:
    """Who Deskgate posts as, asked once per site and process: only its comments carry an attribution
    to strip (an agent's comment that happens to start like one is shown as the agent wrote it)."""
    client = await who.client()
    known: dict[str, str] | None = getattr(request.app.state, "portal_service_accounts", None)
    if known is None:
        known = request.app.state.portal_service_accounts = {}
    site = client.connection.site_url
    if site not in known:
        known[site] = (await client.myself()).user_id
    return known[site]


async def _desk_open(who: Visitor, found: CustomerRequest) -> None:
    if found.service_desk_id is not None:
        try:
            await open_desk(who.ctx, found.service_desk_id)
        except NotFound:
            raise NotFound(
                f"{found.issue_key}: its desk has SSO off", user_message="We could not find this request."
            ) from None


def _comment_view(comment: Comment, service_account_id: str) -> dict[str, Any]:
    name, body = (
        unattributed(comment.body) if comment.author_id == service_account_id else (None, comment.body)
    )
    return {"author": name or comment.author_name, "body": body, "created": comment.created}


async def _detail(
    request: Request,
    who: Visitor,
    ref: str,
    *,
    errors: dict[str, str] | None = None,
    comment: str = "",
    status_code: int = 200,
) -> Response:
    found, comments, attachments, participants = await _authorized(request, who, ref)
    return render_with_csrf(
        who.ctx,
        request,
        "portal/request.html",
        {
            "user": who.session,
            "request_": found,
            "comments": comments,
            "attachments": attachments,
            "participants": participants,
            "errors": errors or {},
            "comment": comment,
            "created": request.query_params.get("created") == "1",
            "pending_comments": await pending_comments(who, found.issue_key),
            "notice": request.query_params.get("notice"),
            "max_mb": MAX_FILE_BYTES / 1_048_576,
        },
        status_code=status_code,
    )


@guarded()
async def request_page(request: Request) -> Response:
    who = await visitor(request)
    return await _detail(request, who, str(request.path_params["key"]))


@guarded()
async def add_comment(request: Request) -> Response:
    who = await visitor(request)
    ref = str(request.path_params["key"])
    form = await request.form(max_files=6, max_fields=20)
    try:
        check_csrf(who.ctx, request, form.get("csrf_token"))
        granted = await _granted(who, ref)
        body = str(form.get("body") or "").replace("\r\n", "\n").strip()
        files = [f for f in form.getlist("attachment") if isinstance(f, UploadFile) and f.filename]
        uploads, problem = await read_uploads(files)
        if problem is None and not body:
            problem = "Write a comment first."
        if problem is None and len(body) > MAX_COMMENT:
            problem = f"A comment holds at most {MAX_COMMENT:,} characters."
        if problem is not None:
            return await _detail(request, who, ref, errors={"body": problem}, comment=body, status_code=400)
        try:  # the comment and its files, before any of it is sent to JSM
            limits = CustomerLimits.from_settings(who.ctx.services.settings, who.ctx.services.db)
            await limits.take(who.session.idp, who.session.subject, comments=1, files=len(uploads))
        except RateLimited as limited:
            refused = await _detail(
                request, who, ref, errors={"body": limited.user_message}, comment=body, status_code=429
            )
            refused.headers.update(limited.headers)
            return refused
        # Stored before JSM is called, for this authorized request only; delivered like a new request.
        outbox = Submissions(who.ctx.services.db, await who.client())
        submitter = Submitter(who.session.idp, who.session.subject, who.link.jsm_user_id)
        desk, text = granted.request.service_desk_id or "", attributed(who.session, who.link, body)
        stored = await outbox.submit_comment(
            submitter, str(granted.key), desk, body, text, uploads, max_file_bytes=MAX_FILE_BYTES
        )
    finally:
        await form.close()
    await outbox.attempt(stored)  # a healthy JSM has it at once; otherwise it is shown as pending
    return RedirectResponse(f"/portal/requests/{granted.key}#comments", 303, headers=NO_STORE)


# Types a browser may show as they are; anything else downloads as bytes, so that a file a customer
# uploads (HTML, SVG, XML…) can never run as a page of Deskgate's origin.
SAFE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "application/pdf", "text/plain"}
)


def served_type(mime_type: str) -> str:
    """The Content-Type a download is served with: the file's own for a safe type, else octet-stream."""
    kind = mime_type.split(";", 1)[0].strip().lower()
    if kind == "text/plain":
        return "text/plain; charset=utf-8"
    return kind if kind in SAFE_TYPES else "application/octet-stream"


def content_disposition(filename: str) -> str:
    """`attachment`, with an ASCII fallback name and the exact name in RFC 5987 form."""
    fallback = _UNSAFE_FILENAME.sub("_", filename).strip(" .") or "attachment"
    return f"attachment; filename=\"{fallback[:150]}\"; filename*=UTF-8''{quote(filename[:255], safe='')}"


@guarded()
async def download(request: Request) -> Response:
    who = await visitor(request)
    ref, wanted = str(request.path_params["key"]), str(request.path_params["attachment_id"])
    granted = await _granted(who, ref)
    # A file the customer may not see is "not found", exactly like one of another request.
    found, content = await granted.open_file(wanted)
    headers = {
        **NO_STORE,
        "Content-Disposition": content_disposition(found.filename),
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(content.iter_bytes(), media_type=served_type(found.mime_type), headers=headers)


@guarded(api=True)
async def request_json(request: Request) -> Response:
    """The request as JSON, for scripts and the portal's own pages; same rule, same 404."""
    who = await visitor(request)
    found, comments, attachments, participants = await _authorized(
        request, who, str(request.path_params["key"])
    )
    return JSONResponse(
        {
            "key": found.issue_key,
            "id": found.issue_id,
            "summary": found.summary,
            "status": found.status.name,
            "comments": [{**c, "created": c["created"].isoformat()} for c in comments],
            "attachments": [{"id": a.id, "filename": a.filename, "size": a.size} for a in attachments],
            "participants": [p.display_name for p in participants],
        },
        headers=NO_STORE,
    )
