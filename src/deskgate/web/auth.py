"""Customer sign-in routes: /login, the callback, /account, /me; sign-out lives in `web.logout`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from deskgate.audit import AuditEvent
from deskgate.errors import (
    DeskgateError,
    IdpReturnedError,
    LoginDenied,
    LoginError,
    LoginStateError,
    NotFound,
    audit_detail,
)
from deskgate.identity.provider import ProviderConfig
from deskgate.login.page import LoginPageSettings, email_domain
from deskgate.login.pipeline import LoginContext
from deskgate.login.states import PendingLogin
from deskgate.security.redirects import safe_next
from deskgate.services import (
    CALLBACK_PATH,
)
from deskgate.sessions.store import SessionRecord
from deskgate.web import admin_idp_signin, connection_test, logout, saml
from deskgate.web.context import current_user, web
from deskgate.web.errors import error_id_of
from deskgate.web.login_redirect import send_to_idp
from deskgate.web.portal.account import account_page
from deskgate.web.security import NO_STORE, delete_cookie, set_cookie


async def login(request: Request) -> Response:
    """The IdP chooser, or straight to an IdP: the one the link names, the one the email's domain is
    mapped to, or (automatic mode) the only live one or the default. Drafts (IdPs added in the console and
    not yet tested) are left out of all of these, so adding an IdP never changes what customers see.

    The email form is a GET like the ``?idp=`` links: it only starts a sign-in, and the access log
    leaves query strings out.
    """
    ctx = web(request)
    next_url = safe_next(request.query_params.get("next"))
    providers = await ctx.services.providers.live()
    page = await ctx.services.login_page.get()
    wanted = request.query_params.get("idp")
    email = request.query_params.get("email")
    if wanted is None and email is not None:
        email = email.strip()[:320]
        wanted = page.idp_for_email(email, providers)
        if wanted is None:
            problem = "unknown" if email_domain(email) else "invalid"
            return _chooser(request, page, providers, next_url, email=email, problem=problem)
        return await begin_login(request, wanted, purpose="login", next_url=next_url, login_hint=email)
    if wanted is None:
        wanted = page.automatic_choice(providers)
    if wanted is None:
        return _chooser(request, page, providers, next_url)
    if wanted not in {p.name for p in providers}:
        raise NotFound(
            f"login requested for unknown, disabled or draft IdP {wanted!r}",
            user_message="Unknown sign-in method.",
        )
    return await begin_login(request, wanted, purpose="login", next_url=next_url)


def _chooser(
    request: Request,
    page: LoginPageSettings,
    providers: list[ProviderConfig],
    next_url: str,
    *,
    email: str = "",
    problem: str | None = None,
) -> Response:
    """The buttons (with the admin's labels), and the email box when some domain leads to an IdP."""
    buttons = [(p.name, page.label(p)) for p in providers]
    context = {
        "buttons": buttons,
        "next": next_url,
        "email_box": page.routes_by_email(providers),
        "email": email,
        "problem": problem,
    }
    return web(request).render(
        request, "chooser.html", context, status_code=400 if problem == "invalid" else 200, headers=NO_STORE
    )


async def begin_login(
    request: Request,
    idp: str,
    *,
    purpose: str,
    next_url: str,
    prompt: str | None = None,
    login_hint: str | None = None,
) -> Response:
    ctx = web(request)
    if (await ctx.services.providers.get(idp)).protocol == "saml":
        return await saml.begin(request, idp, purpose=purpose, next_url=next_url)
    party = await ctx.services.relying_party(idp)
    auth = await party.authorization_request(prompt=prompt, login_hint=login_hint)
    pending = PendingLogin(
        idp=idp, purpose=purpose, nonce=auth.nonce, code_verifier=auth.code_verifier, next_url=next_url
    )
    return await send_to_idp(ctx, auth.state, pending, auth.url)


async def callback(request: Request) -> Response:
    """The checklist: state (this browser's sign-in, not expired) → error param → issuer → code → redeem +
    validate → IdP still on → pipeline, session, state spent (single use): one transaction → redirect."""
    ctx = web(request)
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":  # response_mode=form_post
        params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
        if request.cookies.get(ctx.cookies.login) is None and RESUBMITTED not in params:
            return _resubmit_same_site(request, params)
    pending: PendingLogin | None = None
    states, state, sealed = (
        ctx.services.login_states,
        params.get("state"),
        request.cookies.get(ctx.cookies.login),
    )
    spent = False
    try:
        try:
            pending = states.open(state, sealed)  # bound to this browser, not expired: no I/O
        except LoginStateError:
            pending = await states.take(state, sealed)  # an earlier version's sign-in, or the refusal
            spent = True
        party = await ctx.services.relying_party(pending.idp)
        if params.get("error"):
            description = str(params.get("error_description", ""))[:300]
            raise IdpReturnedError("idp_error", f"{str(params['error'])[:100]}: {description}")
        metadata = await party.metadata()
        # RFC 9207: when the IdP says who answered, it must be the IdP we sent the browser to (mix-up defence).
        if "iss" in params and metadata.issuer and params["iss"] != metadata.issuer:
            raise LoginStateError("iss", "the authorization response came from another issuer")
        if not params.get("code"):
            raise LoginStateError("code", "the callback carries no authorization code")
        result = await party.complete(
            code=params["code"], nonce=pending.nonce, code_verifier=pending.code_verifier
        )
        # Single use: the state is spent before anything the IdP sent is kept (for a customer's sign-in, in
        # its one transaction; a failed sign-in is spent below).
        if not spent and (pending.purpose in ("test", "admin") or not party.config.live):
            await states.spend(state or "")
            spent = True
        if pending.purpose == "test":
            return await connection_test.finish(request, party.config, result)
        if pending.purpose == "admin":  # an admin session, never a customer one
            return await admin_idp_signin.finish(request, party.config, result, pending.next_url)
        if not party.config.live:  # turned off (its sessions ended) while the customer was at the IdP
            raise LoginDenied(
                "idp_disabled",
                f"{pending.idp} was turned off or is a draft",
                subject=result.claims.subject,
            )
        # One commit for the sign-in: the session and its audit record (and the last look at the blocks),
        # and the state spent. The spend comes last: the pipeline may call JSM (provisioning), and no
        # connection or SQLite write lock is held meanwhile; nothing is committed unless it passes.
        async with ctx.services.db.begin() as db:
            login_ctx = await ctx.services.pipeline.run(
                LoginContext(
                    party.config,
                    result.claims,
                    result.id_token,
                    next_url=pending.next_url,
                    client_ip=ctx.client_ip(request),  # the trusted-proxy rule, as the audit log's
                    user_agent=request.headers.get("user-agent"),
                    db=db,
                )
            )
            assert login_ctx.session_id and login_ctx.session
            if not spent:
                await states.spend(state or "", db=db)
            await ctx.services.audit.stage(
                db,
                AuditEvent(
                    event="login",
                    outcome="success",
                    idp=pending.idp,
                    subject=login_ctx.session.subject,
                    email=login_ctx.session.email,
                    client_ip=ctx.client_ip(request),
                ),
            )
    except (LoginError, LoginDenied) as failed:
        exc: LoginError | LoginDenied = failed
        if pending is not None and not spent:  # nor is a failed sign-in tried again with the same state
            try:
                await states.spend(state or "")
            except LoginStateError as replayed:  # a replay is called a replay, whatever else went wrong
                exc = replayed
        if isinstance(exc, LoginDenied) and pending is not None:
            exc.idp = pending.idp  # "sign out and use another account" signs out there
        await _audit_failed_login(request, pending, exc)
        if pending is not None and pending.purpose == "test":
            return await connection_test.failed(request, pending.idp, exc)
        if pending is not None and pending.purpose == "admin":
            return admin_idp_signin.failed(request, exc)
        if exc is failed:
            raise
        raise exc from failed
    response = RedirectResponse(pending.next_url, status_code=303, headers=NO_STORE)
    # Rotation at login: the old session (if any) ends, and the browser gets the new id only.
    await ctx.services.sessions.end(request.cookies.get(ctx.cookies.session))
    set_cookie(response, ctx.cookies.session, login_ctx.session_id, https=ctx.https)
    delete_cookie(response, ctx.cookies.login, https=ctx.https)
    return response


RESUBMITTED = "deskgate_resubmitted"
FORM_POST_FIELDS = ("code", "state", "error", "error_description", "iss", "session_state")


def _resubmit_same_site(request: Request, params: dict[str, Any]) -> Response:
    """A form_post callback is a cross-site POST, so the browser held back our SameSite=Lax login cookie.

    Posting the same fields again from our own page is a same-site request, which carries it. Nothing is
    consumed here: the state is checked on the second POST.
    """
    fields = {k: str(params[k])[:4096] for k in FORM_POST_FIELDS if k in params} | {RESUBMITTED: "1"}
    return web(request).render(
        request, "resubmit.html", {"action": CALLBACK_PATH, "fields": fields}, headers=NO_STORE
    )


async def _audit_failed_login(request: Request, pending: PendingLogin | None, exc: DeskgateError) -> None:
    ctx = web(request)
    refused = isinstance(exc, LoginDenied)
    purpose = pending.purpose if pending is not None else "login"
    event = {"test": "login.test", "admin": "admin.login"}.get(purpose, "login")
    detail = audit_detail(exc)
    await ctx.services.audit.record(
        AuditEvent(
            event=event,
            outcome="refused" if refused else "failure",
            idp=pending.idp if pending else None,
            subject=getattr(exc, "subject", None),
            email=getattr(exc, "email", None),
            client_ip=ctx.client_ip(request),
            error_id=error_id_of(exc, request),
            detail=detail,
        )
    )


async def account(request: Request) -> Response:
    """A protected page: signed-out visitors go through sign-in and come back here."""
    user = await current_user(request)
    if user is None:
        # The whole deep link comes back after sign-in, query included (safe_next vets it at /login).
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": here}), status_code=303)
    return await _account_page(request, user)


async def _account_page(request: Request, user: SessionRecord) -> Response:
    return await account_page(request, user)  # name, e-mail, organizations, IdP title, time zone


async def me(request: Request) -> Response:
    """The signed-in identity as JSON (401 without a session). GETs are answered by `web.fastpath`."""
    user = await current_user(request)
    if user is None:
        return JSONResponse({"error": "not signed in"}, status_code=401)
    identity = {"idp": user.idp, "subject": user.subject, "email": user.email, "name": user.display_name}
    return JSONResponse(identity)


async def home(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return await _account_page(request, user)


routes = [
    Route("/me", me),  # first: the router tries routes in order, and /me is what API clients call most
    Route("/", home),
    Route("/login", login),
    Route(CALLBACK_PATH, callback, methods=["GET", "POST"]),
    Route("/account", account),
    *logout.routes,
    *saml.routes,
]
