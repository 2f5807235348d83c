"""The web side of test connection: finish the admin's test login by storing and showing its result.

A test is also where a draft IdP goes live: the first test sign-in that passes (`passed`: it worked and
gave an email address) makes it offered to customers, audited as ``admin.idp.live``. A failed check on
the test page (discovery, keys, client credentials) is kept and audited like a failed test sign-in, so
the IdP list, the audit log and "recent SSO errors" show it without the admin starting a sign-in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from deskgate.audit import AuditEvent
from deskgate.errors import DeskgateError, LoginDenied, audit_detail
from deskgate.identity.claims import Claims
from deskgate.identity.oidc.client import LoginResult
from deskgate.identity.oidc.probe import Check
from deskgate.identity.provider import ProviderConfig
from deskgate.identity.saml.probe import probe as saml_probe
from deskgate.identity.saml.settings import ServiceProvider
from deskgate.login.connection_test import (
    failure_result,
    passed,
    probe_failure_result,
    saml_success_result,
    success_result,
)
from deskgate.login.diagnosis import explain
from deskgate.web.console import continue_page, form_page
from deskgate.web.context import web
from deskgate.web.errors import error_id_of
from deskgate.web.security import delete_cookie

# Not a redirect: the IdP's site began this navigation, and the admin cookie is SameSite=Strict.
SHOWING = "The test sign-in is over. Opening its result…"


def _result_url(idp: str, test_id: str) -> str:
    return f"/admin/idps/{quote(idp, safe='')}/test/result/{quote(test_id, safe='')}"


async def finish(
    request: Request, config: ProviderConfig, result: LoginResult, data: dict[str, Any] | None = None
) -> Response:
    """Keep and show a test sign-in's result (`data`: SAML's own, else OIDC's built here)."""
    ctx = web(request)
    data = data if data is not None else success_result(config, result)
    proven = config.draft and passed(data)
    data["went_live"] = proven and config.enabled  # a disabled draft leaves draft but stays off
    test_id = await ctx.services.connection_tests.save(config.name, data)
    if proven:
        await ctx.services.save_provider(config.model_copy(update={"draft": False}))
        await ctx.services.audit.record(
            AuditEvent(
                event="admin.idp.live",
                outcome="success",
                idp=config.name,
                subject=result.claims.subject,
                client_ip=ctx.client_ip(request),
                detail="out of draft: a test sign-in passed, customers are offered it now",
            )
        )
    await ctx.services.audit.record(
        AuditEvent(
            event="login.test",
            outcome="success",
            idp=config.name,
            subject=result.claims.subject,
            email=data["mapped"]["email"],
            client_ip=ctx.client_ip(request),
        )
    )
    response = continue_page(request, _result_url(config.name, test_id), SHOWING)
    delete_cookie(response, ctx.cookies.login, https=ctx.https)
    return response


async def finish_saml(request: Request, config: ProviderConfig, claims: Claims) -> Response:
    """A SAML test sign-in's end: the decoded assertion joins the result, then as for OIDC."""
    data = saml_success_result(config, claims, datetime.now(UTC))
    return await finish(request, config, LoginResult(claims=claims, id_token=None), data)


async def saml_failed(request: Request, idp: str, exc: DeskgateError) -> Response:
    """A refused SAML test sign-in: audited as a failed test (never as a customer's), then shown."""
    ctx = web(request)
    refused = isinstance(exc, LoginDenied)
    await ctx.services.audit.record(
        AuditEvent(
            event="login.test",
            outcome="refused" if refused else "failure",
            idp=idp,
            client_ip=ctx.client_ip(request),
            error_id=error_id_of(exc, request),
            detail=audit_detail(exc),
        )
    )
    return await failed(request, idp, exc)


async def failed(request: Request, idp: str, exc: DeskgateError) -> Response:
    ctx = web(request)
    test_id = await ctx.services.connection_tests.save(idp, failure_result(exc, error_id_of(exc)))
    return continue_page(request, _result_url(idp, test_id), SHOWING)


async def remember_failed_check(
    request: Request, idp: str, check: Check, latest: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Keep and audit the test page's failed check as a failed test; the same failure seen again on a
    reload is not recorded twice. Returns the IdP's latest test, this one if it was recorded."""
    seen = (latest or {}).get("ok"), (latest or {}).get("check"), (latest or {}).get("detail")
    if latest is not None and seen == (False, check.name, check.detail):
        return latest
    ctx = web(request)
    data = probe_failure_result(check)
    test_id = await ctx.services.connection_tests.save(idp, data)
    await ctx.services.audit.record(
        AuditEvent(
            event="login.test",
            outcome="failure",
            idp=idp,
            client_ip=ctx.client_ip(request),
            error_id=data["error_id"],
            detail=f"check={check.name}: {check.detail}",
        )
    )
    return await ctx.services.connection_tests.load(idp, test_id)


async def saml_test_page(request: Request, config: ProviderConfig) -> Response:
    """A SAML IdP's test page: its checks (metadata, certificates, SSO URL) and the test sign-in button."""
    assert config.saml is not None
    ctx = web(request)
    checks = await saml_probe(ctx.services.http, config.saml)
    latest = await ctx.services.connection_tests.latest(config.name)
    failed = [check for check in checks if check.ok is False]
    if failed:  # a sign-in would only end on an error page: the test stops here, as OIDC's does
        latest = await remember_failed_check(request, config.name, failed[0], latest)
    context = {
        "idp": config,
        "checks": checks,
        "blocked": [(check, explain(check.name, check.detail)) for check in failed],
        "latest": latest,
        "sp": ServiceProvider.for_idp(ctx.services.settings.base_url, config.name),
        "section": "idps",
    }
    return form_page(request, "admin/test.html", context)
