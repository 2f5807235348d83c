"""Adding a comment to a request, and attachment downloads (the request's page: `request_page`).

Every route that names a request gets an `AuthorizedRequest` from `authorize_request` first (reporter or
participant, else 404), checks that the request's desk has SSO on, and then reads and writes only through
that capability: nothing about a request is asked of JSM before the check passed. Attachments: a customer
is shown and served only what `visible_attachments` allows; any other file id answers 404 like a
stranger's, and content is fetched by attachment id, never by a URL from JSM's answer.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from deskgate.portal.ratelimit import CustomerLimits, RateLimited
from deskgate.portal.submissions import Submissions, Submitter
from deskgate.web.portal.common import (
    MAX_FILE_BYTES,
    attributed,
    check_csrf,
    guarded,
    visitor,
)
from deskgate.web.portal.request_page import detail, granted_request
from deskgate.web.portal.uploads import read_uploads
from deskgate.web.security import NO_STORE

MAX_COMMENT = 32_767
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._ ()-]")


@guarded()
async def add_comment(request: Request) -> Response:
    who = await visitor(request)
    ref = str(request.path_params["key"])
    form = await request.form(max_files=6, max_fields=20)
    try:
        check_csrf(who.ctx, request, form.get("csrf_token"))
        granted = await granted_request(who, ref)
        body = str(form.get("body") or "").replace("\r\n", "\n").strip()
        files = [f for f in form.getlist("attachment") if isinstance(f, UploadFile) and f.filename]
        uploads, problem = await read_uploads(files)
        if problem is None and not body:
            problem = "Write a comment first."
        if problem is None and len(body) > MAX_COMMENT:
            problem = f"A comment holds at most {MAX_COMMENT:,} characters."
        if problem is not None:
            return await detail(request, who, ref, errors={"body": problem}, comment=body, status_code=400)
        try:  # the comment and its files, before any of it is sent to JSM
            limits = CustomerLimits.from_settings(who.ctx.services.settings, who.ctx.services.db)
            await limits.take(who.session.idp, who.session.subject, comments=1, files=len(uploads))
        except RateLimited as limited:
            refused = await detail(
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
    granted = await granted_request(who, ref)
    # A file the customer may not see is "not found", exactly like one of another request.
    found, content = await granted.open_file(wanted)
    headers = {
        **NO_STORE,
        "Content-Disposition": content_disposition(found.filename),
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(content.iter_bytes(), media_type=served_type(found.mime_type), headers=headers)
