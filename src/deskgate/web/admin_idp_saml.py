"""The IdP wizard and edit form for SAML 2.0 IdPs; `admin_idps` and `admin_idp_urls` hand over here when
the preset is a SAML one.

Deskgate is one SP entity per IdP (its URLs carry the IdP's name), so the "register Deskgate" page
asks for the name first and shows the SP entity id, ACS, SLO and SP metadata URLs for it. The form then
takes the IdP's details from one of three sources: its metadata URL (read here, before the preset
builds the provider, so building stays free of I/O), metadata XML pasted or uploaded, or the entity id,
SSO URL and certificates typed by hand. Saved as a draft, like every IdP the wizard adds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from deskgate.identity.presets import Preset, PresetInputError
from deskgate.identity.presets.inputs import clean_url
from deskgate.identity.presets.saml import SOURCES, SamlPreset, sp_urls
from deskgate.identity.provider import NAME_PATTERN, ProviderConfig
from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.metadata_source import fetch
from deskgate.identity.saml.settings import SamlIdpSettings
from deskgate.identity.saml.xml import MAX_BYTES
from deskgate.sessions.store import SessionRecord
from deskgate.web.console import form_page, save_idp
from deskgate.web.context import web

# What the SAML form sets itself; every other field of the stored settings (set in the settings file or
# by the CLI: which parts must be signed, single logout…) is kept by an edit through the form.
FORM_SETTINGS = frozenset(
    {
        "entity_id",
        "sso_url",
        "signing_certificates",
        "name_id_format",
        "subject_attribute",
        "metadata_url",
        "metadata_pin",
        "metadata_checked_at",
        "metadata_error",
    }
)
KEPT_ON_EDIT = ("enabled", "draft", "order", "mapping", "filters", "admin_access", "clock_skew_seconds")


def saml_preset(preset: type[Preset]) -> type[SamlPreset] | None:
    return preset if issubclass(preset, SamlPreset) else None


def wanted_name(request: Request, preset: type[SamlPreset]) -> str:
    """The name asked for in the query, or one suggested from the preset (okta-saml → okta)."""
    name = request.query_params.get("name", "").strip()
    return name if NAME_PATTERN.fullmatch(name) else preset.name.removesuffix("-saml")


def urls_page(
    request: Request,
    preset: type[SamlPreset] | None,
    *,
    name: str,
    idp: ProviderConfig | None,
    steps: list[str],
    saved: bool = False,
) -> Response:
    urls = sp_urls(web(request).services.settings.base_url, name)
    next_url = f"/admin/idps/new/{quote(preset.name, safe='')}?{urlencode({'name': name})}" if preset else ""
    context = {
        "preset": preset,
        "name": name,
        "idp": idp,
        "urls": urls,
        "steps": steps,
        "saved": saved,
        "next_url": next_url,
        "section": "idps",
    }
    return form_page(request, "admin/idp_saml_summary.html", context)


def form(
    request: Request,
    preset: type[SamlPreset],
    *,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    editing: ProviderConfig | None,
    status_code: int = 200,
) -> Response:
    context = {
        "preset": preset,
        "fields": preset.fields,
        "values": values,
        "errors": errors,
        "editing": editing,
        "sources": SOURCES,
        "saml": editing.saml if editing else None,
        "template": preset.metadata_url
        if isinstance(preset.metadata_url, str)
        else (preset.metadata_url or ("",))[0],
        "section": "idps",
    }
    return form_page(request, "admin/idp_saml_form.html", context, status_code=status_code)


def new_values(request: Request, preset: type[SamlPreset]) -> dict[str, str]:
    defaults = {f.name: f.default for f in preset.form_fields()}
    return defaults | {"title": preset.title, "name": wanted_name(request, preset)}


def recover_values(config: ProviderConfig) -> dict[str, str]:
    """The form's values for a stored IdP: its URL as typed (the preset's inputs are not needed again)."""
    saml = config.saml
    assert saml is not None
    return {
        "name": config.name,
        "title": config.title,
        "source": "url" if saml.metadata_url else "manual",
        "metadata_url": saml.metadata_url or "",
        "metadata_pin": saml.metadata_pin or "",
        "entity_id": saml.entity_id,
        "sso_url": saml.sso_url,
        "signing_certificates": "".join(saml.signing_certificates),
        "name_id_format": saml.name_id_format or "",
        "subject_attribute": saml.subject_attribute or "",
    }


async def _with_document(
    request: Request, preset: type[SamlPreset], posted: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The form's values with the metadata document in `metadata_xml`: the uploaded file, or the one
    read from the metadata URL when that is the source. Problems reading either, by field."""
    values, errors = dict(posted), {}
    form = await request.form()  # parsed already (the CSRF check): its upload, if any, waits spooled
    try:
        upload = form.get("metadata_file")
        data = (
            await upload.read(MAX_BYTES + 1) if isinstance(upload, UploadFile) and upload.filename else None
        )
    finally:
        await form.close()
    if data is not None:
        try:
            values["metadata_xml"] = data.decode("utf-8")
        except UnicodeDecodeError:
            errors["metadata_xml"] = "The uploaded file is not UTF-8 text (SAML metadata is XML)"
        if len(data) > MAX_BYTES:
            errors["metadata_xml"] = f"The uploaded file is larger than {MAX_BYTES} bytes"
    if values.get("source", "url") != "url":
        return values, errors
    url = preset.metadata_url_for(values)
    if not url:
        return values, errors  # the preset reports the missing URL with the other problems
    try:
        values["metadata_url"] = clean_url(url)
        values["metadata_xml"] = (await fetch(web(request).services.http, values["metadata_url"])).decode()
    except ValueError as exc:
        errors["metadata_url"] = f"Metadata URL {exc}"
    except SamlRejected as exc:
        errors["metadata_url"] = exc.detail
    except UnicodeDecodeError:
        errors["metadata_url"] = "The metadata URL answered with something other than UTF-8 text"
    return values, errors


