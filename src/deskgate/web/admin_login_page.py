"""Login page settings: chooser or automatic redirect, IdP per email domain, button labels, branding.

The console edits `LoginPageSettings` through `LoginPageStore`, the service the YAML settings and the
backup use too; each save is audited as ``admin.login_page.update``. The branding reaches every customer
page through `branding_context` (a template context processor) and ``GET /branding.css``, a generated
stylesheet: the CSP forbids inline styles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from deskgate.changes import changed_fields, model_changes
from deskgate.identity.provider import ProviderConfig
from deskgate.login.page import LoginPageSettings, parse_domain_lines
from deskgate.sessions.store import SessionRecord
from deskgate.validation import plain_message
from deskgate.web.brand_tokens import brand_tokens
from deskgate.web.console import admin_form, admin_only, audit_change, form_page
from deskgate.web.context import web
from deskgate.web.security import IMMUTABLE, NO_STORE, REVALIDATE

PATH = "/admin/login-page"
BRANDING_FIELDS = ("name", "logo_url", "accent_color", "background_color")
MODES = ("chooser", "automatic")
MAX_LABEL = 80


def branding_context(request: Request) -> dict[str, object]:
    """Every template's `brand`: the portal branding, or None on console pages (Deskgate's own look)."""
    if request.url.path.startswith("/admin"):
        return {"brand": None}
    return {"brand": web(request).services.login_page.current().branding}


async def branding_css(request: Request) -> Response:
    """The branding's CSS variables. Pages link it with ``?v=<version>``, so a change shows at once and
    the current version may be cached for long; any other version is answered but not kept."""
    branding = (await web(request).services.login_page.get()).branding
    current = request.query_params.get("v") == branding.version
    cache = IMMUTABLE if current else REVALIDATE
    return Response(brand_tokens(branding), media_type="text/css", headers={"Cache-Control": cache})


def _values(settings: LoginPageSettings, idps: Sequence[ProviderConfig]) -> dict[str, str]:
    """The form's fields as the stored settings fill them."""
    values = {
        "mode": settings.mode,
        "default_idp": settings.default_idp or "",
        "domains": "\n".join(f"{domain} {idp}" for domain, idp in settings.domains.items()),
    }
    values |= {f"label-{p.name}": settings.labels.get(p.name, "") for p in idps}
    branding = settings.branding.model_dump()
    return values | {field: branding[field] or "" for field in BRANDING_FIELDS}


def _from_form(
    form: Mapping[str, str], idps: Sequence[ProviderConfig]
) -> tuple[LoginPageSettings | None, dict[str, str]]:
    """The settings the form describes, or every problem in it keyed by field name."""
    names = [p.name for p in idps]
    errors: dict[str, str] = {}
    domains, problems = parse_domain_lines(form.get("domains", ""), names)
    if problems:
        errors["domains"] = "; ".join(problems)
    mode = form.get("mode", "")
    if mode not in MODES:
        errors["mode"] = "Choose the chooser or the automatic redirect."
    default = form.get("default_idp", "").strip() or None
    if default is not None and default not in names:
        errors["default_idp"] = f"There is no identity provider named {default}."
    labels = {name: form.get(f"label-{name}", "").strip() for name in names}
    for name, label in labels.items():
        if len(label) > MAX_LABEL:
            errors[f"label-{name}"] = f"At most {MAX_LABEL} characters."
    data = {
        "mode": mode if mode in MODES else "automatic",
        "default_idp": default if default in names else None,
        "domains": domains,
        "labels": {name: label[:MAX_LABEL] for name, label in labels.items()},
        "branding": {field: form.get(field, "") for field in BRANDING_FIELDS},
    }
    try:
        settings = LoginPageSettings.model_validate(data)
    except ValidationError as exc:
        for item in exc.errors():
            field = str(item["loc"][-1] if item["loc"][0] == "branding" else item["loc"][0])
            message = plain_message(item)
            errors.setdefault(field, message[:1].upper() + message[1:] + ".")
        return None, errors
    return (None, errors) if errors else (settings, {})


def _page(
    request: Request,
    settings: LoginPageSettings,
    idps: Sequence[ProviderConfig],
    *,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    status_code: int = 200,
) -> Response:
    live = {p.name for p in idps if p.live}  # a draft's domains route nowhere until it goes live
    idle = sorted(domain for domain, idp in settings.domains.items() if idp not in live)
    context = {
        "section": "login-page",
        "idps": idps,
        "values": values,
        "errors": errors,
        "idle_domains": idle,
        "saved": request.query_params.get("saved") == "1" and not errors,
    }
    return form_page(request, "admin/login_page.html", context, status_code=status_code)


@admin_only
async def show(request: Request, admin: SessionRecord) -> Response:
    services = web(request).services
    settings = await services.login_page.get()
    idps = await services.providers.all()
    return _page(request, settings, idps, values=_values(settings, idps), errors={})


@admin_form
async def update(request: Request, admin: SessionRecord, form: Mapping[str, str]) -> Response:
    services = web(request).services
    idps = await services.providers.all()
    current = await services.login_page.get()
    settings, errors = _from_form(form, idps)
    if settings is None:
        return _page(request, current, idps, values=form, errors=errors, status_code=400)
    await services.login_page.save(settings)
    changes = model_changes(current, settings)
    detail = f"changed {changed_fields(changes)}" if changes else "saved without changes"
    await audit_change(request, admin, "admin.login_page.update", detail=detail, changes=changes)
    return RedirectResponse(f"{PATH}?saved=1", status_code=303, headers=NO_STORE)


routes: list[BaseRoute] = [
    Route(PATH, show, methods=["GET"]),
    Route(PATH, update, methods=["POST"]),
    Route("/branding.css", branding_css, methods=["GET"]),  # public: every customer page links it
]
