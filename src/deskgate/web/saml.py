"""SAML routes, thin: the SP's metadata, the start of a sign-in, and the ACS. The checks live in
`deskgate.identity.saml`; what follows a verified assertion is the same pipeline as OIDC's."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from deskgate.audit import AuditEvent
from deskgate.errors import DeskgateError, LoginDenied, LoginError, LoginStateError, NotFound, audit_detail
from deskgate.identity.oidc.client import LoginResult
from deskgate.identity.provider import ProviderConfig
from deskgate.identity.saml import authn, metadata
from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.replay import AssertionLedger
from deskgate.identity.saml.response import Expected, accept, decode
from deskgate.identity.saml.settings import SamlIdpSettings, ServiceProvider
from deskgate.identity.saml.xml import parse
from deskgate.login.pipeline import LoginContext
from deskgate.login.states import PendingLogin
from deskgate.security.redirects import safe_next
from deskgate.web import admin_idp_signin, connection_test
from deskgate.web.context import web
from deskgate.web.errors import error_id_of
from deskgate.web.login_redirect import send_to_idp
from deskgate.web.security import NO_STORE, delete_cookie, set_cookie

RESUBMITTED = "deskgate_resubmitted"


async def saml_idp(request: Request, name: str) -> tuple[ProviderConfig, SamlIdpSettings, ServiceProvider]:
    """An enabled SAML IdP by name (drafts included: the pending sign-in says what it is for)."""
    services = web(request).services
    config = next((c for c in await services.providers.enabled() if c.name == name), None)
    if config is None or config.protocol != "saml" or config.saml is None:
        raise NotFound(f"no enabled SAML IdP named {name!r}", user_message="Unknown sign-in method.")
    return config, config.saml, ServiceProvider.for_idp(services.settings.base_url, name)


async def sp_metadata(request: Request) -> Response:
    _, settings, sp = await saml_idp(request, request.path_params["idp"])
    keys = await web(request).services.saml_keys.published()
    return Response(metadata.sp_metadata(sp, settings, keys), media_type="application/samlmetadata+xml")


async def begin(request: Request, idp: str, *, purpose: str, next_url: str) -> Response:
    """Send the browser to the IdP with an AuthnRequest; its id waits in this browser's pending sign-in."""
    if purpose not in ("login", "test", "admin"):
        raise NotFound(f"{purpose} sign-in through SAML is not available", user_message="Not available yet.")
    ctx = web(request)
    config, settings, sp = await saml_idp(request, idp)
    if not config.live and purpose != "test":  # a draft is tested before it goes live
        raise NotFound(f"SAML IdP {idp!r} is a draft", user_message="Unknown sign-in method.")
    relay_state = secrets.token_urlsafe(32)
    signing_key = (await ctx.services.saml_keys.current()).private_key if settings.sign_requests else None
    sent = authn.redirect(sp, settings, relay_state, signing_key=signing_key)
    pending = PendingLogin(
        idp=idp, purpose=purpose, nonce=sent.request_id, code_verifier=None, next_url=next_url
    )
    return await send_to_idp(ctx, relay_state, pending, sent.url)


