"""`GET /healthz` (liveness) and `GET /readyz` (readiness), for load balancers and orchestrators.

Liveness asks nothing outside the process: a database outage must take an instance out of the rotation,
not get it restarted, which would not bring the database back. Readiness runs `deskgate.health`'s checks
and names only which one failed. Probes come every few seconds without a browser, so neither route needs
a session, a cookie or a CSRF token, and neither is audited.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from deskgate.health import Readiness
from deskgate.web.context import web
from deskgate.web.drain import draining
from deskgate.web.security import NO_STORE


async def liveness(_request: Request) -> Response:
    return PlainTextResponse("ok", headers=NO_STORE)


async def readiness(request: Request) -> Response:
    if draining():  # stopping: leave the rotation before the listener closes (`web.drain`)
        return PlainTextResponse("not ready: draining", status_code=503, headers=NO_STORE)
    failed = await Readiness(web(request).services).failed_checks()
    if failed:
        return PlainTextResponse(f"not ready: {', '.join(failed)}", status_code=503, headers=NO_STORE)
    return PlainTextResponse("ready", headers=NO_STORE)


routes = [Route("/healthz", liveness), Route("/readyz", readiness)]  # GET, and HEAD with it
