"""Backup: export and import of the whole configuration as YAML, secrets excluded by default.

The same code path as `deskgate config export|import` (`deskgate.config_io`): the download is the file
the CLI writes, and an upload is checked as a whole — every problem listed, nothing changed — before
anything is written. An upload is first a dry run: the page lists what the import would change (each
item new, changed with its fields before → after, unchanged, or deleted) and writes nothing; its form
then imports the very file previewed, and "replace" needs its confirmation box ticked. A file connecting another JSM site deletes the previous site's customer links and
desk settings, as the Jira page does; the report and the audit detail say so. Audited as
``admin.backup.export`` and ``admin.backup.import``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deskgate.config_document import MAX_BYTES, parse_export_bytes
from deskgate.config_io import ImportReport, export_yaml, import_config
from deskgate.config_preview import preview_changes, preview_import
from deskgate.errors import ConfigError
from deskgate.portal.jira_setup import site_switch_summary
from deskgate.sessions.store import SessionRecord
from deskgate.web.console import admin_only, audit_change, checked_form, csrf_refused, form_page
from deskgate.web.context import web
from deskgate.web.security import NO_STORE

PAGE = "/admin/backup"
MAX_UPLOAD_BYTES = MAX_BYTES  # a configuration is a few kilobytes; anything near this is not one
SEALED_MAX = 2 * MAX_BYTES  # the previewed document, encrypted and base64-encoded, in the second step
CONFIRM_REPLACE = "replace"  # the box that confirms "replace" names it: no other field stands in for it


def _page(
    request: Request,
    *,
    problems: Sequence[str] = (),
    report: ImportReport | None = None,
    replace: bool = False,
    status_code: int = 200,
    **more: object,
) -> Response:
    switch = report.site_switch if report is not None else None
    context = {
        "section": "backup",
        "problems": problems,
        "report": report,
        "replace": replace,
        "site_switch": site_switch_summary(switch) if switch is not None else None,
        **more,
    }
    return form_page(request, "admin/backup.html", context, status_code=status_code)


@admin_only
async def page(request: Request, admin: SessionRecord) -> Response:
    return _page(request)


@admin_only
async def export(request: Request, admin: SessionRecord) -> Response:
    form = await checked_form(request)
    if isinstance(form, Response):
        return form
    include_secrets = form.get("include_secrets") == "on"
    text = await export_yaml(web(request).services, include_secrets=include_secrets)
    detail = "configuration exported" + (" with its secrets" if include_secrets else " without secrets")
    await audit_change(request, admin, "admin.backup.export", detail=detail)
    name = f"deskgate-config-{datetime.now(UTC):%Y%m%d-%H%M%S}.yaml"
    headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(text, media_type="application/yaml", headers=headers)


@admin_only
async def import_(request: Request, admin: SessionRecord) -> Response:
    """Two steps: an uploaded file is previewed (nothing written); the preview's form, which carries the
    document sealed with the server's key, imports it, and with "replace" only once its box is ticked."""
    services = web(request).services
    # The context manager closes the uploaded file's spool however the handler ends.
    async with request.form(max_files=1, max_fields=6, max_part_size=SEALED_MAX) as form:
        if not web(request).admin_csrf.valid(request, form.get("csrf_token")):
            return csrf_refused(request)
        replace = form.get("mode") == "replace"
        sealed, upload, confirmed = form.get("document"), form.get("file"), form.get("confirm")
        if isinstance(sealed, str) and sealed:
            try:
                content, source = services.box.decrypt(sealed).encode(), "the previewed file"
            except ValueError:
                problems = ["The preview had expired or was altered. Choose the file again."]
                return _page(request, problems=problems, replace=replace, status_code=400)
        elif isinstance(upload, UploadFile) and upload.filename:
            content, source = await upload.read(MAX_UPLOAD_BYTES + 1), upload.filename
        else:
            problems = ["Choose the exported file to import."]
            return _page(request, problems=problems, replace=replace, status_code=400)
    try:
        data = parse_export_bytes(content, source=source)
        preview = await preview_import(services, data, replace=replace)
        ready = isinstance(sealed, str) and bool(sealed) and (not replace or confirmed == CONFIRM_REPLACE)
        if not ready:  # the dry run: what the import would change, and the form that makes it
            unconfirmed = bool(sealed) and replace
            return _page(
                request,
                replace=replace,
                status_code=409 if unconfirmed else 200,
                preview=preview,
                document=services.box.encrypt(content.decode()),
                unconfirmed=unconfirmed,
            )
        report = await import_config(services, data, replace=replace)
    except ConfigError as exc:
        return _page(request, problems=exc.problems, replace=replace, status_code=400)
    changes = preview_changes(preview)
    await audit_change(
        request, admin, "admin.backup.import", detail=_summary(report, replace), changes=changes
    )
    return _page(request, report=report, replace=replace)


def _summary(report: ImportReport, replace: bool) -> str:
    parts = [
        f"{label} {', '.join(names)}"
        for label, names in (
            ("created", report.created),
            ("updated", report.updated),
            ("unchanged", report.unchanged),
            ("deleted", report.deleted),
            ("desks", report.desks),
        )
        if names
    ]
    if report.jsm:
        parts.append(f"JSM connection {report.jsm}")
    if report.site_switch is not None:
        parts.append(f"another site: {site_switch_summary(report.site_switch)}")
    if report.login_page:
        parts.append("login page settings saved")
    if report.sessions_ended:
        parts.append(f"customer sessions ended: {report.sessions_ended}")
    mode = "replace" if replace else "merge"
    return f"configuration imported ({mode}): {'; '.join(parts) or 'nothing to change'}"


routes = [
    Route(PAGE, page, methods=["GET"]),
    Route(f"{PAGE}/export", export, methods=["POST"]),
    Route(f"{PAGE}/import", import_, methods=["POST"]),
]
