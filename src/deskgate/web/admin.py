"""Admin console routes: each one opens only with an admin session (see `console`).

The one exception is the start of an admin sign-in through an IdP, which is where a signed-out admin
begins (it lives here because it starts the same sign-in as a customer's, through `begin_login`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deskgate.errors import DeskgateError, NotFound
from deskgate.identity.filters import ClaimRule
from deskgate.identity.oidc.probe import probe
from deskgate.identity.provider import AdminAccess, ProviderConfig
from deskgate.login.admin_access import describe
from deskgate.login.diagnosis import explain
from deskgate.services import CALLBACK_PATH, FRONTCHANNEL_LOGOUT_PATH, POST_LOGOUT_PATH
from deskgate.sessions.store import SessionRecord
from deskgate.validation import plain_message
from deskgate.web import connection_test
from deskgate.web.admin_checklist import setup_checklist
from deskgate.web.auth import begin_login
from deskgate.web.console import (
    admin_form,
    admin_only,
    checked_form,
    form_page,
    route_idp,
    safe_admin_next,
    save_idp,
    see_other,
)
from deskgate.web.context import web


@admin_only
async def index(request: Request, admin: SessionRecord) -> Response:
    ctx = web(request)
    providers = await ctx.services.providers.all()
    latest = {p.name: await ctx.services.connection_tests.latest(p.name) for p in providers}
    since = datetime.now(UTC) - timedelta(hours=24)
    audit = ctx.services.audit
    logins = await audit.count_by_idp(event="login", outcome="success", since=since)
    # What does not work shows where the admin looks first: customers' failed sign-ins and failed tests.
    failed = await audit.count_by_idp(event="login", outcome=("failure", "refused"), since=since)
    failed_tests = await audit.count_by_idp(event="login.test", outcome=("failure", "refused"), since=since)
    settings = ctx.services.settings
    urls = {
        "callback": settings.url(CALLBACK_PATH),
        "frontchannel": settings.url(FRONTCHANNEL_LOGOUT_PATH),
        "post_logout": settings.url(POST_LOGOUT_PATH),
    }
    context = {
        "providers": providers,
        "latest": latest,
        "logins": logins,
        "failed": failed,
        "failed_tests": failed_tests,
        "urls": urls,
        "section": "idps",
        "checklist": await setup_checklist(ctx.services, providers, latest),
    }
    return form_page(request, "admin/index.html", context)


@admin_only
async def test_page(request: Request, admin: SessionRecord) -> Response:
    ctx = web(request)
    config = await route_idp(request)
    if config.protocol == "saml":  # its own checks: metadata, certificates, SSO URL
        return await connection_test.saml_test_page(request, config)
    checks = await probe(await ctx.services.relying_party(config.name))
    latest = await ctx.services.connection_tests.latest(config.name)
    # A failed check stops the test here: a sign-in would only end on an error page.
    failed = [check for check in checks if check.ok is False]
    if failed:
        latest = await connection_test.remember_failed_check(request, config.name, failed[0], latest)
    context = {
        "idp": config,
        "checks": checks,
        "blocked": [(check, explain(check.name, check.detail)) for check in failed],
        "latest": latest,
        "callback_url": ctx.services.settings.url(CALLBACK_PATH),
        "section": "idps",
    }
    return form_page(request, "admin/test.html", context)


@admin_only
async def test_start(request: Request, admin: SessionRecord) -> Response:
    config = await route_idp(request)
    try:
        # prompt=login: the admin signs in afresh, so the test shows what a new customer would send.
        return await begin_login(request, config.name, purpose="test", next_url="/admin/", prompt="login")
    except DeskgateError:  # discovery failed: the test page explains it, the error page would not
        return see_other(f"/admin/idps/{quote(config.name, safe='')}/test")


@admin_only
async def test_result(request: Request, admin: SessionRecord) -> Response:
    config = await route_idp(request)
    result = await web(request).services.connection_tests.load(config.name, request.path_params["test_id"])
    return form_page(request, "admin/test_result.html", {"idp": config, "result": result, "section": "idps"})


async def idp_sign_in(request: Request) -> Response:
    """Start an admin sign-in through an IdP: only one whose configuration allows admin sign-in."""
    form = await checked_form(request)
    if isinstance(form, Response):
        return form
    config = await route_idp(request)
    if not config.live or config.admin_access is None:
        raise NotFound(
            f"admin sign-in through {config.name!r} is not allowed", user_message="Unknown sign-in method."
        )
    next_url = safe_admin_next(form.get("next"))
    return await begin_login(request, config.name, purpose="admin", next_url=next_url)


def _access_form(config: ProviderConfig) -> dict[str, str]:
    """The form's values from the stored rule: its first allow rule (the form edits one rule)."""
    access = config.admin_access
    rule = next((r for r in access.claim_rules if r.effect == "allow"), None) if access else None
    if rule is None:
        return {"enabled": "", "claim": "groups", "match": "exact", "value": ""}
    return {"enabled": "on", "claim": rule.claim, "match": rule.match, "value": rule.value}


