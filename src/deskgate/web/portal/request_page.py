"""One request's page (and its JSON): the request as JSM shows it, its activity, who it is shared with,
the customer transitions JSM offers, and its approvals.

Nothing about the request is shown before `authorize_request` granted it (reporter or participant, else
404) on JSM's current answer and its desk was found open; the page's reads wait for that check, except for
a request this customer was granted within the last minute, whose reads leave with it (`authorize_and_read`:
one JSM round trip) and are dropped when it fails. Values are shown as JSM renders them (`deskgate.portal.rich_text`):
its HTML made safe, or the text with its shape kept; files through Deskgate's own attachment route, each
comment's with that comment.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from deskgate.errors import NotFound
from deskgate.jsm import JsmError
from deskgate.jsm.models import Attachment, Comment, CustomerRequest, RequestFieldValue
from deskgate.jsm.request_actions import Approval, Transition
from deskgate.portal import rich_text
from deskgate.portal.access import AuthorizedRequest, RequestReads, authorize_and_read, authorize_request
from deskgate.web.portal.common import (
    MAX_FILE_BYTES,
    Visitor,
    guarded,
    open_desk,
    render_with_csrf,
    unattributed,
    visitor,
)
from deskgate.web.portal.pending import pending_comments
from deskgate.web.security import NO_STORE


async def actions_and_approvals(
    granted: RequestReads,
) -> tuple[tuple[Transition, ...], tuple[Approval, ...]]:
    """The transitions JSM offers and the approvals, for the page; a JSM error on either leaves it out
    (the page still shows the request) and is logged."""
    offered, approvals = await asyncio.gather(
        granted.transitions(), granted.approvals(), return_exceptions=True
    )
    if isinstance(offered, JsmError):
        log.warning("%s: transitions not shown: %s", granted.key, offered)
        offered = ()
    if isinstance(approvals, JsmError):
        log.warning("%s: approvals not shown: %s", granted.key, approvals)
        approvals = ()
    if isinstance(offered, BaseException):
        raise offered
    if isinstance(approvals, BaseException):
        raise approvals
    return offered, approvals


log = logging.getLogger(__name__)
T = TypeVar("T")
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


async def granted_request(who: Visitor, ref: str) -> AuthorizedRequest:
    """The capability for `ref`, once the customer's right to it and its desk's SSO were checked."""
    granted = await authorize_request(await who.client(), who.link, ref)
    await _desk_open(who, granted.request)
    return granted


async def granted_with(
    who: Visitor, ref: str, reads: Callable[[RequestReads], Awaitable[T]]
) -> tuple[AuthorizedRequest, T]:
    """`granted_request` and the page's `reads`: one JSM round trip for a request opened lately."""
    client = await who.client()
    granted, read = await authorize_and_read(client, who.link, ref, reads, who.ctx.services.recent_grants)
    await _desk_open(who, granted.request)
    return granted, read


async def _desk_open(who: Visitor, found: CustomerRequest) -> None:
    if found.service_desk_id is not None:
        try:
            await open_desk(who.ctx, found.service_desk_id)
        except NotFound:
            raise NotFound(
                f"{found.issue_key}: its desk has SSO off", user_message="We could not find this request."
            ) from None


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


def file_view(key: str, attachment: Attachment) -> dict[str, Any]:
    kind = attachment.mime_type.split(";", 1)[0].strip().lower()
    return {
        "id": attachment.id,
        "filename": attachment.filename,
        "size": attachment.size,
        "url": f"/portal/requests/{key}/attachments/{attachment.id}",
        "image": kind in IMAGE_TYPES,
    }


def comment_view(
    comment: Comment, service_account_id: str, shown: set[str], key: str, site: str
) -> dict[str, Any]:
    """A comment for the page: its author by name (the customer's own name for what Deskgate posted),
    its body as JSM renders it, and the files it carries that the customer may see."""
    if comment.author_id == service_account_id:
        name, text = unattributed(comment.body)
        # Deskgate's own comment: the customer's text after the attribution, never JSM's HTML of both.
        body = rich_text.plain(text) if name else _rendered_or_plain(comment.rendered_body, text, site)
    else:
        name, text = None, comment.body
        body = _rendered_or_plain(comment.rendered_body, text, site)
    files = [file_view(key, a) for a in comment.attachments if a.id in shown]
    return {
        "author": name or comment.author_name,
        "body": body,
        "text": text,
        "created": comment.created,
        "files": files,
    }


