"""The end of an admin sign-in through an IdP: the callback hands over here when the purpose is "admin".

The sign-in starts at /admin/login (`admin.idp_sign_in`, only for an IdP whose configuration carries
`admin_access`) and runs through the customers' callback with its usual checks (state, browser binding,
ID token). Here the IdP's admin rule alone decides (`login.admin_access.admit`), and the result is an
admin session exactly as a password sign-in gets — never a customer session.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from deskgate.audit import AuditEvent
from deskgate.errors import DeskgateError, LoginDenied, audit_detail
from deskgate.identity.oidc.client import LoginResult
from deskgate.identity.provider import ProviderConfig
from deskgate.login.admin_access import admin_subject, admit
from deskgate.web.admin_auth import start_admin_session
from deskgate.web.console import LOGIN_PATH, continue_page
from deskgate.web.context import web
from deskgate.web.errors import error_id_of
from deskgate.web.security import NO_STORE, delete_cookie

log = logging.getLogger("deskgate.web")


async def finish(request: Request, config: ProviderConfig, result: LoginResult, next_url: str) -> Response:
    """An admin session when the IdP's admin rule admits the user.

    `admit` raises `AdminAccessDenied` naming the rule otherwise; the callback audits that as a refused
    ``admin.login`` and shows `failed`.
    """
    ctx = web(request)
    user = admit(config, result.claims)
    subject = admin_subject(config, user, result.claims)
    await ctx.services.audit.record(
        AuditEvent(
            event="admin.login",
            outcome="success",
            idp=config.name,
            subject=subject,
            email=user.email,
            client_ip=ctx.client_ip(request),
            detail=f"through {config.name}",
        )
    )
    response = await start_admin_session(
        request, ctx, subject, continue_page(request, next_url, "You are signed in. Opening the console…")
    )
    delete_cookie(response, ctx.cookies.login, https=ctx.https)
    return response


async def saml_failed(request: Request, idp: str, exc: DeskgateError) -> Response:
    """A failed or refused admin sign-in through a SAML IdP: audited as ``admin.login`` (the OIDC
    callback audits its own), then `failed`'s page."""
    ctx = web(request)
    refused = isinstance(exc, LoginDenied)
    await ctx.services.audit.record(
        AuditEvent(
            event="admin.login",
            outcome="refused" if refused else "failure",
            idp=idp,
            subject=getattr(exc, "subject", None),
            client_ip=ctx.client_ip(request),
            error_id=error_id_of(exc, request),
            detail=audit_detail(exc),
        )
    )
    return failed(request, exc)


def failed(request: Request, exc: DeskgateError) -> Response:
    """The error page of a failed or refused admin sign-in: it leads back to the admin sign-in page."""
    error_id = error_id_of(exc, request)
    log.warning("error_id=%s admin sign-in through an IdP failed: %s", error_id, exc.detail)
    context = {
        "kind": "sign_in",
        "title": "Admin sign-in problem",
        "heading": "Admin sign-in not completed",
        "message": exc.user_message,
        "error_id": error_id,
        "retry_url": LOGIN_PATH,
        "console": True,  # the callback's path is the customers', the page is the console's
    }
    return web(request).render(request, "error.html", context, status_code=exc.status_code, headers=NO_STORE)
