"""What every portal route shares: the signed-in customer (or the way to sign-in), the desk gate, CSRF,
and how a customer's words are attributed in JSM.

Every portal route starts with `customer(request)`: without a session a page redirects to `/login` with the
whole URL kept in `next`, an API route answers 401. The JSM customer is provisioned here on the first visit
when the sign-in did not do it already.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from deskgate.errors import DeskgateError, NotFound
from deskgate.jsm import JsmClient, JsmRateLimited, JsmUnavailable
from deskgate.jsm.models import ServiceDesk
from deskgate.portal.connection import JsmNotConnected
from deskgate.portal.page_budget import PageTimeout, page_budget
from deskgate.portal.provisioning import CustomerLink
from deskgate.sessions.store import SessionRecord
from deskgate.web.context import WebContext, current_user, web
from deskgate.web.errors import error_id_of, viewer_of
from deskgate.web.security import NO_STORE

log = logging.getLogger("deskgate.web.portal")
MAX_FILE_BYTES = 10 * 1024 * 1024  # per attachment; JSM Cloud's own default limit is far higher
MAX_FILES = 5
PAGE_SIZE = 20
_ATTRIBUTION = re.compile(r"\A(?P<name>[^\n]{1,300}) \((?P<email>[^\s()]{1,320})\) wrote:\n\n")


class SignInRequired(DeskgateError):
    """Raised by `customer()`; turned into a redirect (pages) or a 401 (API) by `guarded`."""

    status_code = 401
    user_message = "Please sign in."


class CsrfRefused(DeskgateError):
    status_code = 403
    user_message = "This form has expired. Please reload the page and send it again."


@dataclass(frozen=True, slots=True)
class Visitor:
    """A signed-in person and the JSM customer they act as."""

    session: SessionRecord
    link: CustomerLink
    ctx: WebContext

    async def client(self) -> JsmClient:
        """The JSM client for what this visitor waits on: it gives up within the page budget (a write it
        cannot finish now is left to the outbox, whose worker is patient)."""
        return await self.ctx.services.jsm_clients.page()


def sign_in_redirect(request: Request) -> Response:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": here}), status_code=303, headers=NO_STORE)


def sign_in_answer(request: Request, *, api: bool) -> Response:
    if api:
        return JSONResponse({"error": "not signed in"}, status_code=401, headers=NO_STORE)
    return sign_in_redirect(request)


async def visitor(request: Request, desk_id: str | None = None) -> Visitor:
    """The signed-in customer (provisioned, and added to `desk_id` when given); SignInRequired if none."""
    session = await current_user(request)
    if session is None:
        raise SignInRequired("portal visit without a session")
    ctx = web(request)
    link = await ctx.services.customers.customer_for(session, desk_id)
    request.state.time_zone = await ctx.services.preferences.time_zone(session.idp, session.subject)
    return Visitor(session, link, ctx)


async def open_desk(ctx: WebContext, desk_id: str) -> ServiceDesk:
    """The desk, if it exists and has SSO on; NotFound otherwise (a disabled desk looks like no desk)."""
    if not desk_id.isdigit() or not (await ctx.services.desks.get(desk_id)).sso_enabled:
        raise NotFound(f"service desk {desk_id!r} unknown or SSO off", user_message="No such help center.")
    try:
        return await ctx.services.catalogue.service_desk(desk_id)
    except NotFound as exc:
        raise NotFound(str(exc), user_message="No such help center.") from None


def check_csrf(ctx: WebContext, request: Request, submitted: object) -> None:
    if not ctx.csrf.valid(request, submitted):
        raise CsrfRefused(f"{request.method} {request.url.path} without a valid CSRF token")


def render_with_csrf(
    ctx: WebContext, request: Request, template: str, context: dict[str, object], *, status_code: int = 200
) -> Response:
    token, cookie = ctx.csrf.token(request)
    response = ctx.render(
        request, template, {**context, "csrf_token": token}, status_code=status_code, headers=NO_STORE
    )
    ctx.csrf.attach(response, cookie)
    return response


def csrf_refused(request: Request, refused: CsrfRefused, *, user: SessionRecord | None = None) -> Response:
    """The error page, with "try again" leading back to the form (not to sign-in, as for login errors)."""
    error_id = error_id_of(refused, request)
    log.warning("error_id=%s %s", error_id, refused.detail)
    form_page = re.sub(r"/(?:comment|share|leave|transition)$", "", request.url.path)
    return web(request).render(
        request,
        "error.html",
        {"error_id": error_id, "message": refused.user_message, "retry_url": form_page, "user": user},
        status_code=refused.status_code,
        headers=NO_STORE,
    )


def attributed(session: SessionRecord, link: CustomerLink, body: str) -> str:
    """The comment as the service account posts it: visibly the customer's words in JSM."""
    name = " ".join((session.display_name or link.display_name or link.email).split())[:300]
    email = (session.email or link.email).strip()
    return f"{name} ({email}) wrote:\n\n{body}"