def _access_page(
    request: Request,
    config: ProviderConfig,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    *,
    status_code: int = 200,
) -> Response:
    rules = [describe(r) for r in config.admin_access.claim_rules] if config.admin_access else []
    context = {"idp": config, "values": values, "errors": errors, "rules": rules, "section": "idps"}
    return form_page(request, "admin/idp_admin_access.html", context, status_code=status_code)


def _parse_access(form: Mapping[str, str]) -> tuple[AdminAccess | None, dict[str, str]]:
    """The admin access the form asks for (None: turned off), or the problems, by field."""
    if form.get("enabled") != "on":
        return None, {}
    claim, value = form.get("claim", "").strip(), form.get("value", "").strip()
    match = form.get("match", "exact")
    errors: dict[str, str] = {}
    if not claim:
        errors["claim"] = "Enter the claim to check, for example groups."
    if not value:
        errors["value"] = "Enter the value the claim must have, for example deskgate-admins."
    if match not in ("exact", "regex"):
        errors["match"] = "Choose exact or regular expression."
    if errors:
        return None, errors
    try:
        rule = ClaimRule(effect="allow", claim=claim, match=match, value=value)
    except ValidationError as exc:
        for problem in exc.errors():
            field = "claim" if problem["loc"] and problem["loc"][0] == "claim" else "value"
            errors[field] = plain_message(problem)
        return None, errors
    return AdminAccess(claim_rules=(rule,)), {}


@admin_only
async def admin_access_page(request: Request, admin: SessionRecord) -> Response:
    config = await route_idp(request)
    return _access_page(request, config, _access_form(config), {})


@admin_form
async def admin_access_save(request: Request, admin: SessionRecord, form: Mapping[str, str]) -> Response:
    config = await route_idp(request)
    access, errors = _parse_access(form)
    if errors:
        values = {key: form.get(key, "") for key in ("enabled", "claim", "match", "value")}
        return _access_page(request, config, values, errors, status_code=400)
    if access is None:
        detail = "admin sign-in turned off"
    else:
        detail = "admin sign-in allowed when " + "; ".join(describe(r) for r in access.claim_rules)
    changed = config.model_copy(update={"admin_access": access})
    then = f"/admin/idps/{quote(config.name, safe='')}/admin-access?saved=1"
    return await save_idp(request, admin, changed, "admin.idp.admin_access", detail=detail, then=then)


routes = [
    Route("/admin/", index),
    Route("/admin/idps/{name}/test", test_page),
    Route("/admin/idps/{name}/test/start", test_start),
    Route("/admin/idps/{name}/test/result/{test_id}", test_result),
    Route("/admin/idps/{name}/admin-access", admin_access_page, methods=["GET"]),
    Route("/admin/idps/{name}/admin-access", admin_access_save, methods=["POST"]),
    Route("/admin/login/idp/{name}", idp_sign_in, methods=["POST"]),
]
