"""Raising a request: the form built from the request type's fields, and what happens when it is sent.

    POST: CSRF → read files (size limit) → validate → rate limits (the request and its files, taken
    atomically) → store durably (outbox) → one inline attempt → the request's page, or "my requests"
    showing it pending when JSM could not take it now.

Whatever the customer typed comes back on every refusal, so nothing is entered twice.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from deskgate.errors import NotFound
from deskgate.jsm.models import RequestType, ServiceDesk
from deskgate.portal.articles import Search
from deskgate.portal.forms import FormErrors, FormSpec, build_spec, validate
from deskgate.portal.ratelimit import CustomerLimits, RateLimited
from deskgate.portal.submissions import AttachmentTooLarge, Submissions, Submitter, customer_message
from deskgate.web.context import current_user, web
from deskgate.web.portal.articles import create_suggestions
from deskgate.web.portal.common import (
    MAX_FILE_BYTES,
    MAX_FILES,
    SignInRequired,
    Visitor,
    check_csrf,
    guarded,
    open_desk,
    render_with_csrf,
    visitor,
)
from deskgate.web.portal.uploads import read_uploads
from deskgate.web.security import NO_STORE

PENDING_NOTICE = "pending"


async def _context(request: Request) -> tuple[Visitor, ServiceDesk, RequestType]:
    desk_id, type_id = str(request.path_params["desk_id"]), str(request.path_params["request_type_id"])
    if await current_user(request) is None:
        raise SignInRequired("portal visit without a session")
    desk = await open_desk(web(request), desk_id)
    who = await visitor(request, desk.id)
    services = who.ctx.services
    setting = await services.desks.get(desk.id)
    if not type_id.isdigit() or not setting.shows(type_id):
        raise NotFound(f"request type {type_id!r} hidden or malformed", user_message="No such request type.")
    try:
        request_type = await services.catalogue.request_type(desk.id, type_id)
    except NotFound as exc:
        raise NotFound(str(exc), user_message="No such request type.") from None
    return who, desk, request_type


def _form_page(
    request: Request,
    who: Visitor,
    desk: ServiceDesk,
    request_type: RequestType,
    spec: FormSpec,
    values: dict[str, list[str]],
    errors: dict[str, str],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    suggestions: Search | None = None,
) -> Response:
    response = render_with_csrf(
        who.ctx,
        request,
        "portal/create.html",
        {
            "user": who.session,
            "desk": desk,
            "request_type": request_type,
            "spec": spec,
            "values": values,
            "errors": errors,
            "max_mb": MAX_FILE_BYTES / 1_048_576,
            "max_files": MAX_FILES,
            "suggestions": suggestions,
        },
        status_code=status_code,
    )
    response.headers.update(headers or {})
    return response


@guarded()
async def create_form(request: Request) -> Response:
    who, desk, request_type = await _context(request)
    # Articles matching the request type, beside the form (the script then follows the summary typed).
    form, suggestions = await asyncio.gather(
        who.ctx.services.catalogue.request_form(desk.id, request_type.id),
        create_suggestions(who, desk, request_type.name),
    )
    spec = build_spec(form)
    errors: dict[str, str] = {}
    if spec.unsupported_required:  # say so before the customer types anything
        names = ", ".join(spec.unsupported_required)
        errors[""] = f"This request cannot be raised here (it needs: {names}). Please contact the team."
    return _form_page(
        request, who, desk, request_type, spec, spec.initial_values(), errors, suggestions=suggestions
    )


def _submitted(form: FormData) -> dict[str, list[str]]:
    raw: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if isinstance(value, str) and name != "csrf_token":
            raw.setdefault(name, []).append(value)
    return raw


@guarded()
async def create_submit(request: Request) -> Response:
    who, desk, request_type = await _context(request)
    services = who.ctx.services
    form = await request.form(max_files=MAX_FILES + 1, max_fields=200)
    try:
        check_csrf(who.ctx, request, form.get("csrf_token"))
        jsm_form = await services.catalogue.request_form(desk.id, request_type.id)
        spec = build_spec(jsm_form)
        raw = _submitted(form)

        def again(errors: dict[str, str], status_code: int = 400, **extra: Any) -> Response:
            return _form_page(
                request, who, desk, request_type, spec, raw, errors, status_code=status_code, **extra
            )

        files = [f for f in form.getlist("attachment") if isinstance(f, UploadFile) and f.filename]
        uploads, problem = await read_uploads(files)
        if problem is not None:
            return again({"attachment": problem})
        checked = validate(jsm_form, raw, attachment_count=len(uploads))
        if isinstance(checked, FormErrors):
            return again(checked.errors)
        try:  # after validation (a typo costs nothing), before anything is stored (a refusal stores nothing)
            limits = CustomerLimits.from_settings(services.settings, services.db)
            await limits.take(who.session.idp, who.session.subject, submissions=1, files=len(uploads))
        except RateLimited as limited:
            return again({"": limited.user_message}, 429, headers=limited.headers)
        client = await who.client()
        outbox = Submissions(services.db, client, project_key_for=_project_key(who))
        submitter = Submitter(who.session.idp, who.session.subject, who.link.jsm_user_id)
        try:
            submission = await outbox.submit(
                submitter, desk.id, request_type.id, checked, uploads, max_file_bytes=MAX_FILE_BYTES
            )
        except AttachmentTooLarge as too_large:
            return again({"attachment": too_large.user_message})
    finally:
        await form.close()
    status = await outbox.attempt(submission)
    if status is not None and status.state == "done" and status.issue_key:
        return RedirectResponse(f"/portal/requests/{status.issue_key}?created=1", 303, headers=NO_STORE)
    if status is not None and status.state == "failed":
        return again({"": customer_message(status.last_error)}, 422)
    query = urlencode({"desk": desk.id, "notice": PENDING_NOTICE})
    return RedirectResponse(f"/portal/requests?{query}", 303, headers=NO_STORE)


def _project_key(who: Visitor) -> Any:
    async def project_key_for(desk_id: str) -> str:
        return (await who.ctx.services.catalogue.service_desk(desk_id)).project_key

    return project_key_for
