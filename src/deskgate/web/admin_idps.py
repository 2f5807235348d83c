"""Admin console: add an IdP with the preset wizard (as a draft), edit it, and the list's delete and reorder
buttons; enabling and disabling, with the draft's warning, are `admin_idp_lifecycle`'s.

Changes go through `Services.save_provider` and `delete_provider`, as config import's do (disabling or
deleting an IdP ends its customer sessions); reordering, which changes nothing else, straight through
`ProviderRegistry`. Each is audited as ``admin.idp.<action>`` with the admin's user name as subject.
Client secrets never leave the server: a form that failed validation asks for the secret again, and on
edit an empty secret keeps the stored one.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deskgate.errors import NotFound
from deskgate.identity.presets import PRESETS, Preset, PresetInputError
from deskgate.identity.presets.base import ENDPOINTS, alternatives
from deskgate.identity.presets.saml import SamlPreset
from deskgate.identity.presets.saml_vendors import GenericSaml
from deskgate.identity.provider import ProviderConfig
from deskgate.sessions.store import SessionRecord
from deskgate.web import admin_idp_lifecycle, admin_idp_saml, admin_idp_urls, idp_advanced
from deskgate.web.admin_blocks import sessions_of_idp
from deskgate.web.admin_idp_urls import preset_named
from deskgate.web.console import (
    admin_form,
    admin_only,
    audit_change,
    form_page,
    route_idp,
    save_idp,
    see_other,
    sessions_ended,
)
from deskgate.web.context import web

PROTOCOLS = {"oidc": "OpenID Connect", "oauth2": "OAuth 2.0", "saml": "SAML 2.0"}
# What the admin set outside the preset form (or with the CLI); an edit through the form keeps it.
KEPT_ON_EDIT = (
    "enabled",
    "draft",
    "order",
    "mapping",
    "filters",
    "admin_access",
    "response_mode",
    "id_token_signing_algs",
    "frontchannel_logout",
)


# --- the wizard: protocol → preset → URLs to register (admin_idp_urls) → fields, saved as a draft ---


@admin_only
async def choose_protocol(request: Request, admin: SessionRecord) -> Response:
    return form_page(request, "admin/idp_protocol.html", {"protocols": PROTOCOLS})


@admin_only
async def choose_preset(request: Request, admin: SessionRecord) -> Response:
    protocol = request.query_params.get("protocol", "oidc")
    protocol = protocol if protocol in PROTOCOLS else "oidc"
    q = request.query_params.get("q", "").strip()[:100]
    words = q.lower().split()
    presets = [
        p
        for p in PRESETS.values()
        if p.protocol == protocol and all(w in f"{p.name} {p.title} {p.description}".lower() for w in words)
    ]
    context = {"protocol": protocol, "protocol_title": PROTOCOLS[protocol], "q": q, "presets": presets}
    return form_page(request, "admin/idp_presets.html", context)


def _form(
    request: Request,
    preset: type[Preset],
    *,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    editing: ProviderConfig | None,
    status_code: int = 200,
) -> Response:
    # Secrets are never put back into a page, whatever the admin typed.
    secret_fields = {f.name for f in preset.form_fields() if f.secret}
    shown = {key: value for key, value in values.items() if key not in secret_fields}
    advanced = [(field, idp_advanced.choices(field, preset)) for field in idp_advanced.FIELDS]
    context = {
        "preset": preset,
        "fields": preset.form_fields(),
        "values": shown,
        "errors": errors,
        "editing": editing,
        "has_secret": editing is not None and editing.client_secret is not None,
        "advanced": advanced,
        "advanced_errors": [name for name in idp_advanced.NAMES if name in errors],
        "frontchannel_help": idp_advanced.frontchannel_help(preset),
        "section": "idps",
    }
    return form_page(request, "admin/idp_form.html", context, status_code=status_code)


def _build(
    preset: type[Preset], name: str, form: Mapping[str, str], values: Mapping[str, str]
) -> tuple[ProviderConfig | None, dict[str, str]]:
    """The IdP the form describes, or every problem by field. The advanced settings are overrides of
    `Preset.build`, as a settings-file entry's keys are: one validation for both."""
    overrides, errors = idp_advanced.overrides(form)
    try:
        built: Any = preset.build(name=name, title=form.get("title"), values=values, overrides=overrides)
    except PresetInputError as exc:
        errors = exc.errors | errors
        built = None
    return built, idp_advanced.reworded(errors)


