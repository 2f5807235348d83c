"""The customer's writes that JSM does not have yet: cancel or retry them, and the pending comments of a page.

Each write is the customer's own (the outbox is read and changed only with the session's idp and
subject), every form carries a CSRF token, and a cancel deletes only what JSM surely does not have
(`SubmissionOutbox.cancel`). After either action the customer goes back to the page they came from: the
list, or the request page of a comment (a path Deskgate builds, never one taken from the form).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from deskgate.portal.submissions import Submissions, SubmissionStatus, customer_message
from deskgate.web.portal.common import Visitor, check_csrf, guarded, visitor
from deskgate.web.security import NO_STORE


def pending_views(pending: list[SubmissionStatus]) -> list[dict[str, Any]]:
    """What a page shows of each pending write: its content, its state, and what may be done with it."""
    return [
        {
            "id": p.id,
            "comment_on": p.issue_key if p.kind == "comment" else None,
            "text": p.summary,
            "files": p.file_names,
            "state": p.state,
            "failed": p.state == "failed",
            "message": customer_message(p.last_error) if p.state == "failed" else "",
            "cancellable": p.cancellable,
            "created": p.created_at,
        }
        for p in pending
    ]


async def pending_comments(who: Visitor, issue_key: str) -> list[dict[str, Any]]:
    outbox = Submissions(who.ctx.services.db, await who.client())
    found = await outbox.pending_for(
        who.session.idp, who.session.subject, kind="comment", issue_key=issue_key
    )
    return pending_views(list(reversed(found)))  # oldest first, as comments are


async def _act(request: Request, action: str) -> Response:
    who = await visitor(request)
    form = await request.form(max_files=0, max_fields=5)
    check_csrf(who.ctx, request, form.get("csrf_token"))
    outbox = Submissions(who.ctx.services.db, await who.client())
    wanted = str(request.path_params["submission_id"])[:64]
    mine = {p.id: p for p in await outbox.pending_for(who.session.idp, who.session.subject)}
    found = mine.get(wanted)
    done = False
    if found is not None:
        act = outbox.cancel if action == "cancel" else outbox.retry
        done = await act(wanted, who.session.idp, who.session.subject)
    notice = {"cancel": "cancelled", "retry": "retried"}[action] if done else f"not-{action}"
    if found is not None and found.kind == "comment" and found.issue_key:
        where = f"/portal/requests/{quote(found.issue_key, safe='')}?{urlencode({'notice': notice})}#comments"
    else:
        where = f"/portal/requests?{urlencode({'notice': notice})}"
    return RedirectResponse(where, 303, headers=NO_STORE)


@guarded()
async def cancel(request: Request) -> Response:
    return await _act(request, "cancel")


@guarded()
async def retry(request: Request) -> Response:
    return await _act(request, "retry")
