"""SAML single logout at /saml/{idp}/slo, both ways, with the Redirect and POST bindings.

IdP-initiated: the IdP's signed LogoutRequest ends the sessions it names (NameID, and SessionIndex when
given) — the same way, and audited the same way, as an OIDC front-channel logout — and the browser goes
back to the IdP with our signed LogoutResponse.

SP-initiated: the customer's sign-out (`web.logout`) ends our session first, then `start` sends a
signed LogoutRequest to the IdP; its LogoutResponse comes back here, is matched to this browser's
pending sign-out (kept like a pending sign-in, `login.states`), and lands on the signed-out page.
Nothing depends on the IdP answering: the local session is already gone.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from lxml import etree
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from deskgate.audit import AuditEvent
from deskgate.crypto import digest
from deskgate.errors import DeskgateError, LoginStateError, NotFound, audit_detail
from deskgate.identity.provider import ProviderConfig
from deskgate.identity.saml import bindings
from deskgate.identity.saml.authn import new_id
from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.logout import (
    REMEMBER_FOR,
    REQUESTER,
    LogoutOrder,
    check_logout_request,
    check_logout_response,
    logout_request,
    logout_response,
    succeeded,
)
from deskgate.identity.saml.nameid import NameId
from deskgate.identity.saml.replay import AssertionLedger
from deskgate.identity.saml.response import SUCCESS
from deskgate.identity.saml.settings import SamlIdpSettings, ServiceProvider
from deskgate.identity.saml.xml import SAMLP, parse, qname
from deskgate.login.states import PendingLogin
from deskgate.services import POST_LOGOUT_PATH
from deskgate.sessions.store import SessionRecord
from deskgate.web.context import WebContext, web
from deskgate.web.errors import error_id_of
from deskgate.web.login_redirect import send_to_idp
from deskgate.web.saml import RESUBMITTED
from deskgate.web.security import NO_STORE, delete_cookie

PURPOSE = "saml_logout"  # a pending sign-out in `login.states`, told apart from sign-ins by its purpose


async def start(request: Request, record: SessionRecord) -> Response | None:
    """Send the browser to the IdP with a LogoutRequest for `record`, a SAML session that already ended
    here; None when there is nothing to send (no SLO at this IdP, not a SAML session, no NameID kept)."""
    ctx = web(request)
    try:
        config = await ctx.services.providers.get(record.idp)
    except DeskgateError:
        return None
    settings = config.saml
    name_id = NameId.from_json(record.id_token)
    if config.protocol != "saml" or settings is None or settings.slo_url is None or name_id is None:
        return None
    sp = ServiceProvider.for_idp(ctx.services.settings.base_url, record.idp)
    request_id = new_id()
    message = logout_request(
        sp, settings.slo_url, request_id, name_id, record.idp_session_id, now=datetime.now(UTC)
    )
    relay_state = secrets.token_urlsafe(32)
    pending = PendingLogin(
        idp=record.idp, purpose=PURPOSE, nonce=request_id, code_verifier=None, next_url=POST_LOGOUT_PATH
    )
    sent = await _deliver(request, settings, "SAMLRequest", message, relay_state, to=settings.slo_url)
    page = sent if settings.slo_binding == "post" else None
    return await send_to_idp(ctx, relay_state, pending, sent.headers.get("location", ""), page=page)


async def _deliver(
    request: Request,
    settings: SamlIdpSettings,
    kind: bindings.MessageKind,
    message: bytes,
    relay_state: str | None,
    *,
    to: str,
) -> Response:
    """`message` signed with the SP's current key, on its way to the IdP's SLO location `to`: a redirect
    with a signed query, or (HTTP-POST binding) a page whose form posts the XML-signed message there."""
    ctx = web(request)
    key = await ctx.services.saml_keys.current()
    if settings.slo_binding == "post":
        signed = bindings.sign_xml(message, key.private_key, key.certificate_pem)
        fields = {kind: bindings.post_value(signed)} | ({"RelayState": relay_state} if relay_state else {})
        values = {"action": to, "fields": fields, "note": "Signing you out…"}
        return ctx.render(request, "resubmit.html", values, headers=NO_STORE)
    query = bindings.sign(kind, message, key=key.private_key, relay_state=relay_state)
    return RedirectResponse(bindings.redirect_url(to, query), status_code=303, headers=NO_STORE)


async def _saml_idp(request: Request, name: str) -> tuple[ProviderConfig, SamlIdpSettings, ServiceProvider]:
    """An enabled SAML IdP by name. A draft's sessions may end too: it may have been live until now."""
    services = web(request).services
    config = next((c for c in await services.providers.enabled() if c.name == name), None)
    if config is None or config.protocol != "saml" or config.saml is None:
        raise NotFound(f"no enabled SAML IdP named {name!r}", user_message="Unknown sign-in method.")
    return config, config.saml, ServiceProvider.for_idp(services.settings.base_url, name)


