"""The web side of test connection: finish the admin's test login by storing and showing its result."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from deskgate.audit import AuditEvent
from deskgate.errors import DeskgateError
from deskgate.identity.oidc.client import LoginResult
from deskgate.identity.provider import ProviderConfig
from deskgate.login.connection_test import failure_result, success_result
from deskgate.web.console import continue_page
from deskgate.web.context import web
from deskgate.web.errors import error_id_of
from deskgate.web.security import delete_cookie

# Not a redirect: the IdP's site began this navigation, and the admin cookie is SameSite=Strict.
SHOWING = "The test sign-in is over. Opening its result…"


def _result_url(idp: str, test_id: str) -> str:
    return f"/admin/idps/{quote(idp, safe='')}/test/result/{quote(test_id, safe='')}"


async def finish(request: Request, config: ProviderConfig, result: LoginResult) -> Response:
    ctx = web(request)
    data = success_result(config, result)
    test_id = await ctx.services.connection_tests.save(config.name, data)
    await ctx.services.audit.record(
        AuditEvent(
            event="login.test",
            outcome="success",
            idp=config.name,
            subject=result.claims.subject,
            email=data["mapped"]["email"],
            client_ip=ctx.client_ip(request),
        )
    )
    response = continue_page(request, _result_url(config.name, test_id), SHOWING)
    delete_cookie(response, ctx.cookies.login, https=ctx.https)
    return response


async def failed(request: Request, idp: str, exc: DeskgateError) -> Response:
    ctx = web(request)
    test_id = await ctx.services.connection_tests.save(idp, failure_result(exc, error_id_of(exc)))
    return continue_page(request, _result_url(idp, test_id), SHOWING)