@admin_only
async def new_form(request: Request, admin: SessionRecord) -> Response:
    preset = preset_named(request.path_params["preset"])
    if saml := admin_idp_saml.saml_preset(preset):
        values = admin_idp_saml.new_values(request, saml)
        return admin_idp_saml.form(request, saml, values=values, errors={}, editing=None)
    values = {f.name: f.default for f in preset.form_fields()} | {"title": preset.title}
    values |= idp_advanced.defaults(preset)
    return _form(request, preset, values=values, errors={}, editing=None)


@admin_form
async def create(request: Request, admin: SessionRecord, form: Mapping[str, str]) -> Response:
    preset = preset_named(request.path_params["preset"])
    if saml := admin_idp_saml.saml_preset(preset):
        return await admin_idp_saml.create(request, admin, saml, form)
    name = form.get("name", "").strip()
    existing = await web(request).services.providers.all()
    config, errors = _build(preset, name, form, form)
    if any(p.name == name for p in existing):
        errors.setdefault("name", f"An identity provider named {name} exists already")
    if errors or config is None:
        return _form(request, preset, values=form, errors=errors, editing=None, status_code=400)
    # A draft: customers see no change until a test sign-in passes (see `admin_idp_lifecycle`).
    order = max((p.order for p in existing), default=0) + 10
    changed = config.model_copy(update={"order": order, "draft": True})
    detail = f"added as a draft with preset {preset.name}"
    then = f"/admin/idps/{quote(config.name)}/setup?saved=1"
    return await save_idp(request, admin, changed, "admin.idp.create", detail=detail, then=then)


# --- editing -------------------------------------------------------------------------------------


def recover_values(preset: type[Preset], config: ProviderConfig) -> dict[str, str]:
    """The form values that would build ``config``, read back out of the preset's templates."""
    values = {"client_id": config.client_id, "scopes": " ".join(config.scopes)}
    pairs = [(preset.issuer, config.issuer), (preset.subject_claim, config.subject_claim)]
    pairs += [(getattr(preset, e), getattr(config, e)) for e in ENDPOINTS]
    pairs += [(t, config.extra_authorize_params.get(k)) for k, t in preset.extra_authorize_params.items()]
    for template, actual in pairs:
        for candidate in alternatives(template):
            pattern, seen = "", set()
            for literal, field, _, _ in string.Formatter().parse(candidate):
                pattern += re.escape(literal)
                if field is not None:
                    pattern += f"(?P={field})" if field in seen else f"(?P<{field}>.+?)"
                    seen.add(field)
            found = re.fullmatch(pattern, actual) if actual is not None else None
            if found:
                values.update({k: v for k, v in found.groupdict().items() if k not in values})
                break
    return values


def _saml_preset(config: ProviderConfig) -> type[SamlPreset] | None:
    """The SAML form's preset for a SAML IdP (the generic one when it was made without a SAML preset);
    None for OIDC and OAuth 2.0 IdPs, whose form would turn a SAML IdP into one of theirs."""
    if config.protocol != "saml":
        return None
    return admin_idp_saml.saml_preset(PRESETS.get(config.preset, GenericSaml)) or GenericSaml


@admin_only
async def edit_form(request: Request, admin: SessionRecord) -> Response:
    config = await route_idp(request)
    if saml := _saml_preset(config):
        values = admin_idp_saml.recover_values(config)
        return admin_idp_saml.form(request, saml, values=values, errors={}, editing=config)
    preset = preset_named(config.preset)
    values = recover_values(preset, config) | {"name": config.name, "title": config.title}
    values |= idp_advanced.values_of(config)
    return _form(request, preset, values=values, errors={}, editing=config)