async def slo(request: Request) -> Response:
    """Either direction's message, by either binding: a LogoutRequest from the IdP, or its answer to ours."""
    ctx = web(request)
    name = request.path_params["idp"]
    config, settings, sp = await _saml_idp(request, name)
    skew = timedelta(seconds=config.clock_skew_seconds)
    form: dict[str, str] = {}
    if request.method == "POST":
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        answer = "SAMLResponse" in form
        if answer and request.cookies.get(ctx.cookies.login) is None and RESUBMITTED not in form:
            # cross-site POST: the SameSite=Lax binding of the pending sign-out stayed behind (as at the ACS)
            fields = {k: form[k] for k in ("SAMLResponse", "RelayState") if k in form} | {RESUBMITTED: "1"}
            return ctx.render(
                request, "resubmit.html", {"action": request.url.path, "fields": fields}, headers=NO_STORE
            )
    kind = "SAMLRequest" if "SAMLRequest" in (form or request.query_params) else "SAMLResponse"
    try:
        if request.method == "GET":
            message = bindings.verify(request.url.query, settings)
            root, relay_state = parse(message.xml), message.relay_state
        else:
            xml = bindings.read_post(form.get(kind, ""))
            root, relay_state = bindings.verified_post_message(xml, settings), form.get("RelayState")
        if kind == "SAMLRequest":
            return await _idp_logout(request, config, sp, root, relay_state, skew)
        return await _logout_answered(request, config, sp, root, relay_state, skew)
    except SamlRejected as exc:
        await _audit(request, kind, name, "failure", detail=audit_detail(exc), exc=exc)
        raise


async def _idp_logout(
    request: Request,
    config: ProviderConfig,
    sp: ServiceProvider,
    root: etree._Element,
    relay_state: str | None,
    skew: timedelta,
) -> Response:
    ctx = web(request)
    settings = config.saml
    assert settings is not None
    now = datetime.now(UTC)
    if root.tag != qname(SAMLP, "LogoutRequest"):
        raise SamlRejected("structure", "SAMLRequest at the SLO endpoint must be a LogoutRequest")
    try:
        order = check_logout_request(root, sp, settings, now=now, skew=skew)
        try:
            await AssertionLedger(ctx.services.db).spend(
                config.name, f"LogoutRequest\n{order.request_id}", until=now + skew + REMEMBER_FOR
            )
        except SamlRejected:
            raise SamlRejected("replay", "this LogoutRequest was already used") from None
    except SamlRejected as exc:
        # Signed by the IdP, but not acceptable: nothing ends, and the IdP is told why (Requester).
        await _audit(request, "SAMLRequest", config.name, "failure", detail=audit_detail(exc), exc=exc)
        return await _answer(request, sp, settings, root.get("ID"), REQUESTER, relay_state, exc.check)
    if settings.subject_attribute and not order.session_indexes:
        # Sessions are named by an attribute, not by this NameID: only a SessionIndex can find them.
        detail = "a LogoutRequest without SessionIndex cannot name a session when an attribute names users"
        await _audit(request, "SAMLRequest", config.name, "failure", detail=f"check=session_index: {detail}")
        return await _answer(request, sp, settings, order.request_id, REQUESTER, relay_state, "session_index")
    ended = await _end_sessions(ctx, config.name, order, by_index_only=bool(settings.subject_attribute))
    users = {(r.subject, r.email) for r in ended} or {(order.name_id.value, None)}
    for subject, email in sorted(users, key=str):
        await _audit(
            request,
            "SAMLRequest",
            config.name,
            "success",
            subject=subject,
            email=email,
            detail=f"saml sessions ended: {sum(r.subject == subject for r in ended)}",
        )
    response = await _answer(request, sp, settings, order.request_id, SUCCESS, relay_state, None)
    cookie = request.cookies.get(ctx.cookies.session)
    if cookie and any(r.id_hash == digest(cookie) for r in ended):
        delete_cookie(response, ctx.cookies.session, https=ctx.https)
    return response


