"""Admin routes. Never open: until admin accounts exist, HTTP Basic with the credential from the settings."""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deskgate.identity.oidc.probe import probe
from deskgate.services import CALLBACK_PATH, FRONTCHANNEL_LOGOUT_PATH, POST_LOGOUT_PATH
from deskgate.web.auth import begin_login
from deskgate.web.context import web
from deskgate.web.security import NO_STORE

CHALLENGE = {"WWW-Authenticate": 'Basic realm="Deskgate admin", charset="UTF-8"', **NO_STORE}


def _authorized(request: Request) -> bool:
    settings = web(request).services.settings
    if settings.admin_password is None:
        return False
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    # Compare both parts, always, in constant time.
    ok_user = hmac.compare_digest(user.encode(), settings.admin_user.encode())
    ok_password = hmac.compare_digest(password.encode(), settings.admin_password.get_secret_value().encode())
    return ok_user and ok_password


def _refuse(request: Request) -> Response:
    ctx = web(request)
    if ctx.services.settings.admin_password is None:
        message = "The admin pages are closed: set DESKGATE_ADMIN_PASSWORD to open them."
        return ctx.render(request, "error.html", {"message": message, "error_id": "-"}, status_code=403)
    return Response("Admin sign-in required.", status_code=401, headers=CHALLENGE)


async def index(request: Request) -> Response:
    if not _authorized(request):
        return _refuse(request)
    ctx = web(request)
    providers = await ctx.services.providers.all()
    latest = {p.name: await ctx.services.connection_tests.latest(p.name) for p in providers}
    settings = ctx.services.settings
    urls = {
        "callback": settings.url(CALLBACK_PATH),
        "frontchannel": settings.url(FRONTCHANNEL_LOGOUT_PATH),
        "post_logout": settings.url(POST_LOGOUT_PATH),
    }
    return ctx.render(
        request,
        "admin/index.html",
        {"providers": providers, "latest": latest, "urls": urls},
        headers=NO_STORE,
    )


async def test_page(request: Request) -> Response:
    if not _authorized(request):
        return _refuse(request)
    ctx = web(request)
    config = await ctx.services.providers.get(request.path_params["name"])
    checks = await probe(await ctx.services.relying_party(config.name))
    latest = await ctx.services.connection_tests.latest(config.name)
    return ctx.render(
        request, "admin/test.html", {"idp": config, "checks": checks, "latest": latest}, headers=NO_STORE
    )


async def test_start(request: Request) -> Response:
    if not _authorized(request):
        return _refuse(request)
    name = request.path_params["name"]
    await web(request).services.providers.get(name)
    # prompt=login: the admin signs in afresh, so the test shows what a new customer would send.
    return await begin_login(request, name, purpose="test", next_url="/admin/", prompt="login")


async def test_result(request: Request) -> Response:
    if not _authorized(request):
        return _refuse(request)
    ctx = web(request)
    name = request.path_params["name"]
    config = await ctx.services.providers.get(name)
    result = await ctx.services.connection_tests.load(name, request.path_params["test_id"])
    return ctx.render(request, "admin/test_result.html", {"idp": config, "result": result}, headers=NO_STORE)


routes = [
    Route("/admin/", index),
    Route("/admin/idps/{name}/test", test_page),
    Route("/admin/idps/{name}/test/start", test_start),
    Route("/admin/idps/{name}/test/result/{test_id}", test_result),
]
