"""Admin sign-in, sign-out and the first-admin setup link; `require_admin` guards every console page.

Admin sessions live in their own table behind their own cookie, so a customer session never opens a
console page. Every form carries a CSRF token; failed sign-ins are audited (never the password) and
throttled per user name and per client address.

An admin may also sign in through an IdP whose configuration carries `admin_access` (`admin_idp_signin`);
it ends in the same `start_admin_session`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import parse_qsl, quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from deskgate.admin.accounts import AdminAccountError
from deskgate.audit import AuditEvent
from deskgate.identity.provider import ProviderConfig
from deskgate.sessions.store import SessionRecord
from deskgate.web.context import WebContext, web
from deskgate.web.security import NO_STORE, delete_cookie, set_cookie

LOGIN_PATH = "/admin/login"
WRONG = "Wrong user name or password."
THROTTLED = "Too many failed sign-ins. Please wait a few minutes and try again."


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
    token, cookie = ctx.csrf.token(request)
    admin = getattr(request.state, "admin", None)
    response = ctx.render(
        request,
        template,
        {"admin": admin, **context, "csrf_token": token},
        status_code=status_code,
        headers=NO_STORE,
    )
    ctx.csrf.attach(response, cookie)
    return response


async def checked_form(request: Request) -> Mapping[str, str] | Response:
    """The POSTed form's text fields, or the refusal page when its CSRF token is not valid."""
    form = await request.form()
    if not web(request).csrf.valid(request, form.get("csrf_token")):
        return csrf_refused(request)
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def audit_change(
    request: Request, admin: SessionRecord, event: str, *, detail: str, idp: str | None = None
) -> None:
    """Who changed what: every console change is audited as `event` with the admin as subject."""
    ctx = web(request)
    await ctx.services.audit.record(
        AuditEvent(
            event=event,
            outcome="success",
            idp=idp,
            subject=admin.subject,
            client_ip=ctx.client_ip(request),
            detail=f"{detail} by {admin.subject}",
        )
    )


async def route_idp(request: Request) -> ProviderConfig:
    """The IdP the route's `{name}` names; an unknown one raises `NotFound` (the 404 page)."""
    return await web(request).services.providers.get(request.path_params["name"])


async def save_idp(
    request: Request, admin: SessionRecord, config: ProviderConfig, event: str, *, detail: str, then: str
) -> Response:
    """Store a changed IdP through `ProviderRegistry` (as the CLI and config import do), audit it as
    `event`, and send the browser on to the console page `then`."""
    await web(request).services.providers.save(config)
    await audit_change(request, admin, event, idp=config.name, detail=detail)
    return see_other(then)


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
    message = "The form had expired. Please go back, reload the page and try again."
    return web(request).render(
        request, "error.html", {"message": message, "error_id": "-"}, status_code=403, headers=NO_STORE
    )


async def start_admin_session(
    request: Request, ctx: WebContext, username: str, response: Response
) -> Response:
    """`response`, carrying a new admin session for `username` (SameSite=Strict cookie)."""
    # A brand-new session id at every sign-in, and the one the browser brought (if any) ended: rotation.
    await ctx.services.admin_sessions.end(request.cookies.get(ctx.cookies.admin))
    session_id, _ = await ctx.services.admin_sessions.start(
        idp="deskgate-admin", subject=username, email=None, display_name=username, attributes={}
    )
    set_cookie(response, ctx.cookies.admin, session_id, https=ctx.https, samesite="strict")
    return response


async def _signed_in(request: Request, ctx: WebContext, username: str, next_url: str) -> Response:
    return await start_admin_session(request, ctx, username, see_other(next_url))


async def _login_form(
    request: Request, next_url: str, username: str, message: str | None, *, status_code: int = 200
) -> Response:
    """The sign-in page: the password form, and a button for each IdP allowed for admin sign-in."""
    providers = await web(request).services.providers.enabled()
    context = {
        "next": next_url,
        "username": username,
        "message": message,
        "idps": [p for p in providers if p.admin_access is not None],
    }
    return form_page(request, "admin/login.html", context, status_code=status_code)


async def login_page(request: Request) -> Response:
    return await _login_form(request, safe_admin_next(request.query_params.get("next")), "", None)


async def login(request: Request) -> Response:
    ctx = web(request)
    form = await request.form()
    if not ctx.csrf.valid(request, form.get("csrf_token")):
        return csrf_refused(request)
    username = str(form.get("username", "")).strip()[:64]
    password = str(form.get("password", ""))
    next_url = safe_admin_next(form.get("next"))
    ip = ctx.client_ip(request) or "-"
    services = ctx.services
    # The audit records below are the throttle's memory: every worker sees the same failures.
    if await services.admin_throttle.blocked(username, ip):
        outcome, message, status = "refused", THROTTLED, 429
    elif await services.admins.verify(username, password):
        await services.audit.record(
            AuditEvent(event="admin.login", outcome="success", subject=username, client_ip=ip)
        )
        return await _signed_in(request, ctx, username, next_url)
    else:
        outcome, message, status = "refused", WRONG, 401
    await services.audit.record(
        AuditEvent(
            event="admin.login", outcome=outcome, subject=username or None, client_ip=ip, detail=message
        )
    )
    return await _login_form(request, next_url, username, message, status_code=status)


async def logout(request: Request) -> Response:
    ctx = web(request)
    form = await request.form()
    if not ctx.csrf.valid(request, form.get("csrf_token")):
        return csrf_refused(request)
    record = await ctx.services.admin_sessions.end(request.cookies.get(ctx.cookies.admin))
    if record is not None:
        await ctx.services.audit.record(
            AuditEvent(
                event="admin.logout",
                outcome="success",
                subject=record.subject,
                client_ip=ctx.client_ip(request),
            )
        )
    response = see_other(LOGIN_PATH)
    delete_cookie(response, ctx.cookies.admin, https=ctx.https)
    return response


def _dead_link(request: Request) -> Response:
    message = "This setup link is no longer valid: an admin exists already, or the link has expired."
    return web(request).render(
        request,
        "error.html",
        {"heading": "Setup link not valid", "message": message, "error_id": "-"},
        status_code=404,
        headers=NO_STORE,
    )


async def setup_page(request: Request) -> Response:
    if not await web(request).services.admin_setup.usable(request.path_params["token"]):
        return _dead_link(request)
    return form_page(request, "admin/setup.html", {"username": "", "message": None})


async def setup(request: Request) -> Response:
    ctx = web(request)
    form = await request.form()
    if not ctx.csrf.valid(request, form.get("csrf_token")):
        return csrf_refused(request)
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    if password != str(form.get("password_again", "")):
        context = {"username": username, "message": "The two passwords differ."}
        return form_page(request, "admin/setup.html", context, status_code=400)
    try:
        account = await ctx.services.admin_setup.redeem(request.path_params["token"], username, password)
    except AdminAccountError as exc:
        context = {"username": username, "message": exc.user_message}
        return form_page(request, "admin/setup.html", context, status_code=400)
    if account is None:
        return _dead_link(request)
    await ctx.services.audit.record(
        AuditEvent(
            event="admin.setup", outcome="success", subject=account.username, client_ip=ctx.client_ip(request)
        )
    )
    return await _signed_in(request, ctx, account.username, "/admin/")


routes = [
    Route(LOGIN_PATH, login_page, methods=["GET"]),
    Route(LOGIN_PATH, login, methods=["POST"]),
    Route("/admin/logout", logout, methods=["POST"]),
    Route("/admin/setup/{token}", setup_page, methods=["GET"]),
    Route("/admin/setup/{token}", setup, methods=["POST"]),
]
