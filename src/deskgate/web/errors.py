"""The one error boundary: exceptions become a page (or JSON) with an error id; detail goes to the log.

Each page says which of four kinds of trouble it is, because each asks something different of the reader:

    not found       404: nothing here (or nothing this visitor may see)      no error id: nobody needs it
    not allowed     403: a refused sign-in (denied.html), or another refusal  id, to look the refusal up
    sign-in failed  a LoginError: the IdP or a check stopped the sign-in     id, and "Try again" to /login
    server error    500 and other 5xx (JSM away: "Help desk unavailable")    id, to quote to the help desk
    (other)         what the visitor sent was refused (too large, too many)  id, as for the others

Every page carries the header of whoever is signed in (the customer on portal paths, the admin on
console paths), looked up in a way that can never make the error page fail in turn, and a way home
(the help center, or the console under /admin). The error id is the request's id when the request-id
middleware gave it one, so the log lines of the whole request and the page share one id.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.templating import Jinja2Templates

from deskgate.errors import DeskgateError, LoginDenied, LoginError, NotFound, new_error_id
from deskgate.jsm.errors import JsmError, JsmNotFound
from deskgate.portal.connection import JsmNotConnected
from deskgate.sessions.store import SessionRecord
from deskgate.web.context import WebContext

log = logging.getLogger("deskgate.web")

# An error page must answer even when the session store is what failed: the lookup of who is signed in
# gives up after this long and the page shows the signed-out header.
SESSION_LOOKUP_SECONDS = 1.0


def error_id_of(exc: BaseException, request: Request | None = None) -> str:
    """The id already given to this failure (e.g. by the audit log), else the request's id, else a new one."""
    existing = getattr(exc, "error_id", None)
    if isinstance(existing, str):
        return existing
    request_id = getattr(request.state, "request_id", None) if request is not None else None
    error_id = request_id if isinstance(request_id, str) and request_id else new_error_id()
    exc.error_id = error_id  # type: ignore[attr-defined]
    return error_id


def is_console(request: Request) -> bool:
    return request.url.path == "/admin" or request.url.path.startswith("/admin/")


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who sees the error page: the header's name and sign-out, and the CSRF token of that sign-out."""

    user: SessionRecord | None = None  # a customer, on portal paths
    admin: SessionRecord | None = None  # an admin, on console paths
    csrf_token: str | None = None
    csrf_cookie: str | None = None


def _web_context(request: Request) -> WebContext | None:
    """The running app's context; None before its start-up finished (or in a bare test app)."""
    found = getattr(request.app.state, "web", None) if "app" in request.scope else None
    return found if isinstance(found, WebContext) else None


async def viewer_of(request: Request) -> Viewer:
    """The signed-in customer or admin, as the other pages find them; a signed-out viewer when the
    lookup fails or takes too long (the store may be the very thing that broke)."""
    ctx = _web_context(request)
    if ctx is None:  # the app never started (or a bare test app): nobody can be signed in
        return Viewer()
    console = is_console(request)
    try:
        async with asyncio.timeout(SESSION_LOOKUP_SECONDS):
            if console:
                admin = await ctx.services.admin_sessions.resolve(request.cookies.get(ctx.cookies.admin))
                user = None
            else:
                user = await ctx.services.sessions.resolve(request.cookies.get(ctx.cookies.session))
                admin = None
        csrf = ctx.admin_csrf if console else ctx.csrf
        token, cookie = csrf.token(request)
    except Exception:
        log.warning("error page without the signed-in header: the session lookup failed", exc_info=True)
        return Viewer()
    return Viewer(user=user, admin=admin, csrf_token=token, csrf_cookie=cookie)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get(
        "accept", ""
    )


