"""Jira configuration: the service account, the connection check, and the service desks' substitute links.

Thin over `deskgate.portal.jira_setup`, which `deskgate jira connect|check|desk` use as well: the page
stores the same connection, reports the same findings and changes desks the same way. The service
account's secret never goes back into a page: left empty, the stored one stays. Changes are audited as
``admin.jira.connect`` and ``admin.jira.desk``, a check as ``admin.jira.check``. The page says before
saving that a connection to another site forgets the previous site's customer links and desk settings,
and after saving that it did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deskgate.changes import model_changes
from deskgate.errors import NotFound
from deskgate.jsm import JsmConnection, JsmError
from deskgate.jsm.models import RequestType, ServiceDesk
from deskgate.portal.connection import JsmNotConnected
from deskgate.portal.desks import DeskSetting
from deskgate.portal.jira_setup import (
    SECRET_FIELDS,
    Check,
    ConnectionInvalid,
    build_connection,
    change_desk,
    check_connection,
    connect,
    site_switch_summary,
)
from deskgate.services import Services
from deskgate.sessions.store import SessionRecord
from deskgate.web.console import admin_form, admin_only, audit_change, form_page, see_other
from deskgate.web.context import web

PAGE = "/admin/jira"
SHOWN_FIELDS = ("site_url", "deployment", "email", "confluence_url")


@dataclass(frozen=True, slots=True)
class DeskRow:
    desk: ServiceDesk
    link: str
    setting: DeskSetting
    request_types: tuple[RequestType, ...]
    error: str | None = None


def _shown(connection: JsmConnection | None) -> dict[str, str]:
    if connection is None:
        return {"site_url": "", "deployment": "cloud", "email": "", "confluence_url": ""}
    return {
        "site_url": connection.site_url,
        "deployment": connection.deployment,
        "email": connection.email or "",
        "confluence_url": connection.confluence_url or "",
    }


async def _desk_rows(services: Services) -> tuple[list[DeskRow], str | None]:
    """The desks with their settings, or why they cannot be listed (the page renders either way)."""
    try:
        rows = [
            DeskRow(
                desk,
                services.desks.substitute_link(desk.id),
                await services.desks.get(desk.id),
                await services.catalogue.request_types(desk.id),
            )
            for desk in await services.catalogue.service_desks()
        ]
    except JsmNotConnected:
        return [], "JSM is not connected yet: save the connection above and the service desks appear here."
    except JsmError as exc:
        return [], f"The service desks cannot be listed right now ({exc}). Check the connection to see why."
    return rows, None


async def _page(
    request: Request,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    checks: list[Check] | None = None,
    desk_input: DeskRow | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    services = web(request).services
    stored = await services.jira.get()
    rows, desks_message = await _desk_rows(services)
    if desk_input is not None:  # a refused desk form: shown as the admin sent it, with its error
        rows = [desk_input if row.desk.id == desk_input.desk.id else row for row in rows]
    context = {
        "section": "jira",
        "values": values if values is not None else _shown(stored),
        "errors": errors or {},
        # Which stored secret an empty field keeps (only for the deployment type it belongs to).
        "stored_secret": SECRET_FIELDS[stored.deployment] if stored is not None else None,
        "stored_site_url": stored.site_url if stored is not None else None,
        "checks": checks,
        "rows": rows,
        "desks_message": desks_message,
        "notice": notice,
    }
    return form_page(request, "admin/jira.html", context, status_code=status_code)


@admin_only
async def page(request: Request, admin: SessionRecord) -> Response:
    saved = request.query_params.get("saved", "")
    notice = None
    if saved == "connection":
        notice = "The connection is saved. Check it to see what JSM allows the service account to do."
    elif saved == "other-site":
        links, desks = (_count(request.query_params.get(name)) for name in ("links", "desks"))
        notice = (
            "The connection to the new site is saved. The previous site's customer links "
            f"({links}) and desk settings ({desks}) are deleted: customers are looked up on the new site "
            "at their next visit, and every desk has SSO on and shows all request types until you change "
            "it below. Check the connection to see what JSM allows the service account to do."
        )
    elif saved.startswith("desk-") and saved[5:].isdigit():
        notice = f"The settings of desk {saved[5:]} are saved. Running servers follow within a few seconds."
    return await _page(request, notice=notice)


@admin_form
async def save_connection(request: Request, admin: SessionRecord, form: Mapping[str, str]) -> Response:
    services = web(request).services
    deployment = form.get("deployment", "")
    stored = await services.jira.get()
    try:
        connection = build_connection(
            site_url=form.get("site_url", ""),
            deployment=deployment,
            email=form.get("email"),
            secret=form.get(SECRET_FIELDS.get(deployment, "api_token"), "").strip(),
            confluence_url=form.get("confluence_url"),
            stored=stored,
        )
    except ConnectionInvalid as exc:
        values = {name: form.get(name, "") for name in SHOWN_FIELDS}
        return await _page(request, values=values, errors=exc.problems, status_code=400)
    switch = await connect(services, connection)
    detail = f"JSM connection set to {connection.site_url} ({connection.deployment})"
    if switch is not None:
        detail += f"; another site: {site_switch_summary(switch)}"
    changes = model_changes(stored, connection)
    await audit_change(request, admin, "admin.jira.connect", detail=detail, changes=changes)
    if switch is None:
        return see_other(f"{PAGE}?saved=connection")
    return see_other(f"{PAGE}?saved=other-site&links={switch.customer_links}&desks={switch.desk_settings}")


def _count(value: str | None) -> str:
    """A count from the query string, shown only when it is one (the URL is the admin's to edit)."""
    return value if value is not None and value.isdigit() and len(value) < 10 else "?"


@admin_form
async def check(request: Request, admin: SessionRecord, form: Mapping[str, str]) -> Response:
    services = web(request).services
    checks = await check_connection(services.http, await services.jira.get())
    failed = [c.name for c in checks if c.ok is False]
    detail = f"connection checked: {'failed ' + ', '.join(failed) if failed else 'no problem found'}"
    await audit_change(request, admin, "admin.jira.check", detail=detail)
    return await _page(request, checks=checks)


@admin_form
async def save_desk(request: Request, admin: SessionRecord, form: Mapping[str, str]) -> Response:
    desk_id = request.path_params["desk_id"]
    if not desk_id.isdigit():
        raise NotFound(f"no service desk {desk_id!r}", user_message="Unknown service desk.")
    services = web(request).services
    desk = await services.catalogue.service_desk(desk_id)
    types = await services.catalogue.request_types(desk_id)
    ticked = {v for v in (await request.form()).getlist("request_type") if isinstance(v, str)}
    sso = form.get("sso") == "on"
    # In the desk's order, so that the stored list reads like the page.
    chosen = tuple(t.id for t in types if t.id in ticked)
    mode = form.get("request_types")
    error = None
    if mode not in ("all", "chosen"):
        error = "Choose either all request types or the ones ticked."
    elif ticked - {t.id for t in types}:
        error = "Some of the ticked request types do not belong to this desk; reload the page."
    elif mode == "chosen" and not chosen:
        error = "Tick at least one request type, or choose all request types."
    if error is not None:
        shown = DeskSetting(desk_id, sso, None if mode == "all" else chosen)
        row = DeskRow(desk, services.desks.substitute_link(desk_id), shown, types, error)
        return await _page(request, desk_input=row, status_code=400)
    setting = await change_desk(
        services.desks, desk_id, sso=sso, request_types=None if mode == "all" else chosen
    )
    shown_types = "all" if setting.visible_request_types is None else ", ".join(setting.visible_request_types)
    detail = (
        f"desk {desk_id} ({desk.project_key}): SSO {'on' if sso else 'off'}, request types: {shown_types}"
    )
    await audit_change(request, admin, "admin.jira.desk", detail=detail)
    return see_other(f"{PAGE}?saved=desk-{desk_id}#desk-{desk_id}")


routes = [
    Route(PAGE, page, methods=["GET"]),
    Route(f"{PAGE}/connection", save_connection, methods=["POST"]),
    Route(f"{PAGE}/check", check, methods=["POST"]),
    Route(PAGE + "/desks/{desk_id}", save_desk, methods=["POST"]),
]
