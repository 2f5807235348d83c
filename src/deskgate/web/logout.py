"""Sign-out, all three kinds: RP-initiated (/logout), front-channel (an IdP's iframe) and back-channel
(the IdP's server POSTs a logout token). SAML single logout lives in `web.saml_logout`; a SAML session's
sign-out here hands over to it."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from deskgate.audit import AuditEvent
from deskgate.errors import DeskgateError, LoginStateError, LogoutTokenRejected
from deskgate.identity.oidc.discovery import ProviderMetadata
from deskgate.identity.provider import ProviderConfig
from deskgate.login.frontchannel import FrontChannel
from deskgate.services import BACKCHANNEL_LOGOUT_PATH, FRONTCHANNEL_LOGOUT_PATH, POST_LOGOUT_PATH
from deskgate.web import saml_logout
from deskgate.web.context import WebContext, current_user, web
from deskgate.web.errors import error_id_of
from deskgate.web.security import NO_STORE, delete_cookie


async def logout_page(request: Request) -> Response:
    ctx = web(request)
    user = await current_user(request)
    token, cookie = ctx.csrf.token(request)
    response = ctx.render(request, "logout.html", {"user": user, "csrf_token": token})
    ctx.csrf.attach(response, cookie)
    return response


async def logout(request: Request) -> Response:
    """RP-initiated logout: end our session, then send the browser to the IdP's end_session_endpoint."""
    ctx = web(request)
    form = await request.form()
    if not ctx.csrf.valid(request, form.get("csrf_token")):
        raise LoginStateError(
            "csrf", "logout form without a valid CSRF token", user_message="Please try signing out again."
        )
    record = await ctx.services.sessions.end(request.cookies.get(ctx.cookies.session))
    target = ctx.services.settings.url(POST_LOGOUT_PATH)
    # The refusal page's "use another account" names the IdP that refused: its session there ends too, so
    # the next sign-in asks which account (the form's CSRF token keeps others from sending it).
    refused = form.get("idp")
    idp = refused if isinstance(refused, str) and refused else (record.idp if record else None)
    if record is not None:
        await ctx.services.audit.record(
            AuditEvent(
                event="logout.rp",
                outcome="success",
                idp=record.idp,
                subject=record.subject,
                email=record.email,
                client_ip=ctx.client_ip(request),
            )
        )
    if record is not None and (single_logout := await saml_logout.start(request, record)) is not None:
        delete_cookie(single_logout, ctx.cookies.session, https=ctx.https)  # the IdP's answer is not awaited
        return single_logout
    if idp is not None:
        try:
            party = await ctx.services.relying_party(idp)
            target = (
                await party.end_session_url(
                    id_token_hint=record.id_token if record is not None and record.idp == idp else None,
                    post_logout_redirect_uri=target,
                    state=secrets.token_urlsafe(16),
                )
                or target
            )
        except DeskgateError:
            pass  # the IdP is gone or unreachable: the local logout still stands
    response = RedirectResponse(target, status_code=303, headers=NO_STORE)
    delete_cookie(response, ctx.cookies.session, https=ctx.https)
    return response


async def logged_out(request: Request) -> Response:
    return web(request).render(request, "logged_out.html", {"user": None})


async def frontchannel_logout(request: Request) -> Response:
    """OIDC Front-Channel Logout: loaded by the IdP in a (sandboxed, third-party) iframe.

    The URL is public, so a request ends only the sessions it names in a way an outsider cannot forge;
    `deskgate.login.frontchannel` says what that is for each kind of IdP. The answer is the same page
    whatever ended: an IdP's iframe must never show an error.
    """
    ctx = web(request)

    async def metadata(config: ProviderConfig) -> ProviderMetadata:
        return await (await ctx.services.relying_party(config.name)).metadata()

    front = FrontChannel(ctx.services.providers, ctx.services.sessions, metadata)
    outcome = await front.logout(
        iss=request.query_params.get("iss"),
        sid=request.query_params.get("sid"),
        cookie=request.cookies.get(ctx.cookies.session),
    )
    for record in outcome.ended:
        await ctx.services.audit.record(
            AuditEvent(
                event="logout.frontchannel",
                outcome="success",
                idp=record.idp,
                subject=record.subject,
                email=record.email,
                client_ip=ctx.client_ip(request),
            )
        )
    response = ctx.render(request, "frontchannel.html", {"ended": len(outcome.ended)}, headers=NO_STORE)
    if outcome.cookie_session_ended:
        delete_cookie(response, ctx.cookies.session, https=ctx.https)
    return response


async def backchannel_logout(request: Request) -> Response:
    """OIDC Back-Channel Logout: 200 and sessions ended for a valid token; 400 and nothing ended otherwise."""
    ctx = web(request)
    form = await request.form()
    token = form.get("logout_token")
    try:
        if not isinstance(token, str) or not token:
            raise LogoutTokenRejected("logout_token.missing", "no logout_token in the request body")
        idp, claims = await _validate_for_some_provider(ctx, token)
        if not await ctx.services.logout_replay.first_use(claims["iss"], claims["jti"]):
            raise LogoutTokenRejected("logout_token.jti", "this logout token was already used")
    except LogoutTokenRejected as exc:
        await ctx.services.audit.record(
            AuditEvent(
                event="logout.backchannel",
                outcome="failure",
                client_ip=ctx.client_ip(request),
                error_id=error_id_of(exc),
                detail=str(exc),
            )
        )
        return JSONResponse(
            {"error": "invalid_request", "error_description": exc.check}, 400, headers=NO_STORE
        )
    ended = await ctx.services.sessions.end_matching(
        idp=idp, subject=claims.get("sub"), idp_session_id=claims.get("sid")
    )
    # A token may name the session by `sid` alone: the audit then takes the user from the sessions it
    # ended, one entry per user, so the log says whom the IdP signed out.
    users: dict[tuple[str | None, str | None], int] = {}
    for record in ended:
        users[record.subject, record.email] = users.get((record.subject, record.email), 0) + 1
    for (subject, email), count in (users or {(claims.get("sub"), None): 0}).items():
        await ctx.services.audit.record(
            AuditEvent(
                event="logout.backchannel",
                outcome="success",
                idp=idp,
                subject=subject,
                email=email,
                client_ip=ctx.client_ip(request),
                detail=f"sessions ended: {count}",
            )
        )
    return Response(status_code=200, headers=NO_STORE)


async def _validate_for_some_provider(ctx: WebContext, token: str) -> tuple[str, dict[str, Any]]:
    """Try each IdP whose issuer the token names (several clients may share an issuer)."""
    last: LogoutTokenRejected = LogoutTokenRejected(
        "logout_token.iss", "no configured identity provider issued it"
    )
    for config in await ctx.services.providers.enabled():
        if config.protocol != "oidc":
            continue
        party = await ctx.services.relying_party(config.name)
        try:
            return config.name, await party.validate_logout_token(token)
        except LogoutTokenRejected as exc:
            last = exc if exc.check != "logout_token.iss" else last
        except DeskgateError as exc:
            last = LogoutTokenRejected("logout_token.provider", str(exc))
    raise last


routes = [
    Route("/logout", logout_page, methods=["GET"]),
    Route("/logout", logout, methods=["POST"]),
    Route(POST_LOGOUT_PATH, logged_out),
    Route(FRONTCHANNEL_LOGOUT_PATH, frontchannel_logout),
    Route(BACKCHANNEL_LOGOUT_PATH, backchannel_logout, methods=["POST"]),
    *saml_logout.routes,
]
