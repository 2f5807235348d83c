"""Admin sign-in, sign-out and the first-admin setup link, and the admin session they start (the one
`console.require_admin` looks for before it opens any console page).

Admin sessions live in their own table behind their own cookie, so a customer session never opens a
console page. Every form carries a CSRF token; failed sign-ins are audited (never the password) and
slowed down per (client address, user name) by `deskgate.admin.throttle`, so that a stranger elsewhere
cannot lock the real admin out.

An admin may also sign in through an IdP whose configuration carries `admin_access` (`admin_idp_signin`);
it ends in the same `start_admin_session`.
"""

from __future__ import annotations

import math
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deskgate.admin.accounts import AdminAccountError
from deskgate.admin.setup import LOG_LINE_START, SETUP_LIFETIME
from deskgate.audit import AuditEvent
from deskgate.web.console import LOGIN_PATH, csrf_refused, form_page, safe_admin_next, see_other
from deskgate.web.context import WebContext, web
from deskgate.web.security import NO_STORE, delete_cookie, set_cookie

WRONG = "Wrong user name or password."


def throttled_message(wait: timedelta) -> str:
    """What a refused sign-in is told: when it may try again (the Retry-After header says it to machines)."""
    seconds = math.ceil(wait.total_seconds())
    if seconds < 60:
        when = f"{seconds} second{'s' if seconds != 1 else ''}"
    else:
        minutes = math.ceil(seconds / 60)
        when = f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"Too many failed sign-ins with this name. Please try again in {when}."


async def start_admin_session(
    request: Request, ctx: WebContext, username: str, response: Response
) -> Response:
    """`response`, carrying a new admin session for `username` (SameSite=Strict cookie)."""
    # A brand-new session id at every sign-in, and the one the browser brought (if any) ended: rotation.
    # The console's CSRF tokens are bound to the session, so the ones minted before this no longer hold.
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
    """The sign-in page: the password form, and a button for each IdP allowed for admin sign-in. Before
    the first admin exists (the guard sends /admin here) it says where the setup link is, and how else
    to create an admin, unless an IdP admits admins, which needs no account."""
    services = web(request).services
    providers = await services.providers.live()  # a draft admits no one, admins included
    idps = [p for p in providers if p.admin_access is not None]
    first_admin = not idps and not await services.admins.any_exist()
    context = {
        "next": next_url,
        "username": username,
        "message": message,
        "idps": idps,
        "first_admin": first_admin,
        "log_line": LOG_LINE_START,
        "lifetime_hours": int(SETUP_LIFETIME.total_seconds() // 3600),
    }
    return form_page(request, "admin/login.html", context, status_code=status_code)


async def login_page(request: Request) -> Response:
    return await _login_form(request, safe_admin_next(request.query_params.get("next")), "", None)


async def login(request: Request) -> Response:
    ctx = web(request)
    form = await request.form()
    if not ctx.admin_csrf.valid(request, form.get("csrf_token")):
        return csrf_refused(request)
    username = str(form.get("username", "")).strip()[:64]
    password = str(form.get("password", ""))
    next_url = safe_admin_next(form.get("next"))
    ip = ctx.client_ip(request) or "-"
    services = ctx.services
    # Admitted first, and counted as a failure until the password proves right: a pair in its backoff
    # gets no password check at all, however many requests it sends at once.
    wait = await services.admin_throttle.admit(ip, username)
    if wait:
        message, status = throttled_message(wait), 429
    elif await services.admins.verify(username, password):
        await services.admin_throttle.succeeded(ip, username)
        await services.audit.record(
            AuditEvent(event="admin.login", outcome="success", subject=username, client_ip=ip)
        )
        return await _signed_in(request, ctx, username, next_url)
    else:
        await services.admin_throttle.failed(ip, username)
        message, status = WRONG, 401
    await services.audit.record(
        AuditEvent(
            event="admin.login", outcome="refused", subject=username or None, client_ip=ip, detail=message
        )
    )
    response = await _login_form(request, next_url, username, message, status_code=status)
    if wait:
        response.headers["Retry-After"] = str(math.ceil(wait.total_seconds()))
    return response


async def logout(request: Request) -> Response:
    ctx = web(request)
    form = await request.form()
    if not ctx.admin_csrf.valid(request, form.get("csrf_token")):
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


# What a setup link that no longer works says, by why it does not (`AdminSetup.state`).
DEAD_LINKS = {
    "used": (
        "This setup link was already used",
        "Setup is done: an admin account exists, and a setup link works only until the first admin is created.",
    ),
    "expired": (
        "This setup link has expired",
        f"A setup link works for {SETUP_LIFETIME.total_seconds() // 3600:.0f} hours after Deskgate wrote it to its log.",
    ),
    "unknown": (
        "This setup link is not valid",
        "Deskgate never issued this link: check that you copied the whole line from the log.",
    ),
}


def _dead_link(request: Request, mode: str) -> Response:
    """setup.html without its form: why the link is dead (`mode` "used", "expired", "unknown")."""
    heading, message = DEAD_LINKS[mode]
    context = {
        "mode": mode,
        "heading": heading,
        "message": message,
        "log_line": LOG_LINE_START,
        "lifetime_hours": int(SETUP_LIFETIME.total_seconds() // 3600),
        "error_id": None,
    }
    return web(request).render(request, "admin/setup.html", context, status_code=404, headers=NO_STORE)


async def setup_page(request: Request) -> Response:
    state = await web(request).services.admin_setup.state(request.path_params["token"])
    if state != "usable":
        return _dead_link(request, state)
    return form_page(request, "admin/setup.html", {"mode": "form", "username": "", "message": None})


async def setup(request: Request) -> Response:
    ctx = web(request)
    form = await request.form()
    if not ctx.admin_csrf.valid(request, form.get("csrf_token")):
        return csrf_refused(request)
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    if password != str(form.get("password_again", "")):
        context = {"mode": "form", "username": username, "message": "The two passwords differ."}
        return form_page(request, "admin/setup.html", context, status_code=400)
    try:
        account = await ctx.services.admin_setup.redeem(request.path_params["token"], username, password)
    except AdminAccountError as exc:
        context = {"mode": "form", "username": username, "message": exc.user_message}
        return form_page(request, "admin/setup.html", context, status_code=400)
    if account is None:
        state = await ctx.services.admin_setup.state(request.path_params["token"])
        return _dead_link(request, state)
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
