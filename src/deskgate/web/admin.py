"""Admin console routes: each one opens only with an admin session (see `admin_auth`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deskgate.identity.oidc.probe import probe
from deskgate.services import CALLBACK_PATH, FRONTCHANNEL_LOGOUT_PATH, POST_LOGOUT_PATH
from deskgate.sessions.store import SessionRecord
from deskgate.web.admin_auth import admin_only, form_page
from deskgate.web.auth import begin_login
from deskgate.web.context import web


@admin_only
async def index(request: Request, admin: SessionRecord) -> Response:
    ctx = web(request)
    providers = await ctx.services.providers.all()
    latest = {p.name: await ctx.services.connection_tests.latest(p.name) for p in providers}
    since = datetime.now(UTC) - timedelta(hours=24)
    logins = await ctx.services.audit.count_by_idp(event="login", outcome="success", since=since)
    settings = ctx.services.settings
    urls = {
        "callback": settings.url(CALLBACK_PATH),
        "frontchannel": settings.url(FRONTCHANNEL_LOGOUT_PATH),
        "post_logout": settings.url(POST_LOGOUT_PATH),
    }
    context = {"providers": providers, "latest": latest, "logins": logins, "urls": urls, "section": "idps"}
    return form_page(request, "admin/index.html", context)


@admin_only
async def test_page(request: Request, admin: SessionRecord) -> Response:
    ctx = web(request)
    config = await ctx.services.providers.get(request.path_params["name"])
    checks = await probe(await ctx.services.relying_party(config.name))
    latest = await ctx.services.connection_tests.latest(config.name)
    context = {"idp": config, "checks": checks, "latest": latest, "section": "idps"}
    return form_page(request, "admin/test.html", context)


@admin_only
async def test_start(request: Request, admin: SessionRecord) -> Response:
    name = request.path_params["name"]
    await web(request).services.providers.get(name)
    # prompt=login: the admin signs in afresh, so the test shows what a new customer would send.
    return await begin_login(request, name, purpose="test", next_url="/admin/", prompt="login")


@admin_only
async def test_result(request: Request, admin: SessionRecord) -> Response:
    ctx = web(request)
    name = request.path_params["name"]
    config = await ctx.services.providers.get(name)
    result = await ctx.services.connection_tests.load(name, request.path_params["test_id"])
    return form_page(request, "admin/test_result.html", {"idp": config, "result": result, "section": "idps"})


routes = [
    Route("/admin/", index),
    Route("/admin/idps/{name}/test", test_page),
    Route("/admin/idps/{name}/test/start", test_start),
    Route("/admin/idps/{name}/test/result/{test_id}", test_result),
]