def _kind(exc: DeskgateError) -> dict[str, Any]:
    """The page's kind, title and "Try again" link: only a failed sign-in is a "Sign-in problem" that
    signing in again may cure; JSM being away is not, and leads back to the help center (a portal route
    offers "Try again" on the page itself: `web.portal.common`)."""
    if isinstance(exc, NotFound):
        return {"kind": "not_found", "title": "Page not found", "heading": "We cannot find that page"}
    if isinstance(exc, LoginError):
        return {
            "kind": "sign_in",
            "title": "Sign-in problem",
            "heading": "Sign-in failed",
            "retry_url": "/login",
        }
    if isinstance(exc, JsmError | JsmNotConnected) and not isinstance(exc, JsmNotFound):
        return {
            "kind": "server",
            "title": "Help desk unavailable",
            "heading": "The help desk cannot help right now",
        }
    if exc.status_code == 403:
        return {"kind": "not_allowed", "title": "Not allowed", "heading": "This is not allowed"}
    if exc.status_code >= 500:
        return {"kind": "server", "title": "Server error", "heading": "Something went wrong on our side"}
    return {"kind": "other", "title": "Something went wrong", "heading": "Something went wrong"}


def _home(request: Request) -> dict[str, str]:
    if is_console(request):
        return {"home_url": "/admin/", "home_label": "Back to the console"}
    return {"home_url": "/portal", "home_label": "Back to the help center"}


def error_response(
    templates: Jinja2Templates,
    request: Request,
    exc: DeskgateError,
    *,
    retry_url: str | None = None,
    viewer: Viewer | None = None,
) -> Response:
    """The page (or JSON) for a DeskgateError, its id logged with the operator's detail.

    Public so that a middleware refusing a request before any route runs (`web.body_limits`) answers with
    the very same page as the routes do. `retry_url` overrides the "Try again" link `_kind` picks;
    `viewer` (from `viewer_of`) puts the signed-in header on the page."""
    error_id = error_id_of(exc, request)
    level = logging.ERROR if exc.status_code >= 500 else logging.WARNING
    log.log(
        level,
        "error_id=%s %s %s: %s",
        error_id,
        request.method,
        request.url.path,
        exc.detail or type(exc).__name__,
    )
    if _wants_json(request):
        return JSONResponse({"error": exc.user_message, "error_id": error_id}, status_code=exc.status_code)
    viewer = viewer or Viewer()
    context: dict[str, Any] = {
        "message": exc.user_message,
        "user": viewer.user,
        "admin": viewer.admin,
        "csrf_token": viewer.csrf_token,
        "console": is_console(request),
        **_home(request),
    }
    if isinstance(exc, LoginDenied):
        # A refusal is a sign-in outcome the help desk may need to look up: it keeps its id.
        context |= {"error_id": error_id, "email": exc.email, "idp": exc.idp, "rule": exc.rule}
        return _render(templates, request, "denied.html", context, exc.status_code, viewer)
    kind = _kind(exc)
    context |= kind
    if retry_url is not None:
        context["retry_url"] = retry_url
    # The id wherever someone may quote it; a page that is simply not there needs none.
    if kind["kind"] != "not_found":
        context["error_id"] = error_id
    return _render(templates, request, "error.html", context, exc.status_code, viewer)


def _render(
    templates: Jinja2Templates,
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int,
    viewer: Viewer,
) -> Response:
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    ctx = _web_context(request)
    if viewer.csrf_cookie and ctx is not None:  # the page's sign-out form needs the CSRF cookie too
        (ctx.admin_csrf if is_console(request) else ctx.csrf).attach(response, viewer.csrf_cookie)
    return response


class ServerError(DeskgateError):
    """What an unexpected exception is shown as (its own detail stays in the log)."""

    user_message = "Something went wrong on our side. We have noted it; please try again later."


def install(app_templates: Jinja2Templates) -> dict[type[Exception] | int, object]:
    async def deskgate_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DeskgateError)
        return error_response(app_templates, request, exc, viewer=await viewer_of(request))

    async def unexpected(request: Request, exc: Exception) -> Response:
        error_id = error_id_of(exc, request)
        log.exception("error_id=%s unexpected failure on %s %s", error_id, request.method, request.url.path)
        shown = ServerError(f"{type(exc).__name__}, traceback logged above")
        shown.error_id = error_id  # type: ignore[attr-defined]
        return error_response(app_templates, request, shown, viewer=await viewer_of(request))

    async def not_found(request: Request, exc: Exception) -> Response:
        return await deskgate_error(request, NotFound(f"no route for {request.url.path}"))

    return {DeskgateError: deskgate_error, Exception: unexpected, 404: not_found}