async def login(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    return await begin(request, request.path_params["idp"], purpose="login", next_url=next_url)


async def acs(request: Request) -> Response:
    """The checklist: browser binding → RelayState → this IdP → the assertion's checks → IdP still live →
    single use → pipeline → session → redirect."""
    ctx = web(request)
    name = request.path_params["idp"]
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    # A response answering no request is IdP-initiated: no pending sign-in, no binding cookie to wait for.
    # (Only the route is chosen from the unverified message; `accept` checks the signed copy again.)
    unsolicited = _answers_no_request(form.get("SAMLResponse", ""))
    if not unsolicited and request.cookies.get(ctx.cookies.login) is None and RESUBMITTED not in form:
        # The IdP's POST is cross-site, so the SameSite=Lax binding cookie stayed behind: post it again
        # from our own page. Nothing is consumed here.
        fields = {k: form[k] for k in ("SAMLResponse", "RelayState") if k in form} | {RESUBMITTED: "1"}
        return ctx.render(
            request, "resubmit.html", {"action": request.url.path, "fields": fields}, headers=NO_STORE
        )
    purpose = "login"
    try:
        request_id: str | None = None
        if not unsolicited:
            pending = await ctx.services.login_states.take(
                form.get("RelayState"), request.cookies.get(ctx.cookies.login)
            )
            if pending.idp != name:
                raise LoginStateError("idp", f"the sign-in began at {pending.idp}, the answer came to {name}")
            request_id, purpose = pending.nonce, pending.purpose
        config, settings, sp = await saml_idp(request, name)
        # IdP-initiated: the configured landing page, never the RelayState (anyone's link could set it)
        next_url = pending.next_url if request_id is not None else settings.idp_initiated_landing
        now = datetime.now(UTC)
        keys = tuple(k.private_key for k in await ctx.services.saml_keys.published())
        skew = timedelta(seconds=config.clock_skew_seconds)
        expected = Expected(sp, settings, request_id, now, skew, decryption_keys=keys)
        accepted = accept(form.get("SAMLResponse", ""), name, expected)
        if purpose == "test":  # an admin's test sign-in: its result is shown, no session is made
            await AssertionLedger(ctx.services.db).spend(
                name, accepted.assertion_id, until=accepted.remember_until
            )
            return await connection_test.finish_saml(request, config, accepted.claims)
        if not config.live:
            raise LoginDenied(
                "idp_disabled", f"{name} was turned off or is a draft", subject=accepted.claims.subject
            )
        if purpose == "admin":  # an admin session if the IdP's admin rule admits the user, never a customer's
            await AssertionLedger(ctx.services.db).spend(
                name, accepted.assertion_id, until=accepted.remember_until
            )
            result = LoginResult(claims=accepted.claims, id_token=None)
            return await admin_idp_signin.finish(request, config, result, next_url)
        await AssertionLedger(ctx.services.db).spend(
            name, accepted.assertion_id, until=accepted.remember_until
        )
        # One commit for the sign-in, as the OIDC callback's: the session, its audit record and the last
        # look at the blocks (`sessions.blocks`).
        async with ctx.services.db.begin() as db:
            login_ctx = await ctx.services.pipeline.run(
                LoginContext(
                    config,
                    accepted.claims,
                    accepted.name_id.to_json(),  # kept with the session for single logout (`saml_logout`)
                    next_url=next_url,
                    client_ip=ctx.client_ip(request),
                    user_agent=request.headers.get("user-agent"),
                    db=db,
                )
            )
            assert login_ctx.session_id and login_ctx.session
            await ctx.services.audit.stage(
                db,
                AuditEvent(
                    event="login",
                    outcome="success",
                    idp=name,
                    subject=login_ctx.session.subject,
                    email=login_ctx.session.email,
                    client_ip=ctx.client_ip(request),
                    detail="idp_initiated" if unsolicited else None,
                ),
            )
    except (LoginError, LoginDenied) as exc:
        if purpose == "test":
            return await connection_test.saml_failed(request, name, exc)
        if purpose == "admin":
            return await admin_idp_signin.saml_failed(request, name, exc)
        if isinstance(exc, LoginDenied):
            exc.idp = name
        await _audit_failure(request, name, exc, idp_initiated=unsolicited)
        raise
    response = RedirectResponse(next_url, status_code=303, headers=NO_STORE)
    await ctx.services.sessions.end(request.cookies.get(ctx.cookies.session))  # rotation at sign-in
    set_cookie(response, ctx.cookies.session, login_ctx.session_id, https=ctx.https)
    delete_cookie(response, ctx.cookies.login, https=ctx.https)
    return response


def _answers_no_request(encoded: str) -> bool:
    try:
        return parse(decode(encoded), what="SAML response").get("InResponseTo") is None
    except SamlRejected:
        return False  # the checklist refuses it, with the pending sign-in's context


async def _audit_failure(request: Request, idp: str, exc: DeskgateError, *, idp_initiated: bool) -> None:
    ctx = web(request)
    outcome, detail = ("refused" if isinstance(exc, LoginDenied) else "failure"), audit_detail(exc)
    if idp_initiated:
        detail = f"idp_initiated: {detail}"
    await ctx.services.audit.record(
        AuditEvent(
            event="login",
            outcome=outcome,
            idp=idp,
            subject=getattr(exc, "subject", None),
            email=getattr(exc, "email", None),
            client_ip=ctx.client_ip(request),
            error_id=error_id_of(exc, request),
            detail=detail,
        )
    )


routes = [
    Route("/saml/{idp}/metadata", sp_metadata),
    Route("/saml/{idp}/login", login),
    Route("/saml/{idp}/acs", acs, methods=["POST"]),
]