async def build(
    request: Request, preset: type[SamlPreset], name: str, posted: Mapping[str, str]
) -> tuple[ProviderConfig | None, dict[str, str]]:
    values, errors = await _with_document(request, preset, posted)
    if errors:
        return None, errors
    try:
        return preset.build(name=name, title=posted.get("title"), values=values), {}
    except PresetInputError as exc:
        return None, exc.errors


def _shown(posted: Mapping[str, str]) -> dict[str, str]:
    """What goes back into the form after a refusal: as typed (a fetched document is not shown)."""
    return {key: value for key, value in posted.items() if key != "csrf_token"}


async def create(
    request: Request, admin: SessionRecord, preset: type[SamlPreset], posted: Mapping[str, str]
) -> Response:
    name = posted.get("name", "").strip()
    existing = await web(request).services.providers.all()
    config, errors = await build(request, preset, name, posted)
    if any(p.name == name for p in existing):
        errors.setdefault("name", f"An identity provider named {name} exists already")
    if errors or config is None:
        return form(request, preset, values=_shown(posted), errors=errors, editing=None, status_code=400)
    order = max((p.order for p in existing), default=0) + 10
    changed = config.model_copy(update={"order": order, "draft": True})
    detail = f"added as a draft with preset {preset.name}"
    then = f"/admin/idps/{quote(config.name)}/setup?saved=1"
    return await save_idp(request, admin, changed, "admin.idp.create", detail=detail, then=then)


def _kept_settings(current: SamlIdpSettings, fresh: SamlIdpSettings) -> SamlIdpSettings:
    """`fresh` with what the form does not set taken from `current` where the form left the default."""
    fields = SamlIdpSettings.model_fields
    kept: dict[str, Any] = {
        key: getattr(current, key)
        for key, field in fields.items()
        if key not in FORM_SETTINGS and getattr(fresh, key) == field.default
    }
    return fresh.model_copy(update=kept)


async def update(
    request: Request,
    admin: SessionRecord,
    current: ProviderConfig,
    preset: type[SamlPreset],
    posted: Mapping[str, str],
) -> Response:
    config, errors = await build(request, preset, current.name, posted)
    if errors or config is None:
        shown = _shown(posted) | {"name": current.name}
        return form(request, preset, values=shown, errors=errors, editing=current, status_code=400)
    assert config.saml is not None and current.saml is not None
    update_: dict[str, Any] = {field: getattr(current, field) for field in KEPT_ON_EDIT}
    update_["saml"] = _kept_settings(current.saml, config.saml)
    changed = config.model_copy(update=update_)
    then = f"/admin/idps/{quote(current.name)}/setup?saved=1"
    return await save_idp(request, admin, changed, "admin.idp.update", detail="changed", then=then)