def unattributed(body: str) -> tuple[str | None, str]:
    """(the customer's name, their words) for a comment Deskgate posted; (None, body) for any other."""
    match = _ATTRIBUTION.match(body)
    if match is None:
        return None, body
    return match.group("name"), body[match.end() :]


def _unavailable_heading(exc: DeskgateError) -> str:
    if isinstance(exc, PageTimeout):
        return "The help desk is answering too slowly"
    if isinstance(exc, JsmRateLimited):
        return "The help desk is busy"
    if isinstance(exc, JsmNotConnected):
        return "The help desk is not connected"
    return "The help desk cannot be reached"


def help_desk_unavailable(
    request: Request, exc: DeskgateError, *, api: bool, user: SessionRecord | None = None
) -> Response:
    """JSM slow, busy or away: a page that says so, with "Try again" on this very page (the form page
    for a form that was sent) and the way to the help center; signing in again would not help."""
    error_id = error_id_of(exc, request)
    log.warning("error_id=%s %s %s: %s", error_id, request.method, request.url.path, exc.detail)
    if api:
        body = {"error": exc.user_message, "error_id": error_id}
        return JSONResponse(body, status_code=exc.status_code, headers=NO_STORE)
    if request.method in ("GET", "HEAD"):
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:
        here = request.url.path.removesuffix("/comment")
    context = {
        "title": "Help desk unavailable",
        "heading": _unavailable_heading(exc),
        "message": exc.user_message,
        "error_id": error_id,
        "retry_url": here,
        "home_url": "/portal",
        "kind": "server",
        "user": user,  # the signed-in header, as on every page
    }
    return web(request).render(request, "error.html", context, status_code=exc.status_code, headers=NO_STORE)


Handler = Callable[[Request], Awaitable[Response]]


def guarded(*, api: bool = False) -> Callable[[Handler], Handler]:
    """Routes wrapped here answer a visitor without a session with sign-in (page) or 401 (API), and
    answer in time whatever JSM does: a page (GET) runs within `page_budget_seconds`, and JSM being
    slow, busy or away becomes a page saying so (`help_desk_unavailable`).

    Only reads get the hard deadline: a form that was sent is not cut off half-way through storing
    it; its JSM calls give up quickly on their own (`Visitor.client`)."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def route(request: Request) -> Response:
            try:
                if request.method not in ("GET", "HEAD"):
                    return await handler(request)
                async with page_budget(web(request).services.settings.page_budget_seconds):
                    return await handler(request)
            except SignInRequired:
                return sign_in_answer(request, api=api)
            except CsrfRefused as refused:
                return csrf_refused(request, refused, user=(await viewer_of(request)).user)
            except (JsmUnavailable, JsmNotConnected) as unavailable:
                user = None if api else (await viewer_of(request)).user
                return help_desk_unavailable(request, unavailable, api=api, user=user)

        return route

    return wrap
