"""What a customer does on a request's page besides commenting: share it, stop taking part, move it along
one of the customer transitions JSM offers; and what the page shows of them (transitions, approvals).

Every action is a POST with a CSRF token, authorized through `AuthorizedRequest` (404 for anyone who
may not see the request), rate-limited like a comment, and audited with the customer's identity. Sharing
always answers the same words, whether or not the address belongs to a customer of the desk.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from deskgate.audit import AuditEvent
from deskgate.portal.access import AuthorizedRequest
from deskgate.portal.ratelimit import CustomerLimits, RateLimited
from deskgate.web.portal.common import Visitor, attributed, check_csrf, guarded, visitor
from deskgate.web.portal.request_page import detail, granted_request
from deskgate.web.security import NO_STORE

MAX_EMAIL = 254
MAX_COMMENT = 32_767


async def _checked(request: Request) -> tuple[Visitor, FormData, AuthorizedRequest]:
    """The visitor, their form (CSRF checked) and the capability for the request the path names."""
    who = await visitor(request)
    form = await request.form(max_files=0, max_fields=10)
    check_csrf(who.ctx, request, form.get("csrf_token"))
    granted = await granted_request(who, str(request.path_params["key"]))
    return who, form, granted


async def _limited(who: Visitor) -> RateLimited | None:
    try:
        limits = CustomerLimits.from_settings(who.ctx.services.settings, who.ctx.services.db)
        await limits.take(who.session.idp, who.session.subject, comments=1)
    except RateLimited as limited:
        return limited
    return None


async def _audit(who: Visitor, event: str, detail: str) -> None:
    await who.ctx.services.audit.record(
        AuditEvent(
            event=event,
            outcome="success",
            idp=who.session.idp,
            subject=who.session.subject,
            email=who.session.email or who.link.email,
            detail=detail,
        )
    )


def _back(granted: AuthorizedRequest, notice: str, anchor: str = "sharing") -> Response:
    url = f"/portal/requests/{granted.key}?notice={quote(notice)}#{anchor}"
    return RedirectResponse(url, 303, headers=NO_STORE)


async def _refused(
    request: Request, who: Visitor, limited: RateLimited, granted: AuthorizedRequest
) -> Response:
    """The page again, saying so, with 429 and when to retry (as for a comment)."""
    response = await detail(
        request, who, str(granted.key), errors={"actions": limited.user_message}, status_code=429
    )
    response.headers.update(limited.headers)
    return response


@guarded()
async def share(request: Request) -> Response:
    who, form, granted = await _checked(request)
    email = " ".join(str(form.get("email") or "").split())
    if not email or len(email) > MAX_EMAIL or "@" not in email:
        return _back(granted, "share-invalid")
    limited = await _limited(who)
    if limited is not None:
        return await _refused(request, who, limited, granted)
    await granted.share_with(email)
    # Never whether anyone was added: only that the request was shared "if" the address is a customer's.
    await _audit(who, "portal.share", f"{granted.key}: shared with the address {email[:MAX_EMAIL]}")
    return _back(granted, "shared")


@guarded()
async def leave(request: Request) -> Response:
    who, _, granted = await _checked(request)
    if not granted.is_participant:
        return _back(granted, "not-participant")
    limited = await _limited(who)
    if limited is not None:
        return await _refused(request, who, limited, granted)
    await granted.leave()
    await _audit(who, "portal.leave", f"{granted.key}: no longer a participant")
    return RedirectResponse("/portal/requests?notice=left", 303, headers=NO_STORE)


@guarded()
async def transition(request: Request) -> Response:
    who, form, granted = await _checked(request)
    wanted = str(form.get("transition") or "")
    comment = str(form.get("comment") or "").replace("\r\n", "\n").strip()
    if len(comment) > MAX_COMMENT:
        return _back(granted, "comment-too-long", "actions")
    limited = await _limited(who)
    if limited is not None:
        return await _refused(request, who, limited, granted)
    text = attributed(who.session, who.link, comment) if comment else ""
    done = await granted.transition(wanted, text)
    await _audit(who, "portal.transition", f"{granted.key}: {done.name} (transition {done.id})")
    return _back(granted, "moved", "actions")