@admin_form
async def update(request: Request, admin: SessionRecord, form: Mapping[str, str]) -> Response:
    current = await route_idp(request)
    if saml := _saml_preset(current):
        return await admin_idp_saml.update(request, admin, current, saml, form)
    preset = preset_named(current.preset)
    values = dict(form)
    if not values.get("client_secret", "").strip() and current.client_secret is not None:
        values["client_secret"] = current.client_secret.get_secret_value()  # empty: keep the stored one
    config, errors = _build(preset, current.name, form, values)
    if errors or config is None:
        shown = {**form, "name": current.name}
        return _form(request, preset, values=shown, errors=errors, editing=current, status_code=400)
    kept = [field for field in KEPT_ON_EDIT if field not in form]  # the advanced section sets its own
    changed = config.model_copy(update={field: getattr(current, field) for field in kept})
    then = f"/admin/idps/{quote(current.name)}/setup?saved=1"
    return await save_idp(request, admin, changed, "admin.idp.update", detail="changed", then=then)


# --- the list's buttons --------------------------------------------------------------------------


@admin_only
async def delete_page(request: Request, admin: SessionRecord) -> Response:
    return await _delete_page(request, await route_idp(request), status_code=200)


async def _delete_page(request: Request, config: ProviderConfig, *, status_code: int) -> Response:
    """What deleting `config` ends, and the button that confirms it (``confirm=delete``)."""
    sessions = await sessions_of_idp(web(request).services.sessions, config.name)
    context = {"idp": config, "sessions": sessions, "unconfirmed": status_code == 409}
    return form_page(request, "admin/idp_delete.html", context, status_code=status_code)


@admin_form
async def delete(request: Request, admin: SessionRecord, form: Mapping[str, str]) -> Response:
    name = request.path_params["name"]
    if form.get("confirm") != "delete":  # a POST from anywhere but the confirmation page shows that page
        return await _delete_page(request, await route_idp(request), status_code=409)
    ended = await web(request).services.delete_provider(name)
    await audit_change(
        request, admin, "admin.idp.delete", idp=name, detail=f"deleted; {sessions_ended(ended)}"
    )
    return see_other("/admin/")


@admin_form
async def move(request: Request, admin: SessionRecord, form: Mapping[str, str]) -> Response:
    providers = web(request).services.providers
    ordered = await providers.all()
    names = [p.name for p in ordered]
    name = request.path_params["name"]
    if name not in names:
        raise NotFound(f"no identity provider named {name!r}", user_message="Unknown identity provider.")
    direction = request.path_params["direction"]
    if direction not in ("up", "down"):
        raise NotFound(f"no direction {direction!r}", user_message="Unknown page.")
    at = names.index(name)
    other = at - 1 if direction == "up" else at + 1
    if 0 <= other < len(ordered):
        ordered[at], ordered[other] = ordered[other], ordered[at]
        # Renumber all: equal `order` values (the default) could not be swapped otherwise.
        for position, config in enumerate(ordered):
            if config.order != (position + 1) * 10:
                await providers.save(config.model_copy(update={"order": (position + 1) * 10}))
        await audit_change(request, admin, "admin.idp.reorder", idp=name, detail=f"moved {direction}")
    return see_other("/admin/")


routes = [
    Route("/admin/idps/new", choose_protocol, methods=["GET"]),
    Route("/admin/idps/new/preset", choose_preset, methods=["GET"]),
    Route("/admin/idps/new/{preset}", new_form, methods=["GET"]),
    Route("/admin/idps/new/{preset}", create, methods=["POST"]),
    *admin_idp_urls.routes,
    Route("/admin/idps/{name}/edit", edit_form, methods=["GET"]),
    Route("/admin/idps/{name}/edit", update, methods=["POST"]),
    *admin_idp_lifecycle.routes,
    Route("/admin/idps/{name}/delete", delete_page, methods=["GET"]),
    Route("/admin/idps/{name}/delete", delete, methods=["POST"]),
    Route("/admin/idps/{name}/move/{direction}", move, methods=["POST"]),
]