def _rendered_or_plain(rendered_html: str, text: str, site: str) -> Markup:
    return rich_text.rendered(rendered_html, site) if rendered_html.strip() else rich_text.plain(text)


def field_view(value: RequestFieldValue, site: str) -> dict[str, Any]:
    """A request value: a date-time as a moment, else JSM's rendered HTML, else the text's shape."""
    if rich_text.is_datetime(value.value_text):
        return {"label": value.label, "moment": value.value_text}
    return {"label": value.label, "html": _rendered_or_plain(value.rendered_html, value.value_text, site)}


async def detail(
    request: Request,
    who: Visitor,
    ref: str,
    *,
    errors: dict[str, str] | None = None,
    comment: str = "",
    status_code: int = 200,
) -> Response:
    async def reads(
        of: RequestReads,
    ) -> tuple[
        tuple[tuple[Comment, ...], tuple[Attachment, ...]],
        tuple[tuple[Transition, ...], tuple[Approval, ...]],
    ]:
        return await asyncio.gather(of.comments_and_files(), actions_and_approvals(of))

    (granted, ((comments, shown), (offered, approvals))), account = await asyncio.gather(
        granted_with(who, ref, reads), _service_account_id(request, who)
    )
    key, site = granted.request.issue_key, (await who.client()).connection.site_url
    pending = await pending_comments(who, key)
    visible = {a.id for a in shown}
    # A comment JSM made only to carry files has no text: its files are listed with the request's.
    views = [comment_view(c, account, visible, key, site) for c in comments if c.body.strip()]
    carried = {f["id"] for v in views for f in v["files"]}
    loose = [file_view(key, a) for a in shown if a.id not in carried]
    fields = [
        field_view(v, site) for v in granted.request.field_values if v.field_id != "summary" and v.value_text
    ]
    return render_with_csrf(
        who.ctx,
        request,
        "portal/request.html",
        {
            "user": who.session,
            "request_": granted.request,
            "fields": fields,
            "comments": views,
            "attachments": loose,
            "participants": granted.participants,
            "is_participant": granted.is_participant,
            "is_reporter": granted.request.reporter.user_id == who.link.jsm_user_id,
            "transitions": offered,
            "approvals": approvals,
            "errors": errors or {},
            "comment": comment,
            "created": request.query_params.get("created") == "1",
            "pending_comments": pending,
            "notice": request.query_params.get("notice"),
            "max_mb": MAX_FILE_BYTES / 1_048_576,
        },
        status_code=status_code,
    )


@guarded()
async def request_page(request: Request) -> Response:
    who = await visitor(request)
    return await detail(request, who, str(request.path_params["key"]))


@guarded(api=True)
async def request_json(request: Request) -> Response:
    """The request as JSON, for scripts and the portal's own pages; same rule, same 404."""
    who = await visitor(request)

    async def reads(of: RequestReads) -> tuple[tuple[Comment, ...], tuple[Attachment, ...]]:
        return await of.comments_and_files()

    (granted, (comments, shown)), account = await asyncio.gather(
        granted_with(who, str(request.path_params["key"]), reads), _service_account_id(request, who)
    )
    found = granted.request
    views = []
    for c in comments:
        if not c.body.strip():
            continue
        name, text = unattributed(c.body) if c.author_id == account else (None, c.body)
        views.append({"author": name or c.author_name, "body": text, "created": c.created.isoformat()})
    return JSONResponse(
        {
            "key": found.issue_key,
            "id": found.issue_id,
            "summary": found.summary,
            "status": found.status.name,
            "comments": views,
            "attachments": [{"id": a.id, "filename": a.filename, "size": a.size} for a in shown],
            "participants": [p.display_name for p in granted.participants],
        },
        headers=NO_STORE,
    )
