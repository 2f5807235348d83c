"""The one error boundary: exceptions become a page (or JSON) with an error id; detail goes to the log."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.templating import Jinja2Templates

from deskgate.errors import DeskgateError, LoginDenied, LoginError, NotFound, new_error_id
from deskgate.jsm.errors import JsmError, JsmNotFound
from deskgate.portal.connection import JsmNotConnected

log = logging.getLogger("deskgate.web")


def error_id_of(exc: BaseException) -> str:
    """The id already given to this failure (e.g. by the audit log), or a new one."""
    existing = getattr(exc, "error_id", None)
    if isinstance(existing, str):
        return existing
    error_id = new_error_id()
    exc.error_id = error_id  # type: ignore[attr-defined]
    return error_id


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get(
        "accept", ""
    )


def _way_back(exc: DeskgateError) -> dict[str, str | None]:
    """What the page is titled and where its links lead, by the kind of failure: only a failed sign-in
    is a "Sign-in problem" that signing in again may cure; JSM being away is not, and leads back to the
    help center (a portal route offers "Try again" on the page itself: `web.portal.common`)."""
    if isinstance(exc, LoginError):
        return {"title": "Sign-in problem", "retry_url": "/login"}
    if isinstance(exc, JsmError | JsmNotConnected) and not isinstance(exc, JsmNotFound):
        return {
            "title": "Help desk unavailable",
            "heading": "The help desk cannot help right now",
            "home_url": "/portal",
        }
    return {}


def error_response(
    templates: Jinja2Templates, request: Request, exc: DeskgateError, *, retry_url: str | None = None
) -> Response:
    """The page (or JSON) for a DeskgateError, its id logged with the operator's detail.

    Public so that a middleware refusing a request before any route runs (`web.body_limits`) answers with
    the very same page as the routes do. `retry_url` overrides the "Try again" link `_way_back` picks."""
    error_id = error_id_of(exc)
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
    context = {"error_id": error_id, "message": exc.user_message, "user": None}
    if isinstance(exc, LoginDenied):
        context["email"] = getattr(exc, "email", None)
        context["rule"] = exc.rule
        return templates.TemplateResponse(request, "denied.html", context, status_code=exc.status_code)
    context.update(_way_back(exc))
    if retry_url is not None:
        context["retry_url"] = retry_url
    if isinstance(exc, NotFound):
        context["retry_url"] = None
    return templates.TemplateResponse(request, "error.html", context, status_code=exc.status_code)


def install(app_templates: Jinja2Templates) -> dict[type[Exception] | int, object]:
    async def deskgate_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DeskgateError)
        return error_response(app_templates, request, exc)

    async def unexpected(request: Request, exc: Exception) -> Response:
        error_id = error_id_of(exc)
        log.exception("error_id=%s unexpected failure on %s %s", error_id, request.method, request.url.path)
        context = {
            "error_id": error_id,
            "message": "Something went wrong on our side.",
            "user": None,
            "retry_url": None,
        }
        if _wants_json(request):
            return JSONResponse({"error": context["message"], "error_id": error_id}, status_code=500)
        return app_templates.TemplateResponse(request, "error.html", context, status_code=500)

    async def not_found(request: Request, exc: Exception) -> Response:
        return await deskgate_error(request, NotFound(f"no route for {request.url.path}"))

    return {DeskgateError: deskgate_error, Exception: unexpected, 404: not_found}