async def _end_sessions(
    ctx: WebContext, idp: str, order: LogoutOrder, *, by_index_only: bool
) -> list[SessionRecord]:
    """The sessions of this IdP for this NameID; only those of the SessionIndexes named, when some are.
    When an attribute names the users (`subject_attribute`), the SessionIndexes alone name the sessions:
    the IdP issues one per session it holds, and signed this request."""
    sessions = ctx.services.sessions
    if not order.session_indexes:
        return await sessions.end_matching(idp=idp, subject=order.name_id.value)
    subject = None if by_index_only else order.name_id.value
    ended: list[SessionRecord] = []
    for index in order.session_indexes:
        ended += await sessions.end_matching(idp=idp, subject=subject, idp_session_id=index)
    return ended


async def _answer(
    request: Request,
    sp: ServiceProvider,
    settings: SamlIdpSettings,
    in_response_to: str | None,
    status: str,
    relay_state: str | None,
    message: str | None,
) -> Response:
    """Our signed LogoutResponse, back to the IdP by its SLO binding; the signed-out page when the IdP
    has no SLO location to answer to."""
    if settings.slo_url is None:
        return RedirectResponse(POST_LOGOUT_PATH, status_code=303, headers=NO_STORE)
    to = settings.slo_response_url or settings.slo_url
    xml = logout_response(sp, to, new_id(), in_response_to, status, now=datetime.now(UTC), message=message)
    return await _deliver(request, settings, "SAMLResponse", xml, relay_state, to=to)


async def _logout_answered(
    request: Request,
    config: ProviderConfig,
    sp: ServiceProvider,
    root: etree._Element,
    relay_state: str | None,
    skew: timedelta,
) -> Response:
    """The IdP's LogoutResponse to this browser's sign-out; the session ended before we asked."""
    ctx = web(request)
    assert config.saml is not None
    pending = await ctx.services.login_states.take(relay_state, request.cookies.get(ctx.cookies.login))
    if pending.idp != config.name or pending.purpose != PURPOSE:
        raise LoginStateError(
            "state", f"the answer came to {config.name} for a {pending.purpose} at {pending.idp}"
        )
    status = check_logout_response(root, sp, config.saml, pending.nonce, now=datetime.now(UTC), skew=skew)
    outcome = "success" if succeeded(status) else "failure"
    await _audit(request, "SAMLResponse", config.name, outcome, detail=f"IdP answered {status}")
    response = RedirectResponse(pending.next_url, status_code=303, headers=NO_STORE)
    delete_cookie(response, ctx.cookies.login, https=ctx.https)
    return response


async def _audit(
    request: Request,
    kind: str,
    idp: str,
    outcome: str,
    *,
    subject: str | None = None,
    email: str | None = None,
    detail: str,
    exc: Exception | None = None,
) -> None:
    """An IdP's LogoutRequest is a front-channel logout; the answer to ours completes a portal sign-out."""
    ctx = web(request)
    await ctx.services.audit.record(
        AuditEvent(
            event="logout.frontchannel" if kind == "SAMLRequest" else "logout.rp",
            outcome=outcome,
            idp=idp,
            subject=subject,
            email=email,
            client_ip=ctx.client_ip(request),
            error_id=error_id_of(exc, request) if exc is not None else None,
            detail=detail,
        )
    )


routes = [Route("/saml/{idp}/slo", slo, methods=["GET", "POST"])]
