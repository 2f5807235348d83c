"""What every console page is built from: the `admin_only` guard (and `admin_form` for a route that takes a
form), CSRF-carrying pages and checked forms, the audit record of a change, storing a changed IdP, and the
ways on to another console page (`see_other`, and `continue_page` after a round trip through an IdP).

Sign-in itself, and the admin session the guard looks for, are `admin_auth`'s.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import parse_qsl, quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from deskgate.audit import AuditEvent
from deskgate.changes import Change, model_changes
from deskgate.identity.provider import ProviderConfig
from deskgate.sessions.store import SessionRecord
from deskgate.web.context import web
from deskgate.web.security import NO_STORE

# The sign-in page (`admin_auth`): where the guard sends anyone without an admin session.
LOGIN_PATH = "/admin/login"


def safe_admin_next(value: object) -> str:
    """Only a console path: never another site, never a customer page."""
    if isinstance(value, str) and value.startswith("/admin/") and not value.startswith("/admin//"):
        return value if "\\" not in value else "/admin/"
    return "/admin/"


def see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


async def require_admin(request: Request) -> SessionRecord | Response:
    """The signed-in admin's session, or the redirect to the sign-in page."""
    ctx = web(request)
    record = await ctx.services.admin_sessions.resolve(request.cookies.get(ctx.cookies.admin))
    if record is not None:
        return record
    return see_other(f"{LOGIN_PATH}?next={quote(request.url.path, safe='/')}")


AdminHandler = Callable[[Request, SessionRecord], Awaitable[Response]]


def admin_only(handler: AdminHandler) -> Callable[[Request], Awaitable[Response]]:
    """An admin route: the handler gets the signed-in admin's session; anyone else goes to the sign-in page."""

    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        admin = await require_admin(request)
        if isinstance(admin, Response):
            return admin
        request.state.admin = admin  # the console layout shows who is signed in
        return await handler(request, admin)

    return guarded


FormHandler = Callable[[Request, SessionRecord, Mapping[str, str]], Awaitable[Response]]


def admin_form(handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
    """An admin route that receives a form: the handler gets its fields once the CSRF token is checked."""

    @functools.wraps(handler)
    async def checked(request: Request, admin: SessionRecord) -> Response:
        form = await checked_form(request)
        if isinstance(form, Response):
            return form
        return await handler(request, admin, form)

    return admin_only(checked)


def form_page(
    request: Request, template: str, context: Mapping[str, object], *, status_code: int = 200
) -> Response:
    """A console page with a CSRF token for its forms (and the layout's sign-out button)."""
    ctx = web(request)
    token, cookie = ctx.admin_csrf.token(request)
    admin = getattr(request.state, "admin", None)
    response = ctx.render(
        request,
        template,
        {"admin": admin, **context, "csrf_token": token},
        status_code=status_code,
        headers=NO_STORE,
    )
    ctx.admin_csrf.attach(response, cookie)
    return response


async def checked_form(request: Request) -> Mapping[str, str] | Response:
    """The POSTed form's text fields, or the refusal page when its CSRF token is not valid."""
    form = await request.form()
    if not web(request).admin_csrf.valid(request, form.get("csrf_token")):
        return csrf_refused(request)
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def audit_change(
    request: Request,
    admin: SessionRecord,
    event: str,
    *,
    detail: str,
    idp: str | None = None,
    changes: list[Change] | None = None,
) -> None:
    """Who changed what: every console change is audited as `event` with the admin as subject, and a
    configuration change with what it changed (before → after, secrets masked)."""
    ctx = web(request)
    await ctx.services.audit.record(
        AuditEvent(
            event=event,
            outcome="success",
            idp=idp,
            subject=admin.subject,
            client_ip=ctx.client_ip(request),
            detail=f"{detail} by {admin.subject}",
            changes=changes or None,
        )
    )


async def route_idp(request: Request) -> ProviderConfig:
    """The IdP the route's `{name}` names; an unknown one raises `NotFound` (the 404 page)."""
    return await web(request).services.providers.get(request.path_params["name"])


async def save_idp(
    request: Request, admin: SessionRecord, config: ProviderConfig, event: str, *, detail: str, then: str
) -> Response:
    """Store a changed IdP through `Services.save_provider` (as config import does: saved disabled, its
    customer sessions end), audit it as `event` with how many ended, and send the browser on to the
    console page `then`."""
    services = web(request).services
    before = next((c for c in await services.providers.all() if c.name == config.name), None)
    ended = await services.save_provider(config)
    if not config.enabled:
        detail = f"{detail}; {sessions_ended(ended)}"
    changes = model_changes(before, config)
    await audit_change(request, admin, event, idp=config.name, detail=detail, changes=changes)
    return see_other(then)


def sessions_ended(count: int) -> str:
    """How an audit record says that turning an IdP off ended its customers' sessions."""
    return f"{count} customer session{'' if count == 1 else 's'} ended"


def continue_page(request: Request, target: str, message: str) -> Response:
    """A page of ours that moves on to a console page (by script, or with a button without it).

    Browsers count a redirect chain that began at the IdP's site as cross-site, so a 303 straight to a
    console page would arrive without the SameSite=Strict admin cookie. A navigation this page starts is
    same-site and carries it.
    """
    parts = urlsplit(safe_admin_next(target))
    context = {"action": parts.path, "fields": parse_qsl(parts.query), "message": message}
    return web(request).render(request, "admin/continue.html", context, headers=NO_STORE)


def csrf_refused(request: Request) -> Response:
    """The console's "not allowed" page for a form without a valid token (no error id: nothing to look up)."""
    context = {
        "kind": "not_allowed",
        "title": "Form expired",
        "heading": "This form has expired",
        "message": "The form had expired. Please go back, reload the page and try again.",
        "console": True,
        "home_url": "/admin/",
        "home_label": "Back to the console",
    }
    return web(request).render(request, "error.html", context, status_code=403, headers=NO_STORE)
