"""An IdP's life in the console: draft → live → disabled (and back on), the list's Enable and Disable.

The add wizard saves a new IdP as a draft (`ProviderConfig.draft`): customers are not offered it until it
has shown it works, so adding an IdP that cannot be reached never turns every customer's automatic
redirect into a chooser whose button ends on an error page. A draft leaves draft in one of two ways:
a test sign-in passes (`web.connection_test.finish`), or an admin enables it here anyway, which, without
a passed test, needs the page's warning read and its confirmation box ticked (``confirm=untested``).
A POST without it answers with that page instead of a change, so a script or a stale button cannot
skip the warning either. Disabling is confirmed the same way (``confirm=disable``) on a page that says how
many live customer sessions it ends. Each change is audited as ``admin.idp.enable`` or
``admin.idp.disable``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deskgate.identity.provider import ProviderConfig
from deskgate.login.connection_test import passed
from deskgate.sessions.store import SessionRecord
from deskgate.web.admin_blocks import sessions_of_idp
from deskgate.web.console import admin_form, admin_only, form_page, route_idp, save_idp
from deskgate.web.context import web

# The value of the confirmation box: names what the admin accepts, so no other field can stand in for it.
CONFIRM_UNTESTED = "untested"
CONFIRM_DISABLE = "disable"


async def _needs_confirmation(request: Request, config: ProviderConfig) -> dict[str, object] | None:
    """What the warning page shows when enabling `config` would offer customers an unproven IdP; None
    when it may simply be turned on (out of draft already, or its last test passed)."""
    if not config.draft:
        return None
    services = web(request).services
    latest = await services.connection_tests.latest(config.name)
    if passed(latest):
        return None
    since = datetime.now(UTC) - timedelta(hours=24)
    failures = await services.audit.count_by_idp(event="login", outcome=("failure", "refused"), since=since)
    return {"idp": config, "latest": latest, "failures": failures.get(config.name, 0), "section": "idps"}


def _warning(request: Request, context: Mapping[str, object], *, status_code: int) -> Response:
    return form_page(request, "admin/idp_enable.html", context, status_code=status_code)


@admin_only
async def enable_page(request: Request, admin: SessionRecord) -> Response:
    """The warning before an untested draft goes live (a tested one needs none: this page says so)."""
    config = await route_idp(request)
    warning = await _needs_confirmation(request, config)
    context = warning or {"idp": config, "latest": None, "failures": 0, "section": "idps", "safe": True}
    return _warning(request, context, status_code=200)


async def _disable_page(request: Request, config: ProviderConfig, *, status_code: int) -> Response:
    """What turning `config` off ends, and the button that confirms it."""
    sessions = await sessions_of_idp(web(request).services.sessions, config.name)
    context = {"idp": config, "sessions": sessions, "section": "idps", "unconfirmed": status_code == 409}
    return form_page(request, "admin/idp_disable.html", context, status_code=status_code)


@admin_only
async def disable_page(request: Request, admin: SessionRecord) -> Response:
    return await _disable_page(request, await route_idp(request), status_code=200)


@admin_form
async def set_enabled(request: Request, admin: SessionRecord, form: Mapping[str, str]) -> Response:
    config = await route_idp(request)
    action = request.url.path.rsplit("/", 1)[1]  # enable or disable
    if action == "disable":
        if form.get("confirm") != CONFIRM_DISABLE:
            return await _disable_page(request, config, status_code=409)
        changed = config.model_copy(update={"enabled": False})
        return await save_idp(request, admin, changed, "admin.idp.disable", detail="disabled", then="/admin/")
    detail = "enabled"
    if config.draft:
        warning = await _needs_confirmation(request, config)
        if warning is not None and form.get("confirm") != CONFIRM_UNTESTED:
            return _warning(request, {**warning, "unconfirmed": True}, status_code=409)
        proof = "without a passed test sign-in (the admin confirmed the warning)"
        detail = "enabled and out of draft " + (proof if warning else "after a passed test")
    changed = config.model_copy(update={"enabled": True, "draft": False})
    return await save_idp(request, admin, changed, "admin.idp.enable", detail=detail, then="/admin/")


routes = [
    Route("/admin/idps/{name}/enable", enable_page, methods=["GET"]),
    Route("/admin/idps/{name}/enable", set_enabled, methods=["POST"]),
    Route("/admin/idps/{name}/disable", disable_page, methods=["GET"]),
    Route("/admin/idps/{name}/disable", set_enabled, methods=["POST"]),
]
