"""The wizard's "register Deskgate at your IdP" page: the URLs to paste into the IdP's console, each with a
copy button, and the preset's steps there with those URLs filled in.

An IdP admin registers the client first and only then has the client id and secret to type in, so the
wizard shows this page before the form (`/admin/idps/new/{preset}/urls`); once saved, the IdP keeps it
at `/admin/idps/{name}/setup`, linked from the IdP list, for whoever registers it again later.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deskgate.errors import NotFound
from deskgate.identity.presets import PRESETS, Preset
from deskgate.identity.presets.saml import sp_urls
from deskgate.services import (
    BACKCHANNEL_LOGOUT_PATH,
    CALLBACK_PATH,
    FRONTCHANNEL_LOGOUT_PATH,
    POST_LOGOUT_PATH,
)
from deskgate.sessions.store import SessionRecord
from deskgate.settings import Settings
from deskgate.web import admin_idp_saml
from deskgate.web.console import admin_only, form_page, route_idp
from deskgate.web.context import web


def preset_named(name: str) -> type[Preset]:
    if name not in PRESETS:
        raise NotFound(f"no preset named {name!r}", user_message="Unknown preset.")
    return PRESETS[name]


def deskgate_urls(settings: Settings) -> dict[str, str]:
    """Deskgate's own URLs, under the names the presets' help uses for them."""
    return {
        "callback_url": settings.url(CALLBACK_PATH),
        "frontchannel_logout_url": settings.url(FRONTCHANNEL_LOGOUT_PATH),
        "backchannel_logout_url": settings.url(BACKCHANNEL_LOGOUT_PATH),
        "post_logout_redirect_uri": settings.url(POST_LOGOUT_PATH),
    }


def _steps(text: str) -> list[str]:
    """The help's "1. ..." paragraphs as list items (continuation lines joined to their step)."""
    steps: list[str] = []
    for line in text.splitlines():
        numbered = re.match(r"\s*\d+\.\s+(.*)", line)
        if numbered or not steps:
            steps.append(numbered.group(1) if numbered else line.strip())
        elif line.strip():
            steps[-1] += " " + line.strip()
    return [step for step in steps if step]


def _page(request: Request, preset: type[Preset] | None, context: dict[str, object]) -> Response:
    urls = deskgate_urls(web(request).services.settings)
    steps = _steps(preset.render_help(**urls)) if preset else []
    page = {"urls": urls, "steps": steps, "preset": preset, "section": "idps", **context}
    return form_page(request, "admin/idp_summary.html", page)


@admin_only
async def before_form(request: Request, admin: SessionRecord) -> Response:
    """Step 3 of 4: register Deskgate at the IdP, which issues the client id and secret for step 4."""
    preset = preset_named(request.path_params["preset"])
    if saml := admin_idp_saml.saml_preset(preset):
        name = admin_idp_saml.wanted_name(request, saml)
        urls = sp_urls(web(request).services.settings.base_url, name)
        return admin_idp_saml.urls_page(
            request, saml, name=name, idp=None, steps=_steps(saml.render_help(**urls))
        )
    next_url = f"/admin/idps/new/{quote(preset.name, safe='')}"
    return _page(request, preset, {"idp": None, "next_url": next_url})


@admin_only
async def of_idp(request: Request, admin: SessionRecord) -> Response:
    """A saved IdP's registration page (after the form, with what to do next)."""
    config = await route_idp(request)
    if config.protocol == "saml":
        preset = PRESETS.get(config.preset)
        saml = admin_idp_saml.saml_preset(preset) if preset else None
        urls = sp_urls(web(request).services.settings.base_url, config.name)
        steps = _steps(saml.render_help(**urls)) if saml else []
        saved = request.query_params.get("saved") == "1"
        return admin_idp_saml.urls_page(request, saml, name=config.name, idp=config, steps=steps, saved=saved)
    context = {"idp": config, "saved": request.query_params.get("saved") == "1"}
    return _page(request, PRESETS.get(config.preset), context)


routes = [
    Route("/admin/idps/new/{preset}/urls", before_form, methods=["GET"]),
    Route("/admin/idps/{name}/setup", of_idp, methods=["GET"]),
]
